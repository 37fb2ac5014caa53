/**
 * The shared base for engines with an OpenAI-compatible server (vLLM, SGLang, trtllm-serve,
 * llama.cpp): a new one is a few lines on top of this. Streams from the engine with usage requested
 * when the client streams, asks for the whole answer otherwise (one response instead of one event
 * per token, as EngineRequest.stream allows), over a keep-alive undici pool kept per adapter.
 * Aborting the signal destroys the engine connection, so the engine sees the client go away and
 * stops generating; the deadline does the same and turns into a `timeout` error.
 */
import { Pool } from 'undici';
import { LlmuxError } from '../errors.js';
import type { EngineAdapter, EngineAdapterOptions, EngineEvent, EngineRequest } from './adapter.js';
import { engineHttpError, engineRequestError, engineStreamCut, engineTimeout } from './engine-errors.js';
import { readEventStream, readWholeAnswer } from './openai-body.js';

export interface OpenAiPaths {
  chat: string;
  completion: string;
  health: string;
}

export interface OpenAiCompatibleOptions extends EngineAdapterOptions {
  /** The adapter's `kind`, also named in error messages. */
  kind: string;
  /** Where the engine serves each endpoint, when not at the OpenAI paths. */
  paths?: Partial<OpenAiPaths>;
}

/** setTimeout fires at once beyond this (2^31 - 1 ms, about 24.8 days). */
const maxTimerDelay = 2 ** 31 - 1;

const openAiPaths: OpenAiPaths = { chat: '/v1/chat/completions', completion: '/v1/completions', health: '/health' };

export function createOpenAiCompatibleAdapter(options: OpenAiCompatibleOptions): EngineAdapter {
  const { kind } = options;
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const paths: OpenAiPaths = { ...openAiPaths, ...options.paths };
  // undici's default keep-alive (4 s) stays below uvicorn's (5 s), so a request is never sent on a
  // socket the engine is about to close.
  const pool = new Pool(base.origin, { connections: options.connections ?? 128 });
  const auth: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  const streamHeaders = { ...auth, 'content-type': 'application/json', accept: 'text/event-stream' };
  const wholeHeaders = { ...auth, 'content-type': 'application/json', accept: 'application/json' };

  async function* stream(request: EngineRequest, signal: AbortSignal): AsyncGenerator<EngineEvent[], void, undefined> {
    const { deadline } = request;
    if (deadline !== undefined && deadline <= Date.now()) throw engineTimeout(kind);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer =
      deadline === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, Math.min(deadline - Date.now(), maxTimerDelay));
    /** What a failure means: the caller's own abort comes back as its reason; the deadline as a timeout. */
    const explain = (error: unknown, otherwise: (error: unknown) => LlmuxError): unknown => {
      if (error instanceof LlmuxError) return error;
      if (signal.aborted) return signal.reason ?? error;
      if (timedOut) return engineTimeout(kind);
      return otherwise(error);
    };
    try {
      const body = request.stream
        ? { ...request.body, model: request.model, stream: true, stream_options: { include_usage: true } }
        : { ...request.body, model: request.model, stream: false };
      let res;
      try {
        res = await pool.request({
          method: 'POST',
          path: prefix + (request.operation === 'chat' ? paths.chat : paths.completion),
          headers: request.stream ? streamHeaders : wholeHeaders,
          body: JSON.stringify(body),
          signal: controller.signal,
          // With a deadline, it alone bounds the wait: a long queue before the first token, or a long
          // answer asked for whole, is no reason to fail sooner.
          ...(deadline === undefined ? {} : { headersTimeout: 0, bodyTimeout: 0 }),
        });
      } catch (error) {
        throw explain(error, (e) => engineRequestError(kind, e));
      }
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const text = await res.body.text().catch(() => '');
        throw engineHttpError(kind, res.statusCode, text);
      }
      try {
        if (request.stream) yield* readEventStream(kind, res.body);
        else yield await readWholeAnswer(kind, res.body);
      } catch (error) {
        throw explain(error, (e) => engineStreamCut(kind, e));
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    kind,
    stream,
    async health(signal?: AbortSignal): Promise<boolean> {
      try {
        const res = await pool.request({ method: 'GET', path: prefix + paths.health, headers: auth, ...(signal ? { signal } : {}) });
        await res.body.dump();
        return res.statusCode >= 200 && res.statusCode < 300;
      } catch {
        return false;
      }
    },
    load: async () => undefined,
    close: () => pool.close(),
  };
}
