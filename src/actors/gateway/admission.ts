/**
 * Admission (DESIGN.md §3 step 1): which limits apply to the caller and model, and a reservation
 * of prompt tokens plus the completion budget against all of them at the limiter. The answer is the
 * rate-limit headers for the response, and for a request without `max_tokens` the completion budget
 * the engine is held to; or the 429 (or, failing closed, the 503) to send instead, or a 400 when a
 * `required` header selector's header is missing.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, type ErrorInfo } from '../../errors.js';
import type { GatewayMetrics } from '../../observability/gateway-metrics.js';
import type { Logger } from '../../observability/logger.js';
import type { ApiKeyStore } from '../../policy/api-key-store.js';
import { limitBuckets, missingSelectorHeader } from '../../policy/limit-buckets.js';
import type { Principal } from '../../policy/principal.js';
import type { LlmConfig } from '../../control/function.schema.js';
import type { LimiterClient, LimiterFailMode } from './limiter-client.js';
import { rateLimitError, rateLimitHeaders } from './rate-limit-headers.js';

export interface AdmissionOptions {
  limiter: LimiterClient;
  metrics?: GatewayMetrics;
  failMode: LimiterFailMode;
  /** Completion tokens reserved for a request without max_tokens (less when the limits leave less). */
  defaultMaxTokens: number;
  keys?: ApiKeyStore;
  log: Logger;
}

/** What admit uses: the limiter only to reserve (a traced one, when tracing is on). */
export type AdmitOptions = Omit<AdmissionOptions, 'limiter'> & { limiter: Pick<LimiterClient, 'reserve'> };

export interface AdmissionRequest {
  reservationId: string;
  principal: Principal;
  functionId: string;
  model: string;
  llmConfig: LlmConfig;
  headers: IncomingHttpHeaders;
  promptTokens: number;
  /** What the client asked for, if it did: per answer. */
  maxTokens: number | undefined;
  /** Answers the engine generates (a completions prompt array: one per prompt), each up to maxTokens. Default 1. */
  answers?: number;
}

export type Admission =
  | { ok: true; reserved: boolean; headers: Record<string, string>; budget?: { tokens: number; why: string }; admittedAt?: number }
  | { ok: false; error: ErrorInfo; headers: Record<string, string> };

export async function admit(options: AdmitOptions, request: AdmissionRequest): Promise<Admission> {
  const missing = missingSelectorHeader(request.llmConfig, request.headers);
  if (missing) {
    return { ok: false, headers: {}, error: { code: ErrorCode.invalidRequest, retryable: false, param: missing,
      message: `this model is rate-limited per '${missing}' header, and the request has none` } };
  }
  const buckets = limitBuckets(request.principal, options.keys?.tenant(request.principal.tenant), request.functionId, request.model,
    request.llmConfig, request.headers);
  if (buckets.length === 0) return { ok: true, reserved: false, headers: {} };
  const flexible = request.maxTokens === undefined;
  const room = request.llmConfig.contextLength !== undefined ? request.llmConfig.contextLength - request.promptTokens : Infinity;
  const wanted = request.maxTokens ?? Math.max(1, Math.min(options.defaultMaxTokens, room));
  // An engine generates up to max_tokens for each prompt of a completions array: reserve for all of them.
  const answers = Math.max(1, request.answers ?? 1);
  const started = process.hrtime.bigint();
  const result = await options.limiter.reserve({
    id: request.reservationId, buckets, promptTokens: request.promptTokens, completion: { wanted: wanted * answers, flexible },
  });
  options.metrics?.admission.observe(Number(process.hrtime.bigint() - started) / 1e9);
  if (result === 'unavailable') {
    options.metrics?.limiterUnavailable.inc({ outcome: options.failMode === 'open' ? 'admitted' : 'refused' });
    options.log.warn({ failMode: options.failMode }, 'rate limiter did not answer');
    if (options.failMode === 'open') return { ok: true, reserved: false, headers: { 'x-ratelimit-status': 'limiter-unavailable' } };
    return { ok: false, headers: {}, error: { code: ErrorCode.limiterUnavailable, retryable: true,
      message: 'the rate limiter did not answer and this gateway fails closed; retry shortly' } };
  }
  if (!result.ok) {
    options.metrics?.rateLimited.inc({ limit: result.limited.kind, scope: result.limited.scope.split(':')[0] ?? 'unknown' });
    return { ok: false, ...rateLimitError(result) };
  }
  const headers = rateLimitHeaders(result.states);
  if (!flexible) return { ok: true, reserved: true, headers, admittedAt: result.at };
  // The budget is per answer: the engine holds each prompt's completion to it.
  const perAnswer = Math.max(1, Math.floor(result.completionTokens / answers));
  const why = perAnswer < wanted
    ? 'what the rate limits had left'
    : `no max_tokens in the request; the gateway reserves ${options.defaultMaxTokens} by default`;
  return { ok: true, reserved: true, headers, budget: { tokens: perAnswer, why }, admittedAt: result.at };
}

/** The ledger's view of an admission: the tokens reserved and when the limiter admitted them (none without limits). */
export function reservationFields(admission: Admission | undefined, promptTokens: number, maxTokens: number | undefined, answers = 1): { reservedTokens?: number; admittedAt?: string } {
  if (!admission?.ok || !admission.reserved) return {};
  return {
    reservedTokens: promptTokens + (admission.budget?.tokens ?? maxTokens ?? 0) * answers,
    admittedAt: new Date(admission.admittedAt ?? Date.now()).toISOString(),
  };
}
