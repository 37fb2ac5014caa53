/**
 * The exact index of which KV blocks each engine of one model holds, kept from the engines' own
 * events (protocol/kv-events.ts) rather than guessed from where requests were sent (prefix-index.ts).
 *
 * Blocks are named the router's way: a stored block's token ids, chained on its parent's name
 * (token-blocks.ts), so the gateway can name a prompt's blocks the same way from its token ids. The
 * engine's own hashes are kept per worker only to map its removals and its children's parents.
 *
 * Every router of a cluster hears every worker's events (no queue group) and applies them by the
 * same rules, so active-active routers hold the same index:
 * - batches are applied in `seq` order per worker; a batch at or below the last applied `seq` is a
 *   duplicate or stale and ignored, except `seq` 0 after others, which is the relay restarting: the
 *   worker's blocks are forgotten and the batch applied;
 * - a gap (`seq` beyond the next) means batches were lost: the worker's blocks are forgotten, then
 *   the batch is applied, so the index never claims a block the engine may have dropped;
 * - a stored block whose parent the index does not know (stored before this router heard the
 *   worker, or forgotten) cannot be named and is left out, and so are its children;
 * - a batch whose block size differs from the model's (configured, else the first seen) marks the
 *   worker as having no usable events: it is routed on the approximate index until it leaves.
 */
import type { KvEventBatch } from '../../protocol/kv-events.js';
import { BlockHolders } from './block-holders.js';
import { tokenBlockHash } from './token-blocks.js';

/** What applying a batch did. */
export type ApplyOutcome = 'applied' | 'duplicate' | 'gap' | 'restart' | 'block-size-mismatch' | 'overflow';

interface WorkerBlocks {
  lastSeq: number;
  /** The engine's block hash → the router's name for the block. */
  byEngineHash: Map<string, number>;
  /** The router's name → how many engine blocks carry it (two engine blocks may hold the same tokens). */
  names: Map<number, number>;
}

export const defaultMaxBlocksPerWorker = 262_144;

export class KvBlockIndex {
  /** The router's block name → workers holding it. */
  readonly #holders = new BlockHolders();
  readonly #workers = new Map<string, WorkerBlocks>();
  /** Workers whose events use another block size than the model's. */
  readonly #mismatched = new Set<string>();
  #blockSize: number | undefined;
  #membership = 0;

  /** `blockSize`: the model's configured block size; without it, the first batch's sets it. */
  constructor(blockSize?: number, readonly maxBlocksPerWorker = defaultMaxBlocksPerWorker) {
    this.#blockSize = blockSize;
  }

  get blockSize(): number | undefined {
    return this.#blockSize;
  }

  apply(batch: KvEventBatch): ApplyOutcome {
    const id = batch.workerId;
    this.#blockSize ??= batch.blockSize;
    if (batch.blockSize !== this.#blockSize) {
      this.forget(id);
      this.#mismatched.add(id);
      this.#membership++;
      return 'block-size-mismatch';
    }
    let mine = this.#workers.get(id);
    let outcome: ApplyOutcome = 'applied';
    if (mine) {
      if (batch.seq === 0 && mine.lastSeq > 0) outcome = 'restart';
      else if (batch.seq <= mine.lastSeq) return 'duplicate';
      else if (batch.seq > mine.lastSeq + 1) outcome = 'gap';
      if (outcome !== 'applied') {
        this.forget(id);
        mine = undefined;
      }
    }
    if (!mine) {
      mine = { lastSeq: batch.seq, byEngineHash: new Map(), names: new Map() };
      this.#workers.set(id, mine);
      this.#membership++;
    }
    mine.lastSeq = batch.seq;
    for (const event of batch.events) {
      switch (event.type) {
        case 'stored':
          this.#store(id, mine, event.blocks, event.parent, event.tokens);
          break;
        case 'removed':
          for (const block of event.blocks) this.#remove(id, mine, block);
          break;
        case 'cleared':
          this.#clear(id, mine);
          break;
      }
    }
    if (mine.byEngineHash.size > this.maxBlocksPerWorker) {
      // More than any engine holds: something is wrong with the feed; route this worker approximately until it starts over.
      this.forget(id);
      return 'overflow';
    }
    return outcome;
  }

