/**
 * Which workers hold each block, and how many leading blocks of a prompt each candidate holds: the
 * store under both prefix indexes (prefix-index.ts, kv-block-index.ts).
 *
 * Workers are numbered densely within the store (a number is reused once its worker is released).
 * A block held by one worker keeps that worker's number; a block held by more keeps a bitset over
 * the numbers. A prompt is walked block by block over a bitset of the candidates still matching:
 * one AND per 32 workers per block, where a set of worker ids per block cost a lookup per worker
 * per block (bench:routing-decision: 1,000 workers, 64 shared prompts of ~34 blocks each held by
 * ~47 engines, ~60 µs of a decision's ~110). props/prefix.test.ts holds the walk to the plain rule
 * (a worker holds k leading blocks when it holds each of them).
 */

/** Two or more holders: their numbers as bits, and how many. */
interface Shared {
  count: number;
  bits: Uint32Array;
}

type Holding = number | Shared;

/** Scratch reused by every walk (a walk never yields): the candidates still matching, and each number's candidate. */
let alive = new Uint32Array(32);
let candidateOf = new Int32Array(1024);
let matched = new Int32Array(1024);

const has = (holding: Shared, number: number): boolean => ((holding.bits[number >>> 5] ?? 0) & (1 << (number & 31))) !== 0;

export class BlockHolders {
  readonly #blocks = new Map<number, Holding>();
  readonly #numbers = new Map<string, number>();
  /** Numbers given so far (free ones included): every number is below it. */
  #numbered = 0;
  readonly #free: number[] = [];
  /** Blocks held per number. */
  #held = new Int32Array(64);
  #version = 0;
  /** Per array of worker ids (a fleet's), each number's slot in it, as of a version. */
  readonly #inFleet = new WeakMap<readonly string[], { version: number; length: number; slots: Int32Array }>();

  /** Distinct blocks held by anyone. */
  get size(): number {
    return this.#blocks.size;
  }

  add(block: number, workerId: string): void {
    const number = this.#numberOf(workerId);
    const holding = this.#blocks.get(block);
    if (holding === undefined) {
      this.#blocks.set(block, number);
    } else if (typeof holding === 'number') {
      if (holding === number) return;
      const shared: Shared = { count: 2, bits: new Uint32Array((Math.max(holding, number) >>> 5) + 1) };
      shared.bits[holding >>> 5] = (shared.bits[holding >>> 5] as number) | (1 << (holding & 31));
      shared.bits[number >>> 5] = (shared.bits[number >>> 5] as number) | (1 << (number & 31));
      this.#blocks.set(block, shared);
    } else {
      if (has(holding, number)) return;
      if (holding.bits.length <= number >>> 5) {
        const grown = new Uint32Array((number >>> 5) + 1);
        grown.set(holding.bits);
        holding.bits = grown;
      }
      holding.bits[number >>> 5] = (holding.bits[number >>> 5] as number) | (1 << (number & 31));
      holding.count++;
    }
    this.#held[number] = (this.#held[number] as number) + 1;
  }

  delete(block: number, workerId: string): void {
    const number = this.#numbers.get(workerId);
    const holding = this.#blocks.get(block);
    if (number === undefined || holding === undefined) return;
    if (typeof holding === 'number') {
      if (holding !== number) return;
      this.#blocks.delete(block);
    } else {
      if (!has(holding, number)) return;
      holding.bits[number >>> 5] = (holding.bits[number >>> 5] as number) & ~(1 << (number & 31));
      if (--holding.count === 1) this.#blocks.set(block, lastHolder(holding.bits));
    }
    this.#held[number] = (this.#held[number] as number) - 1;
  }

  has(block: number, workerId: string): boolean {
    const number = this.#numbers.get(workerId);
    const holding = this.#blocks.get(block);
    if (number === undefined || holding === undefined) return false;
    return typeof holding === 'number' ? holding === number : has(holding, number);
  }

