/**
 * Serving a request on a route: straight from the gateway to a backend through its engine adapter
 * (no router, no worker: the backend is a provider or an engine the gateway reaches itself). The
 * first backend is chosen by weight and the rest are fallbacks in order; each gets `attempts` tries
 * with backoff for the failures the route retries on, as long as nothing has reached the client.
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, type ErrorInfo, LlmuxError } from '../../errors.js';
import type { Delta, EngineAdapter, Usage } from '../../engine-adapters/adapter.js';
import { engineFailureDetail, isEngineRequestFailure } from '../../engine-adapters/engine-errors.js';
import { createEngineAdapter } from '../../engine-adapters/registry.js';
import type { Logger } from '../../observability/logger.js';
import { createChatPromptRenderer, guessTokenizer } from '../../tokenize/index.js';
import type { RoutePlan } from '../../control/route-table.js';
import type { Backend, retryOnValues } from '../../control/route.schema.js';
import { sendError, sendJson, sseErrorEvent } from './http-io.js';
import { embedWith } from '../../engine-adapters/capabilities.js';
import { operations } from '../../operations/index.js';
import type { RenderContext } from '../../operations/operation.js';
import { packVectors } from '../../protocol/vectors.js';
import type { SessionEnd } from './request-session.js';
import type { ValidatedRequest } from './request-schema.js';

/** Adapters by backend, rebuilt when a backend's definition changes. */
export class BackendAdapters {
  readonly #cache = new Map<string, { key: string; adapter: EngineAdapter }>();

  get(backend: Backend): EngineAdapter {
    const key = JSON.stringify(backend);
    const cached = this.#cache.get(backend.name);
    if (cached?.key === key) return cached.adapter;
    void cached?.adapter.close();
    const adapter = createEngineAdapter(backend.engine, {
      baseUrl: backend.url, chatPrompt: createChatPromptRenderer(guessTokenizer(backend.model ?? backend.name)),
      ...(backend.apiKey ? { apiKey: backend.apiKey } : {}), ...(backend.options ? { settings: backend.options } : {}),
    });
    this.#cache.set(backend.name, { key, adapter });
    return adapter;
  }