  /** Forgets a worker's blocks and sequence (it left the table, or its feed broke). */
  forget(workerId: string): void {
    const mine = this.#workers.get(workerId);
    if (this.#mismatched.delete(workerId)) this.#membership++;
    if (!mine) return;
    this.#membership++;
    this.#clear(workerId, mine);
    this.#workers.delete(workerId);
    this.#holders.release(workerId);
  }

  /** Whether the worker's events can be matched against (it sent some, in the model's block size). */
  hasEvents(workerId: string): boolean {
    return this.#workers.has(workerId) && !this.#mismatched.has(workerId);
  }

  isMismatched(workerId: string): boolean {
    return this.#mismatched.has(workerId);
  }

  /** How many distinct blocks the worker holds. */
  blocksOf(workerId: string): number {
    return this.#workers.get(workerId)?.names.size ?? 0;
  }

  /** The worker's block names (for tests and the properties). */
  namesOf(workerId: string): number[] {
    return [...(this.#workers.get(workerId)?.names.keys() ?? [])];
  }

  workers(): string[] {
    return [...this.#workers.keys()];
  }

  /** For each worker id: how many leading blocks of the prompt (its chained block names) it holds (0 for one without events). */
  matches(blocks: readonly number[], workerIds: readonly string[]): number[] {
    return this.#holders.leading(blocks, workerIds, (id) => this.hasEvents(id));
  }

  /**
   * The same for a decision's n candidates, `candidateAt[slot]` of the fleet's `fleetIds`, those
   * `include` leaves out (no usable events) counted 0 (BlockHolders.walk: scratch).
   */
  walk(blocks: readonly number[], fleetIds: readonly string[], candidateAt: Int32Array, n: number, include: (k: number) => boolean): Int32Array {
    return this.#holders.walk(blocks, fleetIds, candidateAt, n, include);
  }

  /** Changes whenever a worker gains or loses usable events, so a view of hasEvents can be kept until it does. */
  get membership(): number {
    return this.#membership;
  }

  #store(id: string, mine: WorkerBlocks, blocks: readonly string[], parent: string | undefined, tokens: readonly number[]): void {
    const size = this.#blockSize as number;
    let chain: number | undefined = parent === undefined ? 0 : mine.byEngineHash.get(parent);
    if (chain === undefined) return;
    if (tokens.length < blocks.length * size) return;
    blocks.forEach((block, k) => {
      chain = tokenBlockHash(chain as number, tokens, k * size, (k + 1) * size);
      const before = mine.byEngineHash.get(block);
      if (before === chain) return;
      if (before !== undefined) this.#unname(id, mine, before);
      mine.byEngineHash.set(block, chain);
      const count = mine.names.get(chain) ?? 0;
      mine.names.set(chain, count + 1);
      if (count === 0) this.#holders.add(chain, id);
    });
  }

  #remove(id: string, mine: WorkerBlocks, block: string): void {
    const name = mine.byEngineHash.get(block);
    if (name === undefined) return;
    mine.byEngineHash.delete(block);
    this.#unname(id, mine, name);
  }

  #unname(id: string, mine: WorkerBlocks, name: number): void {
    const count = (mine.names.get(name) ?? 0) - 1;
    if (count > 0) {
      mine.names.set(name, count);
      return;
    }
    mine.names.delete(name);
    this.#holders.delete(name, id);
  }

  #clear(id: string, mine: WorkerBlocks): void {
    for (const name of mine.names.keys()) this.#holders.delete(name, id);
    mine.names.clear();
    mine.byEngineHash.clear();
  }
}
