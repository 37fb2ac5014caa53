/**
 * The limiter's state, pure and synchronous: sliding logs per (scope, rule), reservations made
 * against all of a request's limits at once, and settlement with what the request really used.
 *
 * Reservation: prompt tokens plus the completion budget. A request that gave `max_tokens` needs all
 * of it (`flexible: false`); one that did not is granted what fits under every token limit, up to the
 * default (`flexible: true`), and its stream is capped there. Settlement only ever refunds: an engine
 * that reports more than was reserved (its tokenizer counts differently) is billed in the ledger,
 * but the limiter keeps what it admitted, so admitted ≤ limit holds in every window.
 */
import { type LimitKind, type LimitRule, parseLimitSpec } from './limit-spec.js';
import { SlidingLog } from './sliding-log.js';

export interface BucketRef {
  /** Whose limit: `key:<id>`, `tenant:<id>`, `model:<fn>/<model>`, `header:<fn>/<model>:<name>=<value>`. */
  scope: string;
  /** The limit as configured (limit-spec.ts). */
  spec: string;
  counts: 'tokens' | 'requests';
}

export interface ReserveInput {
  id: string;
  buckets: readonly BucketRef[];
  promptTokens: number;
  completion: { wanted: number; flexible: boolean };
}

export interface LimitState {
  scope: string;
  kind: LimitKind;
  rule: string;
  limit: number;
  remaining: number;
  windowMs: number;
  /** Until everything admitted so far has left the window. */
  resetMs: number;
}

export type ReserveResult =
  /** `at`: the limiter's clock at admission (what its windows are measured in). */
  | { ok: true; completionTokens: number; states: LimitState[]; at: number }
  | { ok: false; limited: LimitState & { needed: number; retryAfterMs: number }; states: LimitState[] };

interface Held {
  log: SlidingLog;
  kind: LimitKind;
  amount: number;
}

const needOf = (kind: LimitKind, prompt: number, completion: number): number =>
  kind === 'requests' ? 1 : kind === 'prompt' ? prompt : kind === 'completion' ? completion : prompt + completion;

export class LimiterState {
  readonly #logs = new Map<string, SlidingLog>();
  readonly #specs = new Map<string, LimitRule[]>();
  readonly #held = new Map<string, { at: number; held: Held[] }>();
  #longestWindowMs = 0;

  #rules(bucket: BucketRef): Array<{ rule: LimitRule; log: SlidingLog; scope: string }> {
    const specKey = `${bucket.counts}|${bucket.spec}`;
    let rules = this.#specs.get(specKey);
    if (!rules) {
      rules = parseLimitSpec(bucket.spec, bucket.counts);
      this.#specs.set(specKey, rules);
    }
    return rules.map((rule) => {
      const key = `${bucket.scope}|${rule.kind}|${rule.text}`;
      let log = this.#logs.get(key);
      if (!log) {
        log = new SlidingLog(rule.amount, rule.windowMs);
        this.#logs.set(key, log);
        this.#longestWindowMs = Math.max(this.#longestWindowMs, rule.windowMs);
      }
      return { rule, log, scope: bucket.scope };
    });
  }

  reserve(input: ReserveInput, now: number): ReserveResult {
    const rules = input.buckets.flatMap((b) => this.#rules(b));
    const state = (r: (typeof rules)[number]): LimitState => ({
      scope: r.scope, kind: r.rule.kind, rule: r.rule.text, limit: r.rule.amount, remaining: r.log.remaining(now), windowMs: r.rule.windowMs, resetMs: r.log.resetMs(now),
    });
    let completion = input.completion.wanted;
    if (input.completion.flexible) {
      for (const r of rules) {
        if (r.rule.kind === 'tokens') completion = Math.min(completion, r.log.remaining(now) - input.promptTokens);
        if (r.rule.kind === 'completion') completion = Math.min(completion, r.log.remaining(now));
      }
      completion = Math.max(1, completion); // at least one token must fit, or the request waits
    }
    let worst: (ReserveResult & { ok: false })['limited'] | undefined;
    for (const r of rules) {
      const needed = needOf(r.rule.kind, input.promptTokens, completion);
      const retryAfterMs = r.log.waitFor(needed, now);
      if (retryAfterMs > 0 && (!worst || retryAfterMs > worst.retryAfterMs)) worst = { ...state(r), needed, retryAfterMs };
    }
    if (worst) return { ok: false, limited: worst, states: rules.map(state) };
    const held: Held[] = rules.map((r) => {
      const amount = needOf(r.rule.kind, input.promptTokens, completion);
      r.log.add(input.id, amount, now);
      return { log: r.log, kind: r.rule.kind, amount };
    });
    this.#held.set(input.id, { at: now, held });
    return { ok: true, completionTokens: completion, states: rules.map(state), at: now };
  }

  /** Settles a reservation with what the request used; only refunds. False when there is no such reservation. */
  settle(id: string, used: { promptTokens: number; completionTokens: number }): boolean {
    const reservation = this.#held.get(id);
    if (!reservation) return false;
    this.#held.delete(id);
    for (const h of reservation.held) h.log.settle(id, Math.min(h.amount, needOf(h.kind, used.promptTokens, used.completionTokens)));
    return true;
  }

  /** Forgets logs that are empty and reservations that can no longer matter (never settled: a gateway died). */
  sweep(now: number): void {
    for (const [key, log] of this.#logs) if (log.used(now) === 0 && log.empty) this.#logs.delete(key);
    for (const [id, r] of this.#held) if (now - r.at > this.#longestWindowMs) this.#held.delete(id);
  }

  get reservations(): number {
    return this.#held.size;
  }
}
