/**
 * How much of a prompt each worker holds, by chained block hashes (a block's hash names the whole
 * prefix up to it): for each worker, how many leading blocks it holds. The approximate index
 * (prefix-index.ts) and the index of engines' KV events (kv-block-index.ts) both answer this way.
 */
export function leadingMatches(blocks: readonly number[], workerIds: readonly string[], holders: ReadonlyMap<number, ReadonlySet<string>>,
  candidate: (workerId: string) => boolean = () => true): number[] {
  const matched = new Array<number>(workerIds.length).fill(0);
  let live: number[] = [];
  for (let i = 0; i < workerIds.length; i++) if (candidate(workerIds[i] as string)) live.push(i);
  for (let b = 0; b < blocks.length && live.length > 0; b++) {
    const holding = holders.get(blocks[b] as number);
    if (!holding) break;
    const next: number[] = [];
    for (const i of live) {
      if (holding.has(workerIds[i] as string)) {
        matched[i] = b + 1;
        next.push(i);
      }
    }
    live = next;
  }
  return matched;
}
