/**
 * The simulator's prefix cache, after vLLM's automatic prefix caching: the prompt text is cut into
 * blocks of `blockChars` characters, each full block named by a chained hash (it covers every block
 * before it, so a block hits only when its whole prefix matches), and a prompt hits on its leading
 * cached blocks up to the first miss. Blocks are kept least recently used first out, up to
 * `capacityBlocks`; a trailing partial block is never cached, as engines cache only full blocks.
 * Text stands in for tokens: 64 characters is about vLLM's 16-token block of English.
 */

export interface CacheLookup {
  blocks: number;
  hitBlocks: number;
  /** The share of the prompt's text that was cached (0..1). */
  cachedShare: number;
}

const TWO_32 = 2 ** 32;

/**
 * A block's chained hash: two 32-bit FNV-1a-style lanes (different bases and primes, so they do not
 * collide together) run over the previous block's hash and then this block's text, joined into 53
 * bits, the most a JS number holds exactly. With one 32-bit lane a lookup in a full 4,096-block cache
 * would falsely hit about once per million blocks, enough to skew a long benchmark; with 53 bits,
 * never in practice. Not cryptographic: no one attacks a simulator.
 */
function chainHash(previous: number, text: string): number {
  let a = 0x811c9dc5;
  let b = 0x2a9d8b3f;
  // The previous hash first, as two 32-bit words: this is the chaining.
  for (const word of [previous >>> 0, Math.floor(previous / TWO_32)]) {
    a = Math.imul(a ^ word, 0x01000193);
    b = Math.imul(b ^ word, 0x5bd1e995);
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 11) * TWO_32 + (b >>> 0); // 21 + 32 bits
}

export class PrefixCache {
  /** Insertion order is recency: a hit is deleted and re-set to move it to the back. */
  readonly #blocks = new Map<number, true>();

  constructor(readonly capacityBlocks: number, readonly blockChars = 64) {}

  /** Looks the prompt up, then caches its full blocks as most recently used. */
  admit(text: string): CacheLookup {
    const full = Math.floor(text.length / this.blockChars);
    const blocks = Math.ceil(text.length / this.blockChars);
    if (this.capacityBlocks <= 0 || full === 0) return { blocks, hitBlocks: 0, cachedShare: 0 };
    const hashes: number[] = [];
    let previous = 0;
    for (let b = 0; b < full; b++) {
      previous = chainHash(previous, text.slice(b * this.blockChars, (b + 1) * this.blockChars));
      hashes.push(previous);
    }
    let hitBlocks = 0;
    while (hitBlocks < hashes.length && this.#blocks.has(hashes[hitBlocks] as number)) hitBlocks++;
    for (const h of hashes) {
      this.#blocks.delete(h);
      this.#blocks.set(h, true);
    }
    while (this.#blocks.size > this.capacityBlocks) this.#blocks.delete(this.#blocks.keys().next().value as number);
    return { blocks, hitBlocks, cachedShare: Math.min(1, (hitBlocks * this.blockChars) / text.length) };
  }

  get size(): number {
    return this.#blocks.size;
  }
}
