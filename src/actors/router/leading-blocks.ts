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
  if (live.length < n) {
    live = new Int32Array(Math.max(n, 2 * live.length));
    next = new Int32Array(live.length);
  }
  // -1: not a candidate; else the blocks matched so far (a worker is still matching at block b while it is b).
  const matched = new Array<number>(n);
  let alive = 0;
  for (let i = 0; i < n; i++) {
    const take = candidate(workerIds[i] as string, i);
    matched[i] = take ? 0 : -1;
    if (take) live[alive++] = i;
  }
  for (let b = 0; b < blocks.length && alive > 0; b++) {
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
  for (let i = 0; i < n; i++) if ((matched[i] as number) < 0) matched[i] = 0;
  return matched;
}
