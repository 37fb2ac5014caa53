/**
 * Mapping engine failures to llmux errors, with `retryable` set for the gateway's retry decision.
 *
 * An error's message is what a client reads, so it is always llmux's own words: an engine's body can
 * hold a masked form of the operator's provider key, a socket error the address of an internal
 * host. What the engine said goes in the error's `cause` (an EngineFailureDetail), for the server
 * log only (engineFailureDetail). The one exception is a 4xx that is the request's fault (a prompt
 * too long, a bad parameter): the client needs the engine's reason, passed through clientSafe.
 */
import { ErrorCode, LlmuxError } from '../errors.js';

/** Where an engine failure happened: before any answer, in the status, inside a 2xx, in the records. */
export type EngineFailureStage = 'request' | 'status' | 'reported' | 'garbled';

/** The engine's own account of a failure (its body, the socket error): for the log, never for a client. */
export class EngineFailureDetail extends Error {
  override readonly name = 'EngineFailureDetail';
  readonly stage: EngineFailureStage;

  constructor(stage: EngineFailureStage, detail: string, options?: { cause?: unknown }) {
    super(detail, options);
    this.stage = stage;
  }
}

/**
 * What the server log should say about a failure beyond its message: the engine's words along the
 * cause chain (an EngineFailureDetail ends it), or undefined when there is nothing more.
 */
export function engineFailureDetail(error: unknown): string | undefined {
  const parts: string[] = [];
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 4; depth++) {
    if (cause instanceof EngineFailureDetail) {
      parts.push(cause.message);
      break;
    }
    parts.push(cause instanceof Error ? `${errnoCode(cause) ?? cause.name}: ${cause.message}` : String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return parts.length > 0 ? parts.join(' <- ') : undefined;
}

/**
 * `error` with every occurrence of `secret` (the engine's API key) cut out of its message and its
 * causes' messages: an engine that echoes the key it was sent, in an error body or a stream, puts it
 * in neither a client's answer nor the log.
 */
export function withoutSecret(error: unknown, secret: string | undefined): unknown {
  if (!secret || secret.length < 4) return error;
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 6; depth++) {
    if (e.message.includes(secret)) e.message = e.message.replaceAll(secret, '(the engine key)');
    e = e.cause;
  }
  return error;
}

/** Whether the request failed before any answer began (refused, reset, unresolvable, no headers). */
export function isEngineRequestFailure(error: unknown): boolean {
  return error instanceof LlmuxError && error.cause instanceof EngineFailureDetail && error.cause.stage === 'request';
}

/**
 * An engine's reason, as a client may read it: addresses and anything shaped like a key (masked or
 * not) replaced. Only for the request's own faults; a defence in depth, not a licence to pass more.
 */
