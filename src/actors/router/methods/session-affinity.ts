/**
 * session-affinity: requests with the same routing key go to the same worker, so its prefix cache
 * and any session state stay warm. The key is `prompt_cache_key`, else `x-session-id`, else a hash
 * of the leading messages (the gateway computes it). Workers are ranked for a key by rendezvous
 * (highest random weight) hashing, the default, or by a consistent-hash ring; either way a worker
 * leaving remaps only its own keys.
 *
 * Bounded load (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with Bounded Loads"): a worker
 * already holding `loadBound` × the mean in-flight load, counting this request, is passed over for
 * the next in the key's ranking, so a hot key cannot pile onto one worker.
 */
import { hash53 } from '../hash.js';
import type { MethodContext, Pick, RoutingMethodFn } from '../routing-request.js';
import { effectiveInFlight, type WorkerEntry } from '../worker-table.js';
import { HashRing } from './hash-ring.js';

export const defaultLoadBound = 1.25;

/** murmur3's 32-bit finalizer: mixes a key hash with a worker hash into a rendezvous weight. */
function mix32(x: number): number {
  let h = x;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const workerHashes = new Map<string, number>();
function workerHash(id: string): number {
  let h = workerHashes.get(id);
  if (h === undefined) {
    if (workerHashes.size > 100_000) workerHashes.clear();
    h = hash53(id) % 4294967296;
    workerHashes.set(id, h);
  }
  return h;
}

/**
 * Rendezvous: every candidate gets a pseudo-random weight for the key; the heaviest that fits the
 * bound wins (the heaviest overall when none fits). One pass, no sort. Scores: 1 − weight ÷ 2³²
 * (lower is preferred).
 */
function rendezvous(candidates: readonly WorkerEntry[], keyHash: number, fits: (w: WorkerEntry) => boolean): Pick | undefined {
  const k = mix32(keyHash % 4294967296);
  const scores: Array<number | undefined> = new Array(candidates.length);
  let best = -1;
  let bestWeight = -1;
  let bestFit = -1;
  let bestFitWeight = -1;
  candidates.forEach((w, i) => {
    const weight = mix32(k ^ workerHash(w.descriptor.workerId));
    scores[i] = 1 - weight / 4294967296;
    // Ties (2^-32 likely) go to the lower worker id: candidates come in id order and only a strictly heavier weight wins.
    if (weight > bestWeight) [best, bestWeight] = [i, weight];
    if (weight > bestFitWeight && fits(w)) [bestFit, bestFitWeight] = [i, weight];
  });
  const winner = candidates[bestFit >= 0 ? bestFit : best];
  return winner ? { winner, scores } : undefined;
}

/**
 * Consistent hashing: walk the ring from the key and take the first candidate that fits the bound
 * (the first candidate when none does). Scores: the order of the walk (0 = the key's owner).
 */
function ring(candidates: readonly WorkerEntry[], keyHash: number, fits: (w: WorkerEntry) => boolean, ctx: MethodContext): Pick | undefined {
  // The ring spans every worker serving the model, so a worker turning ineligible for a moment
  // does not rebuild it: the walk just skips it.
  const members = ctx.serving.map((w) => w.descriptor.workerId);
  const ringKey = members.join('\n');
  let hashRing = ctx.state.rings.get(ringKey);
  if (!hashRing) {
    if (ctx.state.rings.size > 64) ctx.state.rings.clear();
    hashRing = new HashRing(members);
    ctx.state.rings.set(ringKey, hashRing);
  }
  const position = new Map(candidates.map((w, i) => [w.descriptor.workerId, i]));
  const scores: Array<number | undefined> = new Array(candidates.length);
  let rank = 0;
  let first: number | undefined;
  for (const id of hashRing.walk(keyHash)) {
    const i = position.get(id);
    if (i === undefined) continue;
    scores[i] = rank++;
    first ??= i;
    if (fits(candidates[i] as WorkerEntry)) return { winner: candidates[i] as WorkerEntry, scores };
  }
  return first === undefined ? undefined : { winner: candidates[first] as WorkerEntry, scores };
}

/** The most in-flight requests a worker may hold, this one included, under the bound. */
export function affinityBound(candidates: readonly WorkerEntry[], loadBound: number): number {
  const total = candidates.reduce((sum, w) => sum + effectiveInFlight(w), 0) + 1;
  return Math.ceil((loadBound * total) / candidates.length);
}

export const sessionAffinity: RoutingMethodFn = (candidates, ctx): Pick | undefined => {
  if (candidates.length === 0) return undefined;
  const keyHash = hash53(ctx.request.key ?? ctx.request.requestId);
  const bound = affinityBound(candidates, ctx.options.loadBound ?? defaultLoadBound);
  const fits = (w: WorkerEntry): boolean => effectiveInFlight(w) + 1 <= bound;
  return ctx.options.hashing === 'consistent' ? ring(candidates, keyHash, fits, ctx) : rendezvous(candidates, keyHash, fits);
};
