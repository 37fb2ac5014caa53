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
 * Scores record each candidate's rank for the key (0 = first choice).
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

/** Candidates' indices, best first for this key. */
function rendezvousOrder(candidates: readonly WorkerEntry[], keyHash: number): number[] {
  const k = mix32(keyHash % 4294967296);
  const weights = candidates.map((w) => mix32(k ^ workerHash(w.descriptor.workerId)));
  // Sorting is stable and candidates come in worker-id order, so a (2^-32 likely) tie is still deterministic.
  return candidates.map((_, i) => i).sort((a, b) => (weights[b] as number) - (weights[a] as number));
}

function ringOrder(candidates: readonly WorkerEntry[], keyHash: number, ctx: MethodContext): number[] {
  // The ring spans every worker serving the model, so a worker turning ineligible for a moment
  // does not rebuild it: the walk just skips it.
  const members = ctx.serving.map((w) => w.descriptor.workerId);
  const ringKey = members.join('\n');
  let ring = ctx.state.rings.get(ringKey);
  if (!ring) {
    if (ctx.state.rings.size > 64) ctx.state.rings.clear();
    ring = new HashRing(members);
    ctx.state.rings.set(ringKey, ring);
  }
  const position = new Map(candidates.map((w, i) => [w.descriptor.workerId, i]));
  const order: number[] = [];
  for (const id of ring.walk(keyHash)) {
    const i = position.get(id);
    if (i !== undefined) order.push(i);
    if (order.length === candidates.length) break;
  }
  return order;
}

/** The most in-flight requests a worker may hold, this one included, under the bound. */
export function affinityBound(candidates: readonly WorkerEntry[], loadBound: number): number {
  const total = candidates.reduce((sum, w) => sum + effectiveInFlight(w), 0) + 1;
  return Math.ceil((loadBound * total) / candidates.length);
}

export const sessionAffinity: RoutingMethodFn = (candidates, ctx): Pick | undefined => {
  if (candidates.length === 0) return undefined;
  const keyHash = hash53(ctx.request.key ?? ctx.request.requestId);
  const order = ctx.options.hashing === 'consistent' ? ringOrder(candidates, keyHash, ctx) : rendezvousOrder(candidates, keyHash);
  const bound = affinityBound(candidates, ctx.options.loadBound ?? defaultLoadBound);
  const scores: Array<number | undefined> = candidates.map(() => undefined);
  order.forEach((i, rank) => void (scores[i] = rank));
  const first = order.find((i) => effectiveInFlight(candidates[i] as WorkerEntry) + 1 <= bound) ?? order[0];
  return first === undefined ? undefined : { winner: candidates[first] as WorkerEntry, scores };
};
