/**
 * Rate-limit response headers from the limiter's view of every limit that applied: OpenAI's
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` for the tightest request limit and the
 * tightest token limit, and the IETF `RateLimit-Policy` / `RateLimit` fields
 * (draft-ietf-httpapi-ratelimit-headers) for the same two. And the 429 for a refused reservation.
 */
import { ErrorCode, type ErrorInfo } from '../../errors.js';
import type { LimitState, ReserveResult } from '../../policy/limiter-state.js';

/** OpenAI writes durations like `1s`, `6m0s`, `0.42s`. */
export function duration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${Number(s.toFixed(3))}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Math.round(s - m * 60)}s`;
}

/** The limit with the smallest share left. */
function tightest(states: readonly LimitState[]): LimitState | undefined {
  let best: LimitState | undefined;
  for (const s of states) if (!best || s.remaining / s.limit < best.remaining / best.limit) best = s;
  return best;
}

export function rateLimitHeaders(states: readonly LimitState[]): Record<string, string> {
  const out: Record<string, string> = {};
  const policies: string[] = [];
  const current: string[] = [];
  for (const [name, group] of [['requests', states.filter((s) => s.kind === 'requests')], ['tokens', states.filter((s) => s.kind !== 'requests')]] as const) {
    const s = tightest(group);
    if (!s) continue;
    out[`x-ratelimit-limit-${name}`] = String(s.limit);
    out[`x-ratelimit-remaining-${name}`] = String(s.remaining);
    out[`x-ratelimit-reset-${name}`] = duration(s.resetMs);
    policies.push(`"${name}";q=${s.limit};w=${Math.round(s.windowMs / 1000)}`);
    current.push(`"${name}";r=${s.remaining};t=${Math.ceil(s.resetMs / 1000)}`);
  }
  if (policies.length) {
    out['ratelimit-policy'] = policies.join(', ');
    out.ratelimit = current.join(', ');
  }
  return out;
}

const scopeWords = (scope: string): string => {
  const [kind, ...rest] = scope.split(':');
  const what = rest.join(':');
  return kind === 'key' ? `API key ${what}` : kind === 'tenant' ? `tenant '${what}'` : kind === 'model' ? `model '${what}'` : `'${what}'`;
};

/** The 429 for a refused reservation, and its headers: `retry-after` is when enough quota returns. */
export function rateLimitError(result: Extract<ReserveResult, { ok: false }>): { error: ErrorInfo; headers: Record<string, string> } {
  const l = result.limited;
  const unit = l.kind === 'requests' ? 'requests' : l.kind === 'tokens' ? 'tokens' : `${l.kind} tokens`;
  const never = !Number.isFinite(l.retryAfterMs);
  const message = never
    ? `this request needs ${l.needed} ${unit}, more than the ${unit} limit ${l.rule} of ${scopeWords(l.scope)} allows at all; ask for fewer (max_tokens)`
    : `${unit} limit ${l.rule} of ${scopeWords(l.scope)} reached: this request needs ${l.needed}, ${l.remaining} remain; retry in ${duration(l.retryAfterMs)}`;
  const headers = rateLimitHeaders(result.states);
  if (!never) {
    headers['retry-after'] = String(Math.ceil(l.retryAfterMs / 1000));
    headers['retry-after-ms'] = String(Math.ceil(l.retryAfterMs));
  }
  return { error: { code: ErrorCode.rateLimitExceeded, retryable: !never, message }, headers };
}
