/**
 * The limiter's messages. Gateways ask `reserve` (request/reply) before dispatching and send
 * `settle` (no reply) when the request ends; one limiter holds every limit's state, so what three
 * gateways admit together is exactly what one would (docs/policy.md explains the choice).
 */
import { isFiniteNumber, isObject, isString } from '../../protocol/guards.js';
import type { BucketRef, ReserveInput, ReserveResult } from '../../policy/limiter-state.js';

export type LimiterRequest =
  | ({ type: 'reserve' } & ReserveInput)
  | { type: 'settle'; id: string; promptTokens: number; completionTokens: number };

export type LimiterReply = { type: 'reserved' } & ReserveResult;

function isBucket(v: unknown): v is BucketRef {
  return isObject(v) && isString(v.scope) && isString(v.spec) && (v.counts === 'tokens' || v.counts === 'requests');
}

export function parseLimiterRequest(body: unknown): LimiterRequest | undefined {
  if (!isObject(body) || !isString(body.id)) return undefined;
  if (body.type === 'reserve') {
    return Array.isArray(body.buckets) && body.buckets.every(isBucket) && isFiniteNumber(body.promptTokens) && isObject(body.completion) &&
      isFiniteNumber(body.completion.wanted) && typeof body.completion.flexible === 'boolean'
      ? (body as unknown as LimiterRequest)
      : undefined;
  }
  if (body.type === 'settle') {
    return isFiniteNumber(body.promptTokens) && isFiniteNumber(body.completionTokens) ? (body as unknown as LimiterRequest) : undefined;
  }
  return undefined;
}

export function parseLimiterReply(body: unknown): LimiterReply | undefined {
  return isObject(body) && body.type === 'reserved' && typeof body.ok === 'boolean' && Array.isArray(body.states) ? (body as unknown as LimiterReply) : undefined;
}
