/**
 * A circuit breaker per worker, fed by the outcome counts in the worker's heartbeats (never by one
 * router's own view, so every router opens and closes it alike).
 *
 *   closed     requests flow; a report with at least `minFailures` failures making up at least
 *              `failureRatio` of its outcomes opens it
 *   open       no requests for the cooldown (doubling on each re-open, up to `maxCooldownMs`)
 *   half-open  after the cooldown: at most one probe request at a time; the next report with
 *              outcomes closes it (no failures) or opens it again (any failure)
 *
 * 4xx answers are the client's fault and are never counted as failures (the worker counts them as ok).
 */

export interface BreakerPolicy {
  minFailures: number;
  failureRatio: number;
  cooldownMs: number;
  maxCooldownMs: number;
}

export const defaultBreakerPolicy: BreakerPolicy = { minFailures: 3, failureRatio: 0.5, cooldownMs: 5_000, maxCooldownMs: 60_000 };

export type BreakerState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  #state: 'closed' | 'open' = 'closed';
  #openedAt = 0;
  #cooldownMs: number;
  /** Outcome counters at the last report, to diff the next against. */
  #last: { ok: number; failed: number } | undefined;

  constructor(readonly policy: BreakerPolicy = defaultBreakerPolicy) {
    this.#cooldownMs = policy.cooldownMs;
  }

  /** When it opened, while open or half-open; undefined while closed. */
  openedAt(): number | undefined {
    return this.#state === 'open' ? this.#openedAt : undefined;
  }

  /** How long it stays open before a probe (doubling on each re-open). */
  get cooldownMs(): number {
    return this.#cooldownMs;
  }

  state(now: number): BreakerState {
    if (this.#state === 'closed') return 'closed';
    return now - this.#openedAt >= this.#cooldownMs ? 'half-open' : 'open';
  }

  /** Feeds the cumulative counts of a heartbeat; returns the state change it caused, if any. */
  report(outcomes: { ok: number; failed: number }, now: number): 'opened' | 'closed' | undefined {
    const last = this.#last;
    this.#last = { ...outcomes };
    // A first report, or counters that went backwards (the worker restarted): nothing to diff.
    if (!last || outcomes.ok < last.ok || outcomes.failed < last.failed) return undefined;
    const ok = outcomes.ok - last.ok;
    const failed = outcomes.failed - last.failed;
    switch (this.state(now)) {
      case 'closed':
        if (failed >= this.policy.minFailures && failed / (ok + failed) >= this.policy.failureRatio) {
          this.#open(now, this.policy.cooldownMs);
          return 'opened';
        }
        return undefined;
      case 'open':
        return undefined;
      case 'half-open':
        if (failed > 0) {
          this.#open(now, Math.min(this.#cooldownMs * 2, this.policy.maxCooldownMs));
          return 'opened';
        }
        if (ok > 0) {
          this.#state = 'closed';
          this.#cooldownMs = this.policy.cooldownMs;
          return 'closed';
        }
        return undefined;
    }
  }

  #open(now: number, cooldownMs: number): void {
    this.#state = 'open';
    this.#openedAt = now;
    this.#cooldownMs = cooldownMs;
  }
}
