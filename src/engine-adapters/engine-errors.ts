/** Mapping engine failures to llmux errors, with `retryable` set for the gateway's retry decision. */
import { ErrorCode, LlmuxError } from '../errors.js';

/** The message inside an engine's error body: `{"error":{"message"}}`, `{"object":"error","message"}`, `{"error":"..."}`. */
export function engineErrorMessage(text: string): { message: string; param?: string } {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; param?: unknown };
    const inner = typeof body.error === 'object' && body.error !== null ? (body.error as { message?: unknown; param?: unknown }) : undefined;
    const message = inner?.message ?? (typeof body.error === 'string' ? body.error : undefined) ?? body.message;
    const param = inner?.param ?? body.param;
    if (typeof message === 'string') return { message, ...(typeof param === 'string' ? { param } : {}) };
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: text.slice(0, 500) || '(empty body)' };
}

/**
 * An HTTP error status from an engine. 400 and 422 are the client's fault (bad parameters): passed on
 * as `invalid_request`, never retried. Anything else (401/403/404: a misconfigured engine; 429, 5xx:
 * an overloaded or failing one) is an upstream error worth trying on another worker.
 */
export function engineHttpError(kind: string, status: number, bodyText: string): LlmuxError {
  const { message, param } = engineErrorMessage(bodyText);
  if (status === 400 || status === 422) {
    return new LlmuxError({ code: ErrorCode.invalidRequest, message, retryable: false, upstreamStatus: status, ...(param ? { param } : {}) });
  }
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `${kind} engine answered ${status}: ${message}`, retryable: true, upstreamStatus: status });
}

export function engineConnectError(kind: string, cause: unknown): LlmuxError {
  const detail = cause instanceof Error ? `${(cause as { code?: string }).code ?? cause.name}: ${cause.message}` : String(cause);
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `${kind} engine unreachable (${detail})`, retryable: true }, { cause });
}

export function engineStreamCut(kind: string, cause?: unknown): LlmuxError {
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `the ${kind} engine stream was cut before it finished`, retryable: true }, { cause });
}

export function engineTimeout(kind: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.timeout, message: `the ${kind} engine did not finish before the request deadline`, retryable: true });
}

export function engineStreamError(kind: string, message: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.upstreamError, message: `${kind} engine error mid-stream: ${message}`, retryable: true });
}
