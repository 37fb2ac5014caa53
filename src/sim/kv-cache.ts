/**
 * The simulated engine's KV cache, after vLLM's block pool: `capacity` blocks of `blockSize`
 * tokens, shared by the running sequences and the prefix cache. A sequence holds references to its
 * blocks; a full block is hashed (block-hash.ts) and kept in the prefix cache, so a later prompt with
 * the same leading tokens reuses it instead of computing it again. A block nobody references stays
 * cached until a new block is needed and there is no empty one: then the least recently released
 * cached block is evicted. Stores and evictions are queued as vLLM's KV events (BlockStored,
 * BlockRemoved, AllBlocksCleared) until the engine step ends and `drainEvents` takes them.
 */
import type { VllmEvent } from '../kv-events/vllm-events.js';
import { type BlockHash, hashBlock } from './block-hash.js';

export interface KvBlock {
  refs: number;
  /** Set once the block is full and cached. */
  hash?: BlockHash;
}

export class KvCache {
  /** Blocks holding nothing. */
  #empty: number;
  /** Cached blocks by external hash. */
  readonly #cached = new Map<bigint, KvBlock>();
  /** Cached blocks with no reference, least recently released first: the eviction order. */
  readonly #evictable = new Map<bigint, KvBlock>();
  #events: VllmEvent[] = [];

  constructor(readonly capacity: number, readonly blockSize: number, readonly emitEvents = false) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`KV capacity must be a positive number of blocks, got ${capacity}`);
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`block size must be a positive integer, got ${blockSize}`);
    this.#empty = capacity;
  }

  /** Blocks a new sequence could take now: the empty ones and the evictable cached ones. */
  get free(): number {
    return this.#empty + this.#evictable.size;
  }

  /** vLLM's `kv_cache_usage_perc`: the share of blocks referenced by a sequence (cached idle blocks count as free). */
  get usage(): number {
    return 1 - this.free / this.capacity;
  }

  get cachedBlocks(): number {
    return this.#cached.size;
  }

  /** The external hashes of every cached block: what an index built from the events must hold. */
  cachedHashes(): Set<bigint> {
    return new Set(this.#cached.keys());
  }

  /** The chained hashes of `tokens`' full blocks, continuing from `known` (the ones already computed). */
  hashes(tokens: readonly number[], known: BlockHash[]): BlockHash[] {
    const full = Math.floor(tokens.length / this.blockSize);
    for (let b = known.length; b < full; b++) known.push(hashBlock(known[b - 1], tokens.slice(b * this.blockSize, (b + 1) * this.blockSize)));
    return known;
  }

  /** How many of `hashes`, from the first, are cached. */
  hits(hashes: readonly BlockHash[]): number {
    let n = 0;
    while (n < hashes.length && this.#cached.has((hashes[n] as BlockHash).external)) n++;
    return n;
  }

  /** How many of the first `n` of `hashes` are cached but idle: reusing them takes them out of `free`. */
  idleAmong(hashes: readonly BlockHash[], n: number): number {
    let idle = 0;
    for (let i = 0; i < n; i++) if (this.#evictable.has((hashes[i] as BlockHash).external)) idle++;
    return idle;
  }

  /** Takes a reference to the cached block of `hash` (hits() said it is there). */
  reuse(hash: BlockHash): KvBlock {
    const block = this.#cached.get(hash.external);
    if (!block) throw new Error('reuse of a block that is not cached');
    if (block.refs === 0) this.#evictable.delete(hash.external);
    block.refs++;
    return block;
  }

  /** A new block for a sequence, evicting the least recently used idle cached block if it must; undefined when none is free. */
  allocate(): KvBlock | undefined {
    if (this.#empty > 0) {
      this.#empty--;
      return { refs: 1 };
    }
    const oldest = this.#evictable.entries().next();
    if (oldest.done) return undefined;
    const [external, block] = oldest.value;
    this.#evictable.delete(external);
    this.#cached.delete(external);
    this.#event({ type: 'BlockRemoved', blockHashes: [external] });
    block.hash = undefined;
    block.refs = 1;
    return block;
  }

  /**
   * Caches a sequence's newly full blocks (`blocks[from…]`, whose hashes are `hashes[from…]`), as
   * one BlockStored event with their tokens. A block whose hash another sequence cached meanwhile
   * stays private (and uncached), as a duplicate.
   */
  store(blocks: readonly KvBlock[], hashes: readonly BlockHash[], tokens: readonly number[], from: number, to: number): void {
    const stored: bigint[] = [];
    let first = -1;
    for (let b = from; b < to; b++) {
      const block = blocks[b] as KvBlock;
      const hash = hashes[b] as BlockHash;
      if (block.hash || this.#cached.has(hash.external)) continue;
      block.hash = hash;
      this.#cached.set(hash.external, block);
      if (first < 0) first = b;
      else if (b !== first + stored.length) {
        this.#storedEvent(stored, first, hashes, tokens);
        stored.length = 0;
        first = b;
      }
      stored.push(hash.external);
    }
    if (stored.length > 0) this.#storedEvent(stored, first, hashes, tokens);
  }

  #storedEvent(stored: bigint[], first: number, hashes: readonly BlockHash[], tokens: readonly number[]): void {
    const bs = this.blockSize;
    this.#event({
      type: 'BlockStored',
      blockHashes: [...stored],
      parent: first > 0 ? (hashes[first - 1] as BlockHash).external : undefined,
      tokenIds: tokens.slice(first * bs, (first + stored.length) * bs),
      blockSize: bs,
    });
  }

  /** Drops a sequence's references, last block first so that a prompt's tail is evicted before its head (as vLLM frees). */
  release(blocks: readonly KvBlock[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const block = blocks[i] as KvBlock;
      if (--block.refs > 0) continue;
      if (block.hash) this.#evictable.set(block.hash.external, block);
      else this.#empty++;
    }
  }

  /** Forgets every cached block (vLLM's prefix cache reset): AllBlocksCleared. */
  clear(): void {
    // Blocks in use stay with their sequences, uncached: they return to the empty pool when released.
    for (const block of this.#cached.values()) block.hash = undefined;
    this.#empty += this.#evictable.size;
    this.#cached.clear();
    this.#evictable.clear();
    this.#event({ type: 'AllBlocksCleared' });
  }

  drainEvents(): VllmEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  #event(e: VllmEvent): void {
    if (this.emitEvents) this.#events.push(e);
  }
}