export function clientSafe(message: string): string {
  return message
    .slice(0, 500)
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>)]+/gi, '(address)')
    .replace(/\[[0-9a-f:.]+\](?::\d+)?/gi, '(address)')
    .replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, '(address)')
    .replace(/\b(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{2,5}\b/gi, '(address)')
    .replace(/\bBearer\s+\S+/gi, 'Bearer (redacted)')
    .replace(/[^\s'"()[\]]*\*{3,}[^\s'"().,[\]]*/g, '(redacted)')
    .replace(/\b(?:sk|rk|pk)-[A-Za-z0-9_-]{6,}/g, '(redacted)');
}

/**
 * The message (and request field at fault) inside an engine's error body, whatever its shape:
 * `{"error":{"message","param"}}` (vLLM ≥0.10.1, OpenAI), `{"error":{"object":"error","message"}}`
 * (older vLLM and SGLang mid-stream), flat `{"object":"error","message","param"}` (older vLLM, SGLang),
 * `{"error":"..."}` (TGI, Triton). Anything else: the raw text, cut short.
 */
export function engineErrorMessage(text: string): { message: string; param?: string } {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null) {
      const found = errorFields(body as Record<string, unknown>);
      if (found) return found;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: text.slice(0, 500) || '(empty body)' };
}

/** The error carried by a parsed engine JSON object, or undefined when it is not an error. */
export function errorFields(body: Record<string, unknown>): { message: string; param?: string } | undefined {
  const error = body.error;
  let source: Record<string, unknown>;
  if (typeof error === 'string') return { message: error };
  if (typeof error === 'object' && error !== null) source = error as Record<string, unknown>;
  else if (body.object === 'error') source = body;
  else return undefined;
  const message = typeof source.message === 'string' ? source.message : JSON.stringify(source).slice(0, 500);
  return typeof source.param === 'string' ? { message, param: source.param } : { message };
}

/**
 * Statuses that say something about the engine (its key, its served models, its load), not about the
 * request: another worker may well succeed. What each says, in llmux's words.
 */
const engineSideStatuses: ReadonlyMap<number, string> = new Map([
  [401, 'it rejected the credentials'], [403, 'it refused access'], [404, 'no such model or path'], [408, 'it timed out'], [429, 'it is rate limiting'],
]);

/**
 * An HTTP error status from an engine. A 4xx is the client's fault (bad parameters, prompt too long):
 * passed on as `invalid_request`, never retried — except the engine-side ones above, which like any
 * 5xx are an upstream error worth trying on another worker.
 */
export function engineHttpError(kind: string, status: number, bodyText: string): LlmuxError {
  const detail = new EngineFailureDetail('status', `${kind} engine answered ${status}: ${bodyText.slice(0, 1000) || '(empty body)'}`);
  const reason = engineSideStatuses.get(status);
  if (status >= 400 && status < 500 && reason === undefined) {
    const { message, param } = engineErrorMessage(bodyText);
    return new LlmuxError({ code: ErrorCode.invalidRequest, message: clientSafe(message), retryable: false, upstreamStatus: status, ...(param ? { param } : {}) }, { cause: detail });
  }
  const why = reason ?? (status >= 500 ? 'it failed' : undefined);
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `the ${kind} engine answered ${status}${why ? ` (${why})` : ''}`, retryable: true, upstreamStatus: status }, { cause: detail });
}

/** Socket and undici error codes, in words that name no address. */
const requestFailureReasons: ReadonlyMap<string, string> = new Map([
  ['ECONNREFUSED', 'connection refused'], ['ECONNRESET', 'connection reset'], ['EPIPE', 'connection reset'], ['UND_ERR_SOCKET', 'connection closed'],
  ['ENOTFOUND', 'host name not found'], ['EAI_AGAIN', 'host name not found'], ['EHOSTUNREACH', 'host unreachable'], ['ENETUNREACH', 'host unreachable'],
  ['ETIMEDOUT', 'connect timed out'], ['UND_ERR_CONNECT_TIMEOUT', 'connect timed out'], ['UND_ERR_HEADERS_TIMEOUT', 'no answer in time'],
]);

const errnoCode = (error: unknown): string | undefined => {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
};

/** The request failed before an answer began: refused or reset connection, DNS, headers never came. */
export function engineRequestError(kind: string, cause: unknown): LlmuxError {
  const code = errnoCode(cause);
  // Node's connect to a name with several addresses fails with an AggregateError: each attempt inside.
  const attempts = cause instanceof AggregateError ? cause.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))) : [];
  const detail = cause instanceof Error ? `${code ?? cause.name}: ${[cause.message, ...attempts].filter(Boolean).join('; ')}` : String(cause);
  const reason = code === undefined ? 'engine unreachable'
    : requestFailureReasons.get(code) ?? (/^(ERR_TLS|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(code) ? 'TLS handshake failed' : 'engine unreachable');
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `the ${kind} engine request failed (${reason})`, retryable: true },
    { cause: new EngineFailureDetail('request', `${kind} engine request failed: ${detail}`, { cause }) });
}

export function engineStreamCut(kind: string, cause?: unknown): LlmuxError {
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `the ${kind} engine stream was cut before it finished`, retryable: true }, { cause });
}

export function engineTimeout(kind: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.timeout, message: `the ${kind} engine did not finish before the request deadline`, retryable: true });
}

/** An error the engine reported inside a 200 answer (an SSE error event, or an error JSON body). */
export function engineReportedError(kind: string, message: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `the ${kind} engine reported an error`, retryable: true },
    { cause: new EngineFailureDetail('reported', `${kind} engine error: ${message.slice(0, 1000)}`) });
}

export function engineGarbled(kind: string, data: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `the ${kind} engine sent an unparseable event`, retryable: true },
    { cause: new EngineFailureDetail('garbled', `${kind} engine sent: ${data.slice(0, 200)}`) });
}
