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
import type { WorkerEntry } from '../worker-table.js';
import { HashRing } from './hash-ring.js';
import { scratchScores } from './min-score.js';

export const defaultLoadBound = 1.25;

/** murmur3's 32-bit finalizer: mixes a key hash with a worker hash into a rendezvous weight. */
function mix32(x: number): number {
  let h = x;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Rendezvous: every candidate gets a pseudo-random weight for the key (its id's hash, kept in the
 * fleet's columns, mixed with the key's); the heaviest that fits the bound wins (the heaviest overall
 * when none fits). One pass, no sort. Scores: 1 − weight ÷ 2³² (lower is preferred).
 */
function rendezvous(candidates: readonly WorkerEntry[], keyHash: number, fits: (k: number) => boolean, { fleet, slots }: MethodContext): Pick | undefined {
  const k0 = mix32(keyHash % 4294967296);
  const n = candidates.length;
  const scores = scratchScores(n);
  let best = -1;
  let bestWeight = -1;
  let bestFit = -1;
  let bestFitWeight = -1;
  const { idHash } = fleet;
  for (let i = 0; i < n; i++) {
    const weight = mix32(k0 ^ (idHash[slots[i] as number] as number));
    scores[i] = 1 - weight / 4294967296;
    // Ties (2^-32 likely) go to the lower worker id: candidates come in id order and only a strictly heavier weight wins.
    if (weight > bestWeight) {
      best = i;
      bestWeight = weight;
    }
    if (weight > bestFitWeight && fits(i)) {
      bestFit = i;
      bestFitWeight = weight;
    }
  }
  const winner = candidates[bestFit >= 0 ? bestFit : best];
  return winner ? { winner, scores } : undefined;
}

/**
 * Consistent hashing: walk the ring from the key and take the first candidate that fits the bound
 * (the first candidate when none does). Scores: the order of the walk (0 = the key's owner).
 */
function ring(candidates: readonly WorkerEntry[], keyHash: number, fits: (k: number) => boolean, ctx: MethodContext): Pick | undefined {
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
  const scores: Array<number | undefined> = new Array(candidates.length);
  let rank = 0;
  let first: number | undefined;
  for (const id of hashRing.walk(keyHash)) {
    const slot = ctx.fleet.slotOf.get(id);
    const i = slot === undefined ? -1 : (ctx.candidateAt[slot] as number);
    if (i < 0) continue;
    scores[i] = rank++;
    first ??= i;
    if (fits(i)) return { winner: candidates[i] as WorkerEntry, scores };
  }
  return first === undefined ? undefined : { winner: candidates[first] as WorkerEntry, scores };
}

export const sessionAffinity: RoutingMethodFn = (candidates, ctx): Pick | undefined => {
  const n = candidates.length;
  if (n === 0) return undefined;
  const { fleet, slots } = ctx;
  const inFlight = (k: number): number => fleet.load[slots[k] as number] as number;
  const keyHash = hash53(ctx.request.key ?? ctx.request.requestId);
  // The most in-flight requests a worker may hold, this one included, under the bound.
  let total = 0;
  for (let k = 0; k < n; k++) total += inFlight(k);
  const bound = Math.ceil(((ctx.options.loadBound ?? defaultLoadBound) * (total + 1)) / n);
  const fits = (k: number): boolean => inFlight(k) + 1 <= bound;
  return ctx.options.hashing === 'consistent' ? ring(candidates, keyHash, fits, ctx) : rendezvous(candidates, keyHash, fits, ctx);
};
