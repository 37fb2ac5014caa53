/**
 * Chained hashes of token-id blocks, the router's own way (as Dynamo's router hashes an engine's
 * blocks locally rather than trusting the engine's hash): block i's hash covers its `blockSize`
 * token ids and, through the seed, every block before it, so two prompts share block i's hash only
 * when their first i+1 blocks of tokens are equal. The gateway hashes the prompt's token ids with
 * this; the KV block index (kv-block-index.ts) hashes the token ids of the blocks an engine reports
 * stored. A trailing partial block is left out, as engines cache only full blocks.
 *
 * Two 32-bit multiply-xorshift lanes over the ids, joined into 53 bits (as hash.ts does for text).
 */

/** The hash of `ids[from, to)` chained on `previous` (0 for a prompt's first block). */
export function tokenBlockHash(previous: number, ids: readonly number[], from: number, to: number): number {
  let h1 = 0xdeadbeef ^ (previous % 4294967296);
  let h2 = 0x41c6ce57 ^ Math.floor(previous / 4294967296);
  for (let i = from; i < to; i++) {
    const id = (ids[i] as number) | 0;
    h1 = Math.imul(h1 ^ id, 2654435761);
    h2 = Math.imul(h2 ^ id, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Chained hashes of the full blocks of a prompt's token ids, at most `maxBlocks`. */
export function tokenBlocks(ids: readonly number[], blockSize: number, maxBlocks = Infinity, previous = 0): number[] {
  const out: number[] = [];
  let chain = previous;
  for (let start = 0; start + blockSize <= ids.length && out.length < maxBlocks; start += blockSize) {
    chain = tokenBlockHash(chain, ids, start, start + blockSize);
    out.push(chain);
  }
  return out;
}
