/**
 * cost-model: Dynamo's KV router cost, in blocks of the model's KV block size:
 *
 *   logit = overlapWeight × prompt blocks left to prefill after the cached prefix
 *         + active decode blocks
 *         + pendingPrefillWeight × prefill blocks queued ahead on the worker
 *
 * The cached prefix comes from the engine's KV events where its worker relays them, else from the
 * approximate prefix index (overlap.ts). Active blocks are estimated as the worker's in-flight
 * requests (its last report plus what was sent since) × the moving mean of the blocks a request
 * brings to the engine it is sent to: its prompt blocks that engine did not hold, plus its
 * completion budget. The router sees no sequence finish, so it cannot count blocks one by one as
 * Dynamo's does; and counting each request's whole prompt, as this did first, counted a shared
 * prefix once per request although the engine holds it once, so one request in flight outweighed a
 * whole cached prompt and shared prefixes were spread over every engine (docs/routing.md, the lab).
 *
 * The queued prefill is the prompt tokens still to be prefilled on the worker's engine: what its
 * last load report said its requests without output still wait for (the worker reports again at
 * each first output and each finish), plus what the routers sent it since, each less what its
 * router expected the engine to hold. A new prompt there waits behind that prefill or shares the
 * engine's step budget with it. Dynamo's router counts the same blocks as active prefill until the
 * first token. Without it, requests that finish together on one engine were replaced there
 * together, and their prefills collided again (the lab's `rag` shape: round-robin's even spread of
 * arrivals beat every load-based method).
 *
 * Lower is better. With `temperature` 0 (the default) the lowest logit wins, ties drawn at random
 * as least-busy's are (ties to the first candidate sent every request of an idle fleet with no
 * shared prefix to one worker, the lowest id, however many were free). Above 0, a worker is drawn
 * with probability ∝ exp(−(logit − min) ÷ (max − min) ÷ temperature), so a higher temperature
 * spreads load more evenly.
 */
import type { RoutingMethodFn } from '../routing-request.js';
import type { WorkerEntry } from '../worker-table.js';
import { nthEqual, scratchScores } from './min-score.js';
import { overlaps } from './overlap.js';

/**
 * The weights of the prompt blocks to prefill (3, against 1 for the active decode blocks) and of the
 * prefill queued ahead (2), chosen in the routing lab over every shape (docs/routing.md,
 * "2026-12-03, afternoon"): the decode blocks count a request in flight by everything it brought,
 * its prefill long done included, so with both prefill terms at 1 the load outweighed them.
 */
export const defaultOverlapWeight = 3;
export const defaultPendingPrefillWeight = 2;
/** vLLM's default block size, when neither the model nor the request names one. */
export const defaultKvBlockSize = 16;
/** The weight of each new request in the mean of blocks a request brings. */
const meanWeight = 0.05;

export const costModel: RoutingMethodFn = (candidates, ctx) => {
  const n = candidates.length;
  if (n === 0) return undefined;
  const { request, options, state, fleet, slots } = ctx;
  const blockSize = request.blockSize ?? defaultKvBlockSize;
  const promptBlocks = Math.ceil((request.promptTokens ?? request.tokens) / blockSize);
  const requestBlocks = Math.ceil(request.tokens / blockSize);
  const key = `${request.functionId}/${request.model}`;
  // Before any request: this one's blocks, none cached.
  const mean = state.requestBlocks.get(key) ?? requestBlocks;
  const { shares, index } = overlaps(candidates, ctx);
  const weight = options.overlapWeight ?? defaultOverlapWeight;
  const logits = scratchScores(n);
  let best = 0;
  let tied = 0;
  let min = Infinity;
  let max = -Infinity;
  const { load, pendingPrefill } = fleet;
  const prefill = weight * promptBlocks;
  const queued = (options.pendingPrefillWeight ?? defaultPendingPrefillWeight) / blockSize;
  for (let i = 0; i < n; i++) {
    // effectiveInFlight(), from the columns.
    const slot = slots[i] as number;
    const logit = prefill * (1 - (shares[i] as number)) + (load[slot] as number) * mean + queued * (pendingPrefill[slot] as number);
    logits[i] = logit;
    if (logit < min) {
      min = logit;
      best = i;
      tied = 1;
    } else if (logit === min) tied++;
    if (logit > max) max = logit;
  }
  const temperature = options.temperature ?? 0;
  if (temperature > 0) best = sample(logits, min, max - min, temperature, state.random());
  else if (tied > 1) best = nthEqual(logits, min, Math.floor(state.random() * tied));
  const brought = requestBlocks - promptBlocks * (shares[best] as number);
  state.requestBlocks.set(key, mean + meanWeight * (brought - mean));
  return { winner: candidates[best] as WorkerEntry, scores: logits, cached: shares, index };
};

/** A softmax draw over −normalised logits; all equal → uniform. */
function sample(logits: Float64Array, min: number, range: number, temperature: number, u: number): number {
  const weights = logits.map((l) => Math.exp(-(range > 0 ? (l - min) / range : 0) / temperature));
  let point = u * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) {
    point -= weights[i] as number;
    if (point < 0) return i;
  }
  return weights.length - 1;
}
