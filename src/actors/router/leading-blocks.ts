/**
 * How much of a prompt each worker holds, by chained block hashes (a block's hash names the whole
 * prefix up to it): for each worker, how many leading blocks it holds. The approximate index
 * (prefix-index.ts) and the index of engines' KV events (kv-block-index.ts) both answer this way.
 *
 * The prompt's blocks are walked once. At each block, the workers still matching are checked
 * against the block's holders from whichever side is smaller: the still-matching ones (a lookup in
 * the holders each), or, given `indexOf`, the holders (a lookup of each holder's index). The first
 * blocks of a prompt few workers have seen thus cost a few lookups, not one per worker.
 */
/** The workers still matching, and the next block's: reused by every walk (a walk never yields). */
let live = new Int32Array(1024);
let next = new Int32Array(1024);

export function leadingMatches(blocks: readonly number[], workerIds: readonly string[], holders: ReadonlyMap<number, ReadonlySet<string>>,
  candidate: (workerId: string, i: number) => boolean = () => true, indexOf?: (workerId: string) => number): number[] {
  const n = workerIds.length;
  const matched = new Array<number>(n).fill(0);
  const first = blocks.length > 0 ? holders.get(blocks[0] as number) : undefined;
  if (!first || n === 0) return matched;
  if (live.length < n) {
    live = new Int32Array(Math.max(n, 2 * live.length));
    next = new Int32Array(live.length);
  }
  // The first block: from its holders when they are fewer than the workers, so the rest are never looked at.
  let alive = 0;
  if (indexOf && first.size < n) {
    for (const id of first) {
      const i = indexOf(id);
      if (i >= 0 && candidate(id, i)) {
        matched[i] = 1;
        live[alive++] = i;
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const id = workerIds[i] as string;
      if (first.has(id) && candidate(id, i)) {
        matched[i] = 1;
        live[alive++] = i;
      }
    }
  }
  // Every later block: a worker is still matching at block b while its count is b.
  for (let b = 1; b < blocks.length && alive > 0; b++) {
    const holding = holders.get(blocks[b] as number);
    if (!holding) break;
    let still = 0;
    if (indexOf && holding.size < alive) {
      for (const id of holding) {
        const i = indexOf(id);
        if (i >= 0 && matched[i] === b) {
          matched[i] = b + 1;
          next[still++] = i;
        }
      }
    } else {
      for (let j = 0; j < alive; j++) {
        const i = live[j] as number;
        if (holding.has(workerIds[i] as string)) {
          matched[i] = b + 1;
          next[still++] = i;
        }
      }
    }
    [live, next] = [next, live];
    alive = still;
  }
  return matched;
}
