/**
 * prefix-aware: send a prompt where its prefix is probably still in the engine's cache, unless that
 * worker is too loaded. In the spirit of SGLang's cache-aware policy and Dynamo's KV cost:
 *
 *   cost = uncached share of the prompt + loadWeight × load
 *
 * where the uncached share is 1 − (leading blocks the worker holds in the router's prefix index ÷
 * the prompt's blocks) and load is in-flight ÷ capacity (prefix-aware) or what the engine reports
 * (kv-aware). With the default loadWeight of 2, a worker holding the whole prefix keeps winning
 * until its load exceeds the least-loaded worker's by half its capacity. The lowest cost wins; ties
 * at random. A prompt shorter than one block is routed on load alone.
 */
import type { MethodContext, Pick } from '../routing-request.js';
import { utilization, type WorkerEntry } from '../worker-table.js';
import { lowestScore } from './min-score.js';

export const defaultLoadWeight = 2;

/** The share of the prompt each candidate is likely to have cached (0..1). */
export function cachedShares(candidates: readonly WorkerEntry[], ctx: MethodContext): number[] {
  const blocks = ctx.request.blocks ?? [];
  if (blocks.length === 0) return candidates.map(() => 0);
  return ctx.state.prefixes.matches(blocks, candidates.map((w) => w.descriptor.workerId)).map((m) => m / blocks.length);
}

export function prefixCost(candidates: readonly WorkerEntry[], ctx: MethodContext, load: (w: WorkerEntry) => number): Pick | undefined {
  const cached = cachedShares(candidates, ctx);
  const weight = ctx.options.loadWeight ?? defaultLoadWeight;
  return lowestScore(candidates, (w, i) => 1 - (cached[i] as number) + weight * load(w), ctx.state.random);
}

export const prefixAware = (candidates: readonly WorkerEntry[], ctx: MethodContext): Pick | undefined =>
  prefixCost(candidates, ctx, utilization);
