/** Mapping engine failures to llmux errors, with `retryable` set for the gateway's retry decision. */
import { ErrorCode, LlmuxError } from '../errors.js';

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
 * request: another worker may well succeed.
 */
const engineSideStatuses: ReadonlySet<number> = new Set([401, 403, 404, 408, 429]);

/**
 * An HTTP error status from an engine. A 4xx is the client's fault (bad parameters, prompt too long):
 * passed on as `invalid_request`, never retried — except the engine-side ones above, which like any
 * 5xx are an upstream error worth trying on another worker.
 */
export function engineHttpError(kind: string, status: number, bodyText: string): LlmuxError {
  const { message, param } = engineErrorMessage(bodyText);
  if (status >= 400 && status < 500 && !engineSideStatuses.has(status)) {
    return new LlmuxError({ code: ErrorCode.invalidRequest, message, retryable: false, upstreamStatus: status, ...(param ? { param } : {}) });
  }
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `${kind} engine answered ${status}: ${message}`, retryable: true, upstreamStatus: status });
}

/** The request failed before an answer began: refused or reset connection, DNS, headers never came. */
export function engineRequestError(kind: string, cause: unknown): LlmuxError {
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  const detail = cause instanceof Error ? `${typeof code === 'string' ? code : cause.name}: ${cause.message}` : String(cause);
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `${kind} engine request failed (${detail})`, retryable: true }, { cause });
}

export function engineStreamCut(kind: string, cause?: unknown): LlmuxError {
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `the ${kind} engine stream was cut before it finished`, retryable: true }, { cause });
}

export function engineTimeout(kind: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.timeout, message: `the ${kind} engine did not finish before the request deadline`, retryable: true });
}

/** An error the engine reported inside a 200 answer (an SSE error event, or an error JSON body). */
export function engineReportedError(kind: string, message: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `${kind} engine error: ${message}`, retryable: true });
}

export function engineGarbled(kind: string, data: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `${kind} engine sent an unparseable event: ${data.slice(0, 200)}`, retryable: true });
}
