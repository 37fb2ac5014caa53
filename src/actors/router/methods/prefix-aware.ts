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
import { lowestOf, scratchScores } from './min-score.js';
import { overlaps } from './overlap.js';

export const defaultLoadWeight = 2;

/**
 * The cost above for every candidate, its load (in-flight as the router sees it, plus `waiting` where
 * given: a column of the fleet) ÷ capacity, from the fleet's columns.
 */
export function prefixCost(candidates: readonly WorkerEntry[], ctx: MethodContext, waiting?: Float64Array): Pick | undefined {
  const { shares, index } = overlaps(candidates, ctx);
  const weight = ctx.options.loadWeight ?? defaultLoadWeight;
  const { load, capacity } = ctx.fleet;
  const { slots } = ctx;
  const n = candidates.length;
  const scores = scratchScores(n);
  for (let k = 0; k < n; k++) {
    const slot = slots[k] as number;
    const inFlight = (load[slot] as number) + (waiting ? (waiting[slot] as number) : 0);
    scores[k] = 1 - (shares[k] as number) + weight * (inFlight / (capacity[slot] as number));
  }
  const pick = lowestOf(candidates, scores, ctx.state.random);
  return pick ? { winner: pick.winner, scores: pick.scores, cached: shares, index } : undefined;
}

/** utilization(), from the columns. */
export const prefixAware = (candidates: readonly WorkerEntry[], ctx: MethodContext): Pick | undefined => prefixCost(candidates, ctx);
