/**
 * The HTTP machinery every adapter shares: a keep-alive undici pool per adapter, the request with
 * abort and deadline handling, error statuses mapped to llmux errors, the health check and the
 * metrics scrape. An adapter supplies only what is engine-specific: where and what to send, and how
 * to read the answer.
 *
 * Aborting the signal destroys the engine connection, so the engine sees the client go away and
 * stops generating; the deadline does the same and turns into a `timeout` error.
 */
import { Pool } from 'undici';
import { LlmuxError } from '../errors.js';
import type {
  Continuation, EmbeddingRequest, Embeddings, EngineAdapter, EngineAdapterOptions, EngineCapability, EngineEvent, EngineLoad, EngineRequest,
  RequestFeature,
} from './adapter.js';
import { unsupported, unsupportedFeature } from './capabilities.js';
import { type ContinuationSupport, continueRequest } from './continuation.js';
import { engineHttpError, engineRequestError, engineStreamCut, engineTimeout, withoutSecret } from './engine-errors.js';

export interface EngineCall {
  /** Path (and query) under the base URL. */
  path: string;
  body: unknown;
  accept: string;
}

export interface HttpAdapterSpec {
  kind: string;
  options: EngineAdapterOptions;
  /** Headers sent on every request (the engine's key). */
  headers: Record<string, string>;
  /** GET path whose 2xx means the engine is ready. */
  healthPath: string;
  call(request: EngineRequest): EngineCall;
  /** Reads a 2xx answer into batches of events. */
  read(request: EngineRequest, body: AsyncIterable<Uint8Array> & { text(): Promise<string> }): AsyncIterable<EngineEvent[]>;
  /** The engine's Prometheus metrics and how to read its load from them. */
  metrics?: { path: string; read(text: string): EngineLoad | undefined };
  /** How the engine continues a partial answer (continuation.ts); absent when it cannot. */
  continuation?: ContinuationSupport;
  /** The request features it takes (default none): a request asking for another is refused before the engine is called. */
  features?: readonly RequestFeature[];
  /** Whether it generates (default true): an embedding server (TEI) does not. */
  generates?: boolean;
  /** How the engine serves the Responses API natively; absent: a `responses` request is served as the chat it is. */
  responses?: {
    call(request: EngineRequest): EngineCall;
    read(request: EngineRequest, body: AsyncIterable<Uint8Array> & { text(): Promise<string> }): AsyncIterable<EngineEvent[]>;
  };
  /** Where and how the engine serves embeddings; absent when it has none. */
  embeddings?: {
    call(request: EmbeddingRequest): EngineCall;
    /** Reads a 2xx answer; throws a LlmuxError when it is not one vector per input. */
    read(request: EmbeddingRequest, text: string, headers: Readonly<Record<string, string | string[] | undefined>>): Embeddings;
  };
}

/** A 2xx answer's body and headers, as `exchange` hands them to a reader. */
type AnswerBody = AsyncIterable<Uint8Array> & { text(): Promise<string> };
type AnswerHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** setTimeout fires at once beyond this (2^31 - 1 ms, about 24.8 days). */
const maxTimerDelay = 2 ** 31 - 1;

/** Rejects settings the adapter does not know, naming the ones it does. */
export function checkSettings(kind: string, settings: Readonly<Record<string, string>> | undefined, known: readonly string[]): void {
  for (const key of Object.keys(settings ?? {})) {
    if (!known.includes(key)) {
      throw new Error(`the ${kind} engine has no setting '${key}'${known.length > 0 ? `: its settings are ${known.join(', ')}` : ': it takes none'}`);
    }
  }
}

export function createHttpAdapter(spec: HttpAdapterSpec): EngineAdapter {
  const { kind, options } = spec;
  const base = new URL(options.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  // undici's default keep-alive (4 s) stays below uvicorn's (5 s), so a request is never sent on a
  // socket the engine is about to close.
  const pool = new Pool(base.origin, { connections: options.connections ?? 128 });

  /**
   * One POST to the engine and its 2xx answer read by `read`: aborting `signal` destroys the
   * connection, the deadline does too and becomes a `timeout`, a status is mapped to a llmux error.
   */
  async function* exchange<T>(deadline: number | undefined, signal: AbortSignal, call: () => EngineCall,
    read: (body: AnswerBody, headers: AnswerHeaders) => AsyncIterable<T>, traceparent?: string): AsyncGenerator<T, void, undefined> {
    if (deadline !== undefined && deadline <= Date.now()) throw engineTimeout(kind);
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = deadline === undefined
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
      const { path, body, accept } = call();
      let res;
      try {
        res = await pool.request({
          method: 'POST',
          path: prefix + path,
          headers: { ...spec.headers, 'content-type': 'application/json', accept, ...(traceparent ? { traceparent } : {}) },
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
        yield* read(res.body, res.headers);
      } catch (error) {
        throw explain(error, (e) => engineStreamCut(kind, e));
      }
    } catch (error) {
      throw withoutSecret(error, options.apiKey);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  const generates = spec.generates ?? true;
  const features = spec.features ?? [];
  async function* stream(request: EngineRequest, signal: AbortSignal): AsyncGenerator<EngineEvent[], void, undefined> {
    if (!generates) throw unsupported(kind, `${request.operation} requests`);
    const refused = unsupportedFeature(kind, features, request);
    if (refused) throw refused;
    const native = request.operation === 'responses' ? spec.responses : undefined;
    const served: EngineRequest = request.operation === 'responses' && !native ? { ...request, operation: 'chat' } : request;
    const via = native ?? spec;
    yield* exchange(request.deadline, signal, () => via.call(served), (body) => via.read(served, body), request.traceparent);
  }

  const { embeddings } = spec;
  async function embed(request: EmbeddingRequest, signal: AbortSignal): Promise<Embeddings> {
    if (!embeddings) throw unsupported(kind, 'embeddings');
    const answers = exchange(request.deadline, signal, () => embeddings.call(request), async function* read(body, headers) {
      yield embeddings.read(request, await body.text(), headers);
    }, request.traceparent);
    for await (const answer of answers) return answer;
    throw engineStreamCut(kind);
  }

  const get = async (path: string, signal?: AbortSignal): Promise<{ status: number; text: string } | undefined> => {
    try {
      const res = await pool.request({ method: 'GET', path: prefix + path, headers: spec.headers, ...(signal ? { signal } : {}) });
      return { status: res.statusCode, text: await res.body.text() };
    } catch {
      return undefined;
    }
  };

  const { continuation } = spec;
  const serves: EngineCapability[] = [...(generates ? ['generate' as const] : []), ...(embeddings ? ['embed' as const] : [])];
  return {
    kind,
    serves,
    features,
    stream,
    ...(embeddings ? { embed } : {}),
    ...(continuation ? { continueRequest: (request: EngineRequest, c: Continuation) => continueRequest(continuation, request, c) } : {}),
    async health(signal) {
      const res = await get(spec.healthPath, signal);
      return res !== undefined && res.status >= 200 && res.status < 300;
    },
    scrapesLoad: spec.metrics !== undefined,
    async load(signal) {
      if (!spec.metrics) return undefined;
      const res = await get(spec.metrics.path, signal);
      if (!res || res.status !== 200) return undefined;
      return spec.metrics.read(res.text);
    },
    close: () => pool.close(),
  };
}
