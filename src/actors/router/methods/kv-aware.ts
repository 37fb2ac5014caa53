/**
 * kv-aware: the prefix cost of prefix-aware.ts, with the engine's own queue added to the load: the
 * router's in-flight count ÷ capacity (its last report plus what was sent since, as prefix-aware),
 * plus the requests the engine reported waiting ÷ capacity, as llm-d's queue scorer reads them.
 *
 * It read the engine's KV cache usage instead of the in-flight count at first. That figure comes
 * with the heartbeat, once a second, while the in-flight count moves with every load event (each of
 * which also clears the "sent since" count), so between heartbeats every engine's load stood still
 * and requests herded onto the engine that had looked least loaded (bench:routing: up to 22/15/12/15
 * requests per engine on `rag`, 92/64/57/75 at saturation).
 */
import type { MethodContext, Pick } from '../routing-request.js';
import type { WorkerEntry } from '../worker-table.js';
import { prefixCost } from './prefix-aware.js';

// (in-flight as the router sees it + the engine's waiting) ÷ capacity, from the columns.
export const kvAware = (candidates: readonly WorkerEntry[], ctx: MethodContext): Pick | undefined => prefixCost(candidates, ctx, ctx.fleet.engineWaiting);
