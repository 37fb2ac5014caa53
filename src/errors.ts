/**
 * The error vocabulary of llmux (DESIGN.md §2). Every failure a client can see maps to one of these
 * codes, with its HTTP status; `retryable` says whether the same request may succeed elsewhere/later.
 */
export const ErrorCode = {
  invalidApiKey: 'invalid_api_key',
  permissionDenied: 'permission_denied',
  noEligibleCandidates: 'no_eligible_candidates',
  unsupportedUri: 'unsupported_uri',
  noActiveBackend: 'no_active_backend',
  rateLimitExceeded: 'rate_limit_exceeded',
  invalidRequest: 'invalid_request',
  /** The request body is larger than one NATS message carries (docs/api.md, "Request size"). */
  requestTooLarge: 'request_too_large',
  upstreamError: 'upstream_error',
  timeout: 'timeout',
  internalError: 'internal_error',
  /** The rate limiter did not answer and the gateway is set to fail closed. */
  limiterUnavailable: 'rate_limiter_unavailable',
  /** An admin resource (decision record, worker) that does not exist or is no longer held. */
  notFound: 'not_found',
  /** The engine serving the model cannot do what was asked (embeddings from a text-generation engine, chat from an embedding server). */
  unsupported: 'unsupported',
  /** The control plane (JetStream KV) cannot take a change now: e.g. this cluster is cut off from its home cluster. */
  controlPlaneUnavailable: 'control_plane_unavailable',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const statusOf: Record<ErrorCode, number> = {
  invalid_api_key: 401,
  permission_denied: 403,
  no_eligible_candidates: 404,
  unsupported_uri: 404,
  no_active_backend: 503,
  rate_limit_exceeded: 429,
  invalid_request: 400,
  request_too_large: 413,
  upstream_error: 502,
  timeout: 504,
  internal_error: 500,
  rate_limiter_unavailable: 503,
  not_found: 404,
  unsupported: 400,
  control_plane_unavailable: 503,
};

/** OpenAI's `error.type` for each code, so official clients map them to their own error classes. */
const typeOf: Record<ErrorCode, string> = {
  invalid_api_key: 'authentication_error',
  permission_denied: 'permission_error',
  no_eligible_candidates: 'not_found_error',
  unsupported_uri: 'not_found_error',
  no_active_backend: 'service_unavailable_error',
  rate_limit_exceeded: 'rate_limit_error',
  invalid_request: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  upstream_error: 'upstream_error',
  timeout: 'timeout_error',
  internal_error: 'server_error',
  rate_limiter_unavailable: 'service_unavailable_error',
  not_found: 'not_found_error',
  unsupported: 'invalid_request_error',
  control_plane_unavailable: 'service_unavailable_error',
};

export function httpStatusOf(code: ErrorCode): number {
  return statusOf[code];
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(statusOf, value);
}

/** The plain-data form of an error: what crosses NATS and thread boundaries (class identity does not). */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** The request field at fault, for `invalid_request`. */
  param?: string;
  /** The status the engine answered with, when the error came from one. */
  upstreamStatus?: number;
}

export class LlmuxError extends Error {
  override readonly name = 'LlmuxError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly param: string | undefined;
  readonly upstreamStatus: number | undefined;

  constructor(info: ErrorInfo, options?: { cause?: unknown }) {
    super(info.message, options);
    this.code = info.code;
    this.retryable = info.retryable;
    this.param = info.param;
    this.upstreamStatus = info.upstreamStatus;
  }

  get status(): number {
    return statusOf[this.code];
  }

  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.param !== undefined) info.param = this.param;
    if (this.upstreamStatus !== undefined) info.upstreamStatus = this.upstreamStatus;
    return info;
  }

  static from(info: ErrorInfo): LlmuxError {
    return new LlmuxError(info);
  }
}

/** The OpenAI-shaped error body sent to clients, in HTTP responses and SSE error events alike. */
export function openAiErrorBody(info: ErrorInfo): { error: { message: string; type: string; code: ErrorCode; param: string | null } } {
  return { error: { message: info.message, type: typeOf[info.code], code: info.code, param: info.param ?? null } };
}

export function invalidRequest(param: string, message: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.invalidRequest, message, param, retryable: false });
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
