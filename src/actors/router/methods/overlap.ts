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
import type { MethodContext, PrefixIndexKind } from '../routing-request.js';
import type { WorkerEntry } from '../worker-table.js';

export interface Overlap {
  /** Per candidate, the share of the prompt held (0..1). */
  shares: number[];
  index: PrefixIndexKind;
}

export function overlaps(candidates: readonly WorkerEntry[], ctx: MethodContext): Overlap {
  const { request, state } = ctx;
  const ids = candidates.map((w) => w.descriptor.workerId);
  const shares = new Array<number>(candidates.length).fill(0);
  const kv = state.kv.get(request.functionId, request.model);
  const tokenBlocks = request.tokenBlocks ?? [];
  const usable = kv !== undefined && tokenBlocks.length > 0 && request.blockSize === kv.blockSize;
  let exact = 0;
  if (usable) {
    const matched = kv.matches(tokenBlocks, ids);
    // Of the whole prompt: a trailing partial block is never cached.
    const promptTokens = Math.max(request.promptTokens ?? 0, tokenBlocks.length * (request.blockSize as number));
    ids.forEach((id, i) => {
      if (kv.hasEvents(id)) {
        shares[i] = ((matched[i] as number) * (request.blockSize as number)) / promptTokens;
        exact++;
      }
    });
  }
  const blocks = request.blocks ?? [];
  if (blocks.length > 0) {
    // Every candidate: the exact ones take the larger share (above).
    const matched = state.prefixes.matches(blocks, ids);
    ids.forEach((_, i) => {
      shares[i] = Math.max(shares[i] as number, (matched[i] as number) / blocks.length);
    });
  }
  return { shares, index: exact > 0 ? 'kv-events' : 'approximate' };
}
