/**
 * A fast, non-cryptographic 53-bit string hash (two 32-bit multiply-xorshift lanes, in the manner of
 * the public-domain cyrb53), for routing keys, hash rings and prefix blocks. 53 bits fit a JS number
 * exactly and make collisions among a few million blocks negligible; nothing here needs to resist an
 * adversary (a collision only costs a cache miss).
 */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Characters per prefix block: about 16 tokens of English text, vLLM's default block size. */
export const prefixBlockChars = 64;

/**
 * Chained hashes of the full `blockChars`-character blocks of a prompt: block i's hash covers every
 * block before it, so two prompts share block i's hash only when their first i+1 blocks are equal.
 * This is a prefix tree flattened into hashes (as vLLM and Dynamo hash KV blocks). A trailing partial
 * block is left out, as engines cache only full blocks.
 */
export function prefixBlocks(text: string, maxBlocks: number, blockChars = prefixBlockChars): number[] {
  const out: number[] = [];
  let previous = 0;
  for (let start = 0; start + blockChars <= text.length && out.length < maxBlocks; start += blockChars) {
    // Seeding with the previous block's hash chains the blocks (its low 32 bits suffice as a seed).
    previous = hash53(text.slice(start, start + blockChars), previous % 4294967296);
    out.push(previous);
  }
  return out;
}
