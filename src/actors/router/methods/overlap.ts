/**
 * How much of the prompt each candidate is expected to hold in its engine's prefix cache, from the
 * best index there is for it: the engine's own KV events where its worker sends them in the block
 * size the prompt was named in (kv-block-index.ts), else where this router and its peers sent
 * requests (prefix-index.ts).
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
  const approximate: number[] = [];
  if (usable) {
    const matched = kv.matches(tokenBlocks, ids);
    // Of the whole prompt: a trailing partial block is never cached.
    const promptTokens = Math.max(request.promptTokens ?? 0, tokenBlocks.length * (request.blockSize as number));
    ids.forEach((id, i) => {
      if (kv.hasEvents(id)) {
        shares[i] = ((matched[i] as number) * (request.blockSize as number)) / promptTokens;
        exact++;
      } else {
        approximate.push(i);
      }
    });
  } else {
    for (let i = 0; i < ids.length; i++) approximate.push(i);
  }
  const blocks = request.blocks ?? [];
  if (approximate.length > 0 && blocks.length > 0) {
    const matched = state.prefixes.matches(blocks, approximate.map((i) => ids[i] as string));
    approximate.forEach((i, k) => {
      shares[i] = (matched[k] as number) / blocks.length;
    });
  }
  return { shares, index: exact > 0 ? 'kv-events' : 'approximate' };
}
