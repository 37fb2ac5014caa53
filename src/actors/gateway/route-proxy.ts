/**
 * The route source of the inference pipeline (inference-pipeline.ts): a request served straight
 * from the gateway by a backend through its engine adapter (no router, no worker: the backend is a
 * provider or an engine the gateway reaches itself). The first backend is chosen by weight and the
 * rest are fallbacks in order; each gets `attempts` tries with backoff for the failures the route
 * retries on, as long as nothing has reached the client. The request's deadline and an idle bound
 * hold as they do for a function's workers; usage is reconciled the same way (the backend's count
 * wins, llmux's own count stands in).
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, type ErrorInfo, LlmuxError } from '../../errors.js';
import type { Delta, EngineAdapter, Usage } from '../../engine-adapters/adapter.js';
import { engineFailureDetail, isEngineRequestFailure } from '../../engine-adapters/engine-errors.js';
import { createEngineAdapter } from '../../engine-adapters/registry.js';
import { createChatPromptRenderer, guessTokenizer, type TokenCounter } from '../../tokenize/index.js';
import type { RoutePlan } from '../../control/route-table.js';
import type { Backend, retryOnValues } from '../../control/route.schema.js';
import { sendError, sendJson, sseErrorEvent } from './http-io.js';
import { embedWith } from '../../engine-adapters/capabilities.js';
import { operations } from '../../operations/index.js';
import type { RenderContext } from '../../operations/operation.js';
import { packVectors } from '../../protocol/vectors.js';
import { OutputText } from '../worker/output-text.js';
import type { Admitted } from './inference-pipeline.js';
import type { SessionEnd } from './session-accounting.js';
import { reconcileUsage } from './usage-reconcile.js';
import { traceEngineCall } from '../../observability/spans.js';
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
  res: ServerResponse;
  debug: boolean;
  adapters: BackendAdapters;
  /** What the pipeline settled before the source (inference-pipeline.ts): the count, headers, deadline, log, metrics, end. */
  admitted: Admitted;
  /** Completion tokens are counted with this when the backend reports none. */
  tokens: TokenCounter;
  tokenizer: string;
  /** Longest the backend may send nothing mid-answer. */
  idleTimeoutMs: number;
  /** Called with the whole answer once it is complete, streamed or not (Responses keeps it). */
  onAnswer?: (answer: Record<string, unknown>) => void;
}

/** Why a route request stopped early: the client left, or a bound ran out. */
type Stop = 'client' | 'deadline' | 'idle';

/**
 * The request's bounds: the client's disconnect, its deadline, and the backend's silence, as one
 * abort signal that says which one fired.
 */
function requestBounds(res: ServerResponse, deadline: number, idleTimeoutMs: number): { signal: AbortSignal; stopped: () => Stop | undefined; heard: () => void; done: () => void } {
  const controller = new AbortController();
  let stop: Stop | undefined;
  const abort = (why: Stop): void => {
    if (stop) return;
    stop = why;
    controller.abort();
  };
  res.on('close', () => {
    if (!res.writableFinished) abort('client');
  });
  const deadlineTimer = setTimeout(() => abort('deadline'), Math.max(0, deadline - Date.now()));
  const idleTimer = setTimeout(() => abort('idle'), idleTimeoutMs);
  return {
    signal: controller.signal,
    stopped: () => stop,
    heard: () => void idleTimer.refresh(),
    done: () => {
      clearTimeout(deadlineTimer);
      clearTimeout(idleTimer);
    },
  };
}

const timeoutError = (stop: 'deadline' | 'idle', idleTimeoutMs: number, backend: string): ErrorInfo => ({
  code: ErrorCode.timeout, retryable: true,
  message: stop === 'deadline' ? 'the request passed its deadline' : `backend '${backend}' sent nothing for ${Math.round(idleTimeoutMs / 1000)} s`,
});

export async function serveRoute(r: RouteRequest): Promise<void> {
  const bounds = requestBounds(r.res, r.admitted.deadline, r.idleTimeoutMs);
  try {
    await attemptBackends(r, bounds);
  } finally {
    bounds.done();
  }
}

