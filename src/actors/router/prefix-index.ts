/**
 * An approximate prefix tree of what each worker has recently served, kept as chained block hashes
 * (hash.ts): a block hash stands for the whole prefix up to it, so "worker W holds block i" means W
 * has seen the prompt's first i+1 blocks. Each worker keeps at most `blocksPerWorker` blocks, least
 * recently used first out, about what an engine's prefix cache holds; the index is only a guess at
 * the engines' caches (SGLang's gateway keeps a similar approximate tree).
 */
import { BlockHolders } from './block-holders.js';

export class PrefixIndex {
  /** block hash → workers holding it. */
  readonly #holders = new BlockHolders();
  /** worker → its blocks, oldest first (a Map keeps insertion order: re-inserting refreshes). */
  readonly #byWorker = new Map<string, Map<number, true>>();

  constructor(readonly blocksPerWorker = 32_768) {}

  /** Records that `workerId` served a prompt with these blocks. */
  insert(workerId: string, blocks: readonly number[]): void {
    let mine = this.#byWorker.get(workerId);
    if (!mine) {
      mine = new Map();
      this.#byWorker.set(workerId, mine);
    }
    for (const block of blocks) {
      mine.delete(block);
      mine.set(block, true);
      this.#holders.add(block, workerId);
    }
    while (mine.size > this.blocksPerWorker) {
      const oldest = mine.keys().next().value as number;
      mine.delete(oldest);
      this.#holders.delete(oldest, workerId);
    }
  }

  /** Forgets a worker (it left the table). */
  remove(workerId: string): void {
    const mine = this.#byWorker.get(workerId);
    if (!mine) return;
    for (const block of mine.keys()) this.#holders.delete(block, workerId);
    this.#byWorker.delete(workerId);
    this.#holders.release(workerId);
  }

  /** For each worker id: how many leading blocks of the prompt it holds (0 when none). */
  matches(blocks: readonly number[], workerIds: readonly string[]): number[] {
    return this.#holders.leading(blocks, workerIds);
  }

  /** The same for a decision's n candidates, `candidateAt[slot]` of the fleet's `fleetIds` (BlockHolders.walk: scratch). */
  walk(blocks: readonly number[], fleetIds: readonly string[], candidateAt: Int32Array, n: number): Int32Array {
    return this.#holders.walk(blocks, fleetIds, candidateAt, n);
  }

  blocksOf(workerId: string): number {
    return this.#byWorker.get(workerId)?.size ?? 0;
  }
}