  /** Frees a worker's number once it holds no block (its index forgot it); it may be given to another worker. */
  release(workerId: string): void {
    const number = this.#numbers.get(workerId);
    if (number === undefined || (this.#held[number] as number) > 0) return;
    this.#numbers.delete(workerId);
    this.#free.push(number);
    this.#version++;
  }

  /**
   * For each of `workerIds` (distinct): how many leading blocks of the prompt it holds (0 for one
   * `include` leaves out). Fresh array; for tests and one-off callers.
   */
  leading(blocks: readonly number[], workerIds: readonly string[], include?: (workerId: string, i: number) => boolean): number[] {
    const out = this.walk(blocks, workerIds, Int32Array.from(workerIds, (_, i) => i), workerIds.length, include ? (k) => include(workerIds[k] as string, k) : undefined);
    return Array.from(out);
  }

  /**
   * The same for a decision's n candidates among a fleet's workers (`fleetIds`, distinct):
   * `candidateAt[slot]` is the candidate at that slot of the fleet, -1 for none. The walk starts
   * from the first block's holders, so workers not holding it cost nothing. The result, by
   * candidate, is scratch: valid until the next walk of any store.
   */
  walk(blocks: readonly number[], fleetIds: readonly string[], candidateAt: Int32Array, n: number, include?: (k: number) => boolean): Int32Array {
    if (matched.length < n) matched = new Int32Array(Math.max(n, 2 * matched.length));
    const out = matched.subarray(0, n);
    out.fill(0);
    const first = blocks.length > 0 ? this.#blocks.get(blocks[0] as number) : undefined;
    if (first === undefined || n === 0) return out;
    const slotOf = this.#slotsIn(fleetIds);
    const words = (this.#numbered >>> 5) + 1;
    if (alive.length < words) alive = new Uint32Array(Math.max(words, 2 * alive.length));
    if (candidateOf.length < this.#numbered) candidateOf = new Int32Array(Math.max(this.#numbered, 2 * candidateOf.length));
    alive.fill(0, 0, words);
    let lo = words;
    let hi = 0;
    // The first block's holders that are candidates.
    const start = (number: number): void => {
      const slot = slotOf[number] as number;
      const k = slot < 0 ? -1 : (candidateAt[slot] as number);
      if (k < 0 || (include && !include(k))) return;
      const w = number >>> 5;
      alive[w] = (alive[w] as number) | (1 << (number & 31));
      candidateOf[number] = k;
      if (w < lo) lo = w;
      if (w >= hi) hi = w + 1;
    };
    if (typeof first === 'number') start(first);
    else {
      for (let w = 0; w < first.bits.length; w++) {
        let left = (first.bits[w] as number) | 0;
        while (left !== 0) {
          const bit = left & -left;
          start((w << 5) + 31 - Math.clz32(bit));
          left ^= bit;
        }
      }
    }
    // Block b: whoever is still matching and does not hold it holds b leading blocks.
    let b = 1;
    for (; b < blocks.length && lo < hi; b++) {
      const holding = this.#blocks.get(blocks[b] as number);
      let nextLo = hi;
      let nextHi = lo;
      for (let w = lo; w < hi; w++) {
        const was = alive[w] as number;
        if (was === 0) continue;
        const kept = holding === undefined ? 0
          : typeof holding === 'number' ? (holding >>> 5 === w ? was & (1 << (holding & 31)) : 0)
            : was & (holding.bits[w] ?? 0);
        let gone = (was & ~kept) | 0;
        while (gone !== 0) {
          const bit = gone & -gone;
          out[candidateOf[(w << 5) + 31 - Math.clz32(bit)] as number] = b;
          gone ^= bit;
        }
        alive[w] = kept;
        if (kept !== 0) {
          if (w < nextLo) nextLo = w;
          nextHi = w + 1;
        }
      }
      lo = nextLo;
      hi = nextHi;
    }
    // Still matching after the last block: they hold them all.
    for (let w = lo; w < hi; w++) {
      let left = (alive[w] as number) | 0;
      while (left !== 0) {
        const bit = left & -left;
        out[candidateOf[(w << 5) + 31 - Math.clz32(bit)] as number] = b;
        left ^= bit;
      }
    }
    return out;
  }

  #numberOf(workerId: string): number {
    let number = this.#numbers.get(workerId);
    if (number !== undefined) return number;
    number = this.#free.pop() ?? this.#numbered++;
    this.#numbers.set(workerId, number);
    if (this.#held.length <= number) {
      const grown = new Int32Array(2 * this.#held.length);
      grown.set(this.#held);
      this.#held = grown;
    }
    this.#held[number] = 0;
    this.#version++;
    return number;
  }

  /** Each number's slot in a fleet's worker ids (-1: not there), kept per array until a number is given or freed. */
  #slotsIn(fleetIds: readonly string[]): Int32Array {
    const seen = this.#inFleet.get(fleetIds);
    if (seen && seen.version === this.#version && seen.length === fleetIds.length) return seen.slots;
    const slots = new Int32Array(this.#numbered).fill(-1);
    fleetIds.forEach((id, slot) => {
      const number = this.#numbers.get(id);
      if (number !== undefined) slots[number] = slot;
    });
    this.#inFleet.set(fleetIds, { version: this.#version, length: fleetIds.length, slots });
    return slots;
  }
}

/** The one number left in a bitset. */
function lastHolder(bits: Uint32Array): number {
  for (let w = 0; w < bits.length; w++) {
    const word = bits[w] as number;
    if (word !== 0) return (w << 5) + 31 - Math.clz32(word & -word);
  }
  throw new Error('a shared block with no holder');
}
