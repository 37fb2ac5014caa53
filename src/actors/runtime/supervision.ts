/**
 * Supervision policies: what an actor does when its behaviour throws (or its `receive` promise
 * rejects) on a message. A wrapper chosen at spawn, not a subclass. The vocabulary is Akka Typed's:
 *
 * - `resume`: drop the failing message, report it, and go on with the same behaviour and the same
 *   state. The right policy when the actor's state lives outside the behaviour (in closures or
 *   objects its factory only reads), because a restart could rebuild nothing there anyway.
 * - `restart`: drop the failing message, call the old behaviour's `stop`, and build a fresh one from
 *   the factory. What is reset is exactly what the factory builds, nothing else.
 * - `stop`: drop the failing message and stop the actor; queued and later messages are refused.
 *
 * Under every policy the next queued message runs at once: a failing message never holds up the
 * others. The only backoff is `restart`'s `startBackoff`, for a factory that itself keeps throwing
 * on restart; while it backs off there is no behaviour to run, so messages are refused (`tell`
 * returns false) rather than kept waiting, and the ones queued are discarded (`stats.rejected`).
 */
export interface Backoff {
  minBackoffMs: number;
  maxBackoffMs: number;
  /** 0..1: the fraction of each backoff randomised, so restarts of many actors spread out. */
  jitter: number;
}

export type Supervision =
  | { type: 'resume' }
  | { type: 'restart'; /** Between attempts to start a fresh behaviour when the factory throws. */ startBackoff: Backoff }
  | { type: 'stop' };

export type Directive = Supervision['type'];

export const resumeOnFailure: Supervision = { type: 'resume' };

export function restartOnFailure(startBackoff: Partial<Backoff> = {}): Supervision {
  return { type: 'restart', startBackoff: { minBackoffMs: 50, maxBackoffMs: 5_000, jitter: 0.2, ...startBackoff } };
}

/** `restartOnFailure` by Akka's name. The backoff applies only to a factory that keeps failing on start. */
export function restartWithBackoff(minBackoffMs = 50, maxBackoffMs = 5_000, jitter = 0.2): Supervision {
  return restartOnFailure({ minBackoffMs, maxBackoffMs, jitter });
}

export const stopOnFailure: Supervision = { type: 'stop' };

/** The delay before start attempt number `attempt` (0-based), jittered by `random` in [0, 1). */
export function backoffDelay(backoff: Backoff, attempt: number, random = Math.random()): number {
  const base = Math.min(backoff.maxBackoffMs, backoff.minBackoffMs * 2 ** attempt);
  return Math.round(base * (1 - backoff.jitter + 2 * backoff.jitter * random));
}
