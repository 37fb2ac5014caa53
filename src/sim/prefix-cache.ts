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

/** FNV-1a over the text, seeded with the previous block's hash: the chaining. 32 bits suffice for a simulator. */
function chainHash(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class PrefixCache {
  /** Insertion order is recency: a hit is deleted and re-set to move it to the back. */
  readonly #blocks = new Map<number, true>();

  constructor(readonly capacityBlocks: number, readonly blockChars = 64) {}

  /** Looks the prompt up, then caches its full blocks as most recently used. */
  admit(text: string): CacheLookup {
    const full = Math.floor(text.length / this.blockChars);
    const blocks = Math.ceil(text.length / this.blockChars);
    if (this.capacityBlocks === 0 || full === 0) return { blocks, hitBlocks: 0, cachedShare: 0 };
    const hashes: number[] = [];
    let previous = 0;
    for (let b = 0; b < full; b++) {
      previous = chainHash(text.slice(b * this.blockChars, (b + 1) * this.blockChars), previous);
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
