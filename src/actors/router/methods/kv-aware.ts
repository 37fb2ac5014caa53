/**
 * kv-aware: the prefix cost of prefix-aware.ts, with load read from the engine rather than counted
 * by the router: KV cache usage plus queue depth (waiting requests, and those sent since the last
 * report, per unit of capacity), as llm-d's KV-cache-utilization and queue scorers and Dynamo's KV
 * router do. A worker whose engine reports no KV usage falls back to in-flight ÷ capacity.
 */
import type { MethodContext, Pick } from '../routing-request.js';
import { utilization, type WorkerEntry } from '../worker-table.js';
import { prefixCost } from './prefix-aware.js';

export function engineLoad(w: WorkerEntry): number {
  const engine = w.load.engine;
  const kv = engine?.kvCacheUsage ?? utilization(w);
  return kv + ((engine?.waiting ?? 0) + w.dispatchedSinceReport) / w.descriptor.capacity;
}

export const kvAware = (candidates: readonly WorkerEntry[], ctx: MethodContext): Pick | undefined =>
  prefixCost(candidates, ctx, engineLoad);
