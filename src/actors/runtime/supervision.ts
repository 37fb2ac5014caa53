/** Supervision policies: what happens when a behaviour throws. A wrapper, not a subclass. */
export type Supervision =
  | { type: 'stop' }
  | {
      type: 'restart-with-backoff';
      minBackoffMs: number;
      maxBackoffMs: number;
      /** 0..1: the fraction of each backoff randomised, so restarts of many actors spread out. */
      jitter: number;
      /** Time without failure after which the backoff starts from the minimum again. */
      resetAfterMs: number;
    };

export function restartWithBackoff(minBackoffMs = 50, maxBackoffMs = 5_000, jitter = 0.2, resetAfterMs = 30_000): Supervision {
  return { type: 'restart-with-backoff', minBackoffMs, maxBackoffMs, jitter, resetAfterMs };
}

export const stopOnFailure: Supervision = { type: 'stop' };

/** The delay before restart number `attempt` (0-based), jittered by `random` in [0, 1). */
export function backoffDelay(policy: Extract<Supervision, { type: 'restart-with-backoff' }>, attempt: number, random = Math.random()): number {
  const base = Math.min(policy.maxBackoffMs, policy.minBackoffMs * 2 ** attempt);
  return Math.round(base * (1 - policy.jitter + 2 * policy.jitter * random));
}
