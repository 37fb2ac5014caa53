/**
 * How much of the prompt each candidate is expected to hold in its engine's prefix cache, from the
 * best index there is for it: the engine's own KV events where its worker sends them in the block
 * size the prompt was named in (kv-block-index.ts), else where this router and its peers sent
 * requests (prefix-index.ts).
 *
 * Where a worker has events, the share is the larger of the two. The events name only blocks the
 * engine has computed, so for a prefill's length after a dispatch they say nothing of a prompt
 * already on its way there; Dynamo's router counts such blocks as active for the same reason. Without
 * this, a burst of requests sharing a cold prefix is spread by load alone over every engine, and each
 * computes it (measured: bench:routing's saturation run, 33 % prefix hits on events alone, 90 % with
 * the dispatches; docs/routing.md).
 */
import type { FleetColumns } from '../fleet-columns.js';
import type { KvBlockIndex } from '../kv-block-index.js';
import type { MethodContext, PrefixIndexKind } from '../routing-request.js';
import type { WorkerEntry } from '../worker-table.js';

export interface Overlap {
  /** Per candidate, the share of the prompt held (0..1); scratch, valid until the next decision. */
  shares: Float64Array;
  index: PrefixIndexKind;
}

/** The shares, reused by every decision (decide() reads them before the next). */
let scratch = new Float64Array(1024);

export function overlaps(candidates: readonly WorkerEntry[], ctx: MethodContext): Overlap {
  const { request, state, fleet, slots, candidateAt } = ctx;
  const n = candidates.length;
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, 2 * scratch.length));
  const shares = scratch.subarray(0, n);
  shares.fill(0);
  const kv = state.kv.get(request.functionId, request.model);
  const tokenBlocks = request.tokenBlocks ?? [];
  const usable = kv !== undefined && tokenBlocks.length > 0 && request.blockSize === kv.blockSize;
  let exact = 0;
  if (usable) {
    const events = withEvents(fleet, kv);
    const matched = kv.walk(tokenBlocks, fleet.workerIds, candidateAt, n, (k) => events[slots[k] as number] === 1);
    // Of the whole prompt: a trailing partial block is never cached.
    const blockSize = request.blockSize as number;
    const promptTokens = Math.max(request.promptTokens ?? 0, tokenBlocks.length * blockSize);
    for (let k = 0; k < n; k++) {
      if (events[slots[k] as number] === 1) {
        shares[k] = ((matched[k] as number) * blockSize) / promptTokens;
        exact++;
      }
    }
  }
  const blocks = request.blocks ?? [];
  if (blocks.length > 0) {
    // Every candidate: the exact ones take the larger share (above).
    const matched = state.prefixes.walk(blocks, fleet.workerIds, candidateAt, n);
    const count = blocks.length;
    for (let k = 0; k < n; k++) shares[k] = Math.max(shares[k] as number, (matched[k] as number) / count);
  }
  return { shares, index: exact > 0 ? 'kv-events' : 'approximate' };
}

/** Per fleet slot, whether the worker's events are usable (KvBlockIndex.hasEvents), kept until the fleet or the index's membership changes. */
const eventsSeen = new WeakMap<FleetColumns, { kv: KvBlockIndex; membership: number; events: Uint8Array }>();

function withEvents(fleet: FleetColumns, kv: KvBlockIndex): Uint8Array {
  const seen = eventsSeen.get(fleet);
  if (seen && seen.kv === kv && seen.membership === kv.membership) return seen.events;
  const events = new Uint8Array(fleet.length);
  for (let slot = 0; slot < fleet.length; slot++) events[slot] = kv.hasEvents(fleet.workerIds[slot] as string) ? 1 : 0;
  eventsSeen.set(fleet, { kv, membership: kv.membership, events });
  return events;
}