async function attemptBackends(r: RouteRequest, bounds: ReturnType<typeof requestBounds>): Promise<void> {
  const { plan, request, res, admitted } = r;
  const { accounting, log } = admitted;
  const promptTokens = admitted.prompt.total;
  const op = operations[request.operation];
  const render: RenderContext = { id: `${op.idPrefix}-${r.requestId}`, created: Math.floor(Date.now() / 1000), clientModel: r.clientModel, promptTokens };
  const streamRender = request.stream ? (op.openStream?.(request) ?? op.stream) : undefined;
  const { signal } = bounds;
  let headersSent = false;
  let output = new OutputText();
  let lastError: ErrorInfo = { code: ErrorCode.noActiveBackend, retryable: true, message: `route '${plan.route.name}' has no backend defined` };
  const tried: string[] = [];
  const end = (e: SessionEnd): void => admitted.onEnd(e);

  for (const backend of plan.backends) {
    for (let attempt = 1; attempt <= plan.route.retry.attempts; attempt++) {
      if (signal.aborted) break;
      tried.push(backend.name);
      const headers = { ...admitted.responseHeaders, ...(r.debug ? { 'x-llmux-backend': backend.name, 'x-llmux-route': plan.route.name } : {}) };
      const acc = op.answer(request);
      output = new OutputText();
      let usage: Usage | undefined;
      let finishReason: string | undefined;
      const call = traceEngineCall(admitted.traceparent, { operation: request.operation, model: backend.model ?? r.clientModel, engineKind: backend.engine,
        route: plan.route.name, backend: backend.name, attempt: tried.length });
      try {
        const work = op.work;
        if (work.kind === 'embed') {
          const { input, dimensions } = request.body;
          const result = await embedWith(r.adapters.get(backend), {
            model: backend.model ?? r.clientModel, input: input as string[], body: request.body, requestId: r.requestId, traceparent: call.traceparent,
            ...(typeof dimensions === 'number' ? { dimensions } : {}),
          }, signal);
          call.end('ok', result.usage);
          for (const block of packVectors(result.vectors, Infinity)) acc.add({ type: 'vectors', ...block });
          const reconciled = reconcileUsage(result.usage, { promptTokens, completionTokens: 0 });
          sendJson(res, 200, acc.render(render, reconciled.usage), headers);
          accounting.completed(reconciled);
          end({ outcome: 'ok', status: 200, workerId: backend.name, ...reconciled.usage });
          return;
        }
        const stream = r.adapters.get(backend).stream({
          operation: work.operation, stream: request.stream, model: backend.model ?? r.clientModel, body: request.body, requestId: r.requestId,
          traceparent: call.traceparent,
        }, signal);
        for await (const events of stream) {
          bounds.heard();
          const batch: Delta[] = [];
          for (const e of events) {
            if (e.type === 'delta') {
              batch.push(e.delta);
              output.add(e.delta);
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
              accounting.firstByte();
            }
            res.write(streamRender?.chunkEvents(render, batch) ?? '');
            if (r.onAnswer) acc.add({ type: 'deltas', deltas: batch });
          } else {
            acc.add({ type: 'deltas', deltas: batch });
          }
        }
        call.end('ok', usage, finishReason);
        const reconciled = reconcileUsage(usage, { promptTokens, completionTokens: await countOutput(r, output) });
        const total = reconciled.usage;
        if (request.stream) {
          accounting.firstByte();
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
        accounting.completed(reconciled);
        end({ outcome: 'ok', status: 200, workerId: backend.name, ...total, ...(finishReason ? { finishReason } : {}) });
        return;
      } catch (error) {
        const stop = bounds.stopped();
        call.end(stop === 'client' ? 'cancelled' : 'failed', usage, finishReason);
        if (stop === 'client') {
          accounting.cancelled();
          end({ outcome: 'cancelled', status: 499, workerId: backend.name, promptTokens, completionTokens: output.deltas });
          return;
        }
        // The client reads llmux's words only; what the engine said goes to the log (engine-errors.ts).
        const failure = stop ? new LlmuxError(timeoutError(stop, r.idleTimeoutMs, backend.name))
          : error instanceof LlmuxError ? error
          : new LlmuxError({ code: ErrorCode.internalError, retryable: true, message: `the gateway failed serving backend '${backend.name}'` }, { cause: error });
        lastError = failure.toInfo();
        const kind = retryClass(failure);
        // A bound that ran out ends the request: its time is spent.
        const again = !stop && !headersSent && kind !== undefined && plan.route.retry.retryOn.includes(kind);
        log.warn({ route: plan.route.name, backend: backend.name, attempt, code: lastError.code, err: lastError.message,
          detail: failureDetail(failure, backend), retry: again }, 'backend failed');
        if (!again) return fail(r, lastError, headersSent, tried, backend.name, output.deltas, streamRender?.failEvents?.(render, lastError));
        if (attempt < plan.route.retry.attempts) await sleep(plan.route.retry.backoffMs * 2 ** (attempt - 1), undefined, { signal }).catch(() => undefined);
        else break; // the next backend: a fallback
      }
    }
  }
  if (bounds.stopped() === 'client') {
    accounting.cancelled();
    return end({ outcome: 'cancelled', status: 499, promptTokens: 0, completionTokens: 0 });
  }
  fail(r, lastError, headersSent, tried, tried.at(-1), output.deltas, streamRender?.failEvents?.(render, lastError));
}

/** Completion tokens by the route's tokenizer; when that fails, the delta count stands (the backend's own count wins anyway). */
async function countOutput(r: RouteRequest, output: OutputText): Promise<number> {
  try {
    const counts = await r.tokens.countTexts(r.tokenizer, output.texts());
    return counts.reduce((a, b) => a + b, 0);
  } catch (error) {
    r.admitted.log.warn({ tokenizer: r.tokenizer, err: error }, 'completion token counting failed; using the delta count');
    return output.deltas;
  }
}

function fail(r: RouteRequest, error: ErrorInfo, headersSent: boolean, tried: string[], backend: string | undefined, deltas: number,
  streamFailure: string | undefined): void {
  let status = 200;
  const headers = r.admitted.responseHeaders;
  if (headersSent) {
    r.res.end(streamFailure ?? sseErrorEvent(error));
  } else {
    // The request's own fault (a bad parameter, an engine that cannot do it) is the client's to hear as is; so is a bound that ran out.
    const upstream = error.code === ErrorCode.invalidRequest || error.code === ErrorCode.unsupported || error.code === ErrorCode.timeout ? error
      : { ...error, code: ErrorCode.upstreamError, message: `route '${r.plan.route.name}': ${tried.length} attempt(s) on ${[...new Set(tried)].join(', ')} failed; last${backend ? `, on backend '${backend}'` : ''}: ${error.message}` };
    status = sendError(r.res, upstream, headers, operations[r.request.operation].errorBody);
  }
  r.admitted.accounting.answered(status);
  r.admitted.onEnd({ outcome: 'failed', status, ...(backend ? { workerId: backend } : {}), promptTokens: deltas > 0 ? r.admitted.prompt.total : 0,
    completionTokens: deltas, errorCode: error.code });
}