  async close(): Promise<void> {
    for (const { adapter } of this.#cache.values()) await adapter.close();
    this.#cache.clear();
  }
}

type RetryOn = (typeof retryOnValues)[number];

/** Which of a route's retry classes a failure falls in, if any (4xx other than 429 never retries). */
export function retryClass(error: LlmuxError): RetryOn | undefined {
  if (error.upstreamStatus === 429) return '429';
  if (error.upstreamStatus !== undefined) return error.upstreamStatus >= 500 ? '5xx' : undefined;
  if (error.code === ErrorCode.timeout) return '5xx';
  if (isEngineRequestFailure(error)) return 'connect-failure';
  return error.code === ErrorCode.upstreamError ? '5xx' : undefined;
}

/** The log's account of a failure: the engine's own words, with the backend's key cut out should it echo it. */
function failureDetail(error: LlmuxError, backend: Backend): string | undefined {
  const detail = engineFailureDetail(error);
  return backend.apiKey && detail ? detail.replaceAll(backend.apiKey, '(the backend key)') : detail;
}

export interface RouteRequest {
  plan: RoutePlan;
  request: ValidatedRequest;
  requestId: string;
  clientModel: string;
  promptTokens: number;
  res: ServerResponse;
  headers: Record<string, string>;
  debug: boolean;
  log: Logger;
  adapters: BackendAdapters;
  onEnd: (end: SessionEnd) => void;
  /** Called with the whole answer once it is complete, streamed or not (Responses keeps it). */
  onAnswer?: (answer: Record<string, unknown>) => void;
}

export async function serveRoute(r: RouteRequest): Promise<void> {
  const { plan, request, res } = r;
  const op = operations[request.operation];
  const render: RenderContext = { id: `${op.idPrefix}-${r.requestId}`, created: Math.floor(Date.now() / 1000), clientModel: r.clientModel, promptTokens: r.promptTokens };
  const streamRender = request.stream ? (op.openStream?.(request) ?? op.stream) : undefined;
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  let headersSent = false;
  let deltas = 0;
  let lastError: ErrorInfo = { code: ErrorCode.noActiveBackend, retryable: true, message: `route '${plan.route.name}' has no backend defined` };
  const tried: string[] = [];

  for (const backend of plan.backends) {
    for (let attempt = 1; attempt <= plan.route.retry.attempts; attempt++) {
      if (controller.signal.aborted) break;
      tried.push(backend.name);
      const headers = { ...r.headers, ...(r.debug ? { 'x-llmux-backend': backend.name, 'x-llmux-route': plan.route.name } : {}) };
      const acc = op.answer(request);
      let usage: Usage | undefined;
      let finishReason: string | undefined;
      try {
        const work = op.work;
        if (work.kind === 'embed') {
          const { input, dimensions } = request.body;
          const result = await embedWith(r.adapters.get(backend), {
            model: backend.model ?? r.clientModel, input: input as string[], body: request.body, requestId: r.requestId,
            ...(typeof dimensions === 'number' ? { dimensions } : {}),
          }, controller.signal);
          for (const block of packVectors(result.vectors, Infinity)) acc.add({ type: 'vectors', ...block });
          const total = { promptTokens: result.usage?.promptTokens ?? r.promptTokens, completionTokens: 0 };
          sendJson(res, 200, acc.render(render, total), headers);
          r.onEnd({ outcome: 'ok', status: 200, workerId: backend.name, ...total });
          return;
        }
        const stream = r.adapters.get(backend).stream({
          operation: work.operation, stream: request.stream, model: backend.model ?? r.clientModel, body: request.body, requestId: r.requestId,
        }, controller.signal);
        for await (const events of stream) {
          const batch: Delta[] = [];
          for (const e of events) {
            if (e.type === 'delta') {
              batch.push(e.delta);
              deltas++;
              if (e.delta.finishReason) finishReason = e.delta.finishReason;
            } else {
              usage = { ...usage, ...e.usage };
            }
          }
          if (batch.length === 0) continue;
          if (request.stream) {
            if (!headersSent) {
              res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
              headersSent = true;
            }
            res.write(streamRender?.chunkEvents(render, batch) ?? '');
            if (r.onAnswer) acc.add({ type: 'deltas', deltas: batch });
          } else {
            acc.add({ type: 'deltas', deltas: batch });
          }
        }
        const total = { promptTokens: usage?.promptTokens ?? r.promptTokens, completionTokens: usage?.completionTokens ?? deltas,
          ...(usage?.cachedTokens !== undefined ? { cachedTokens: usage.cachedTokens } : {}) };
        if (request.stream) {
          if (!headersSent) res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
          if (streamRender?.endEvents) {
            res.end(streamRender.endEvents(render, total));
          } else {
            if (request.includeUsage && streamRender) res.write(streamRender.usageEvent(render, total));
            res.end('data: [DONE]\n\n');
          }
        } else {
          sendJson(res, 200, acc.render(render, total), headers);
        }
        r.onAnswer?.(acc.render(render, total));
        r.onEnd({ outcome: 'ok', status: 200, workerId: backend.name, ...total, ...(finishReason ? { finishReason } : {}) });
        return;
      } catch (error) {
        if (controller.signal.aborted) {
          r.onEnd({ outcome: 'cancelled', status: 499, workerId: backend.name, promptTokens: r.promptTokens, completionTokens: deltas });
          return;
        }
        // The client reads llmux's words only; what the engine said goes to the log (engine-errors.ts).
        const failure = error instanceof LlmuxError ? error
          : new LlmuxError({ code: ErrorCode.internalError, retryable: true, message: `the gateway failed serving backend '${backend.name}'` }, { cause: error });
        lastError = failure.toInfo();
        const kind = retryClass(failure);
        const again = !headersSent && kind !== undefined && plan.route.retry.retryOn.includes(kind);
        r.log.warn({ requestId: r.requestId, route: plan.route.name, backend: backend.name, attempt, code: lastError.code, err: lastError.message,
          detail: failureDetail(failure, backend), retry: again }, 'backend failed');
        if (!again) return fail(r, lastError, headersSent, tried, backend.name, deltas, streamRender?.failEvents?.(render, lastError));
        if (attempt < plan.route.retry.attempts) await sleep(plan.route.retry.backoffMs * 2 ** (attempt - 1));
        else break; // the next backend: a fallback
      }
    }
  }
  fail(r, lastError, headersSent, tried, tried.at(-1), deltas, streamRender?.failEvents?.(render, lastError));
}

function fail(r: RouteRequest, error: ErrorInfo, headersSent: boolean, tried: string[], backend: string | undefined, deltas: number,
  streamFailure: string | undefined): void {
  let status = 200;
  if (headersSent) {
    r.res.end(streamFailure ?? sseErrorEvent(error));
  } else {
    // The request's own fault (a bad parameter, an engine that cannot do it) is the client's to hear as is.
    const upstream = error.code === ErrorCode.invalidRequest || error.code === ErrorCode.unsupported ? error
      : { ...error, code: ErrorCode.upstreamError, message: `route '${r.plan.route.name}': ${tried.length} attempt(s) on ${[...new Set(tried)].join(', ')} failed; last${backend ? `, on backend '${backend}'` : ''}: ${error.message}` };
    status = sendError(r.res, upstream, r.headers, operations[r.request.operation].errorBody);
  }
  r.onEnd({ outcome: 'failed', status, ...(backend ? { workerId: backend } : {}), promptTokens: deltas > 0 ? r.promptTokens : 0, completionTokens: deltas, errorCode: error.code });
}
