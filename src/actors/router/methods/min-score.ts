/** The common shape of a scoring method: score every candidate, take a lowest, break ties at random. */
import type { Pick } from '../routing-request.js';
import type { WorkerEntry } from '../worker-table.js';

let scratch = new Float64Array(1024);

/** Room for n scores, reused by every decision (decide() copies a method's scores into its record before the next). */
export function scratchScores(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, 2 * scratch.length));
  return scratch.subarray(0, n);
}

/**
 * A lowest of `scores` (one per candidate, filled by the method's own loop), ties drawn at random:
 * one pass keeping the lowest and how many tie at it, then one random number, as a list of the tied
 * would take. Methods score in their own loops rather than through a callback here: one call site
 * shared by every method's closure is megamorphic, and V8 then inlines none of them.
 */
export function lowestOf(candidates: readonly WorkerEntry[], scores: Float64Array, random: () => number): (Pick & { scores: Float64Array }) | undefined {
  const n = candidates.length;
  if (n === 0) return undefined;
  let best = Infinity;
  let tied = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i] as number;
    if (s < best) {
      best = s;
      tied = 1;
    } else if (s === best) tied++;
  }
  const at = nthEqual(scores, best, Math.floor(random() * tied));
  return at < 0 ? undefined : { winner: candidates[at] as WorkerEntry, scores };
}

/** The index of the `nth` (from 0) score equal to `value`, or -1: the draw among tied scores. */
export function nthEqual(scores: ArrayLike<number>, value: number, nth: number): number {
  for (let i = 0; i < scores.length; i++) if (scores[i] === value && nth-- === 0) return i;
  return -1;
}
