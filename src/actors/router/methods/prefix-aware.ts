/**
 * prefix-aware: send a prompt where its prefix is probably still in the engine's cache, unless that
 * worker is too loaded. In the spirit of SGLang's cache-aware policy and Dynamo's KV cost:
 *
 *   cost = uncached share of the prompt + loadWeight × load
 *
 * where the uncached share is 1 − (leading blocks the worker holds ÷ the prompt's blocks), from its
 * engine's KV events where it sends them, else the router's approximate prefix index (overlap.ts), and load is in-flight ÷ capacity (prefix-aware) or what the engine reports
 * (kv-aware). With the default loadWeight of 2, a worker holding the whole prefix keeps winning
 * until its load exceeds the least-loaded worker's by half its capacity. The lowest cost wins; ties
 * at random. A prompt shorter than one block is routed on load alone.
 */
import type { MethodContext, Pick } from '../routing-request.js';
import type { WorkerEntry } from '../worker-table.js';
import { lowestScore } from './min-score.js';
import { overlaps } from './overlap.js';

export const defaultLoadWeight = 2;

/** `load(w, k)`: the k-th candidate's load (it may read the fleet's columns at `ctx.slots[k]` rather than `w`). */
export function prefixCost(candidates: readonly WorkerEntry[], ctx: MethodContext, load: (w: WorkerEntry, k: number) => number): Pick | undefined {
  const { shares, index } = overlaps(candidates, ctx);
  const weight = ctx.options.loadWeight ?? defaultLoadWeight;
  const pick = lowestScore(candidates, (w, i) => 1 - (shares[i] as number) + weight * load(w, i), ctx.state.random);
  return pick ? { ...pick, cached: shares, index } : undefined;
}

export const prefixAware = (candidates: readonly WorkerEntry[], ctx: MethodContext): Pick | undefined => {
  const { reportedInFlight, dispatched, capacity } = ctx.fleet;
  // utilization(), from the columns.
  return prefixCost(candidates, ctx, (_, k) => {
    const slot = ctx.slots[k] as number;
    return ((reportedInFlight[slot] as number) + (dispatched[slot] as number)) / (capacity[slot] as number);
  });
};
