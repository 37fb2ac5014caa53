/**
 * A consistent-hash ring (Karger et al.) with virtual nodes: each worker sits at `vnodes` points of
 * a 53-bit ring; a key belongs to the first worker clockwise from its hash. Removing a worker moves
 * only its keys; adding one takes about 1/(N+1) of them.
 */
import { hash53 } from '../hash.js';

export const ringVnodes = 100;

export class HashRing {
  readonly #points: Float64Array;
  readonly #owners: Uint32Array;

  constructor(readonly workerIds: readonly string[], vnodes = ringVnodes) {
    const points: Array<[number, number]> = [];
    workerIds.forEach((id, owner) => {
      for (let v = 0; v < vnodes; v++) points.push([hash53(`${id}#${v}`), owner]);
    });
    points.sort((a, b) => a[0] - b[0]);
    this.#points = Float64Array.from(points, (p) => p[0]);
    this.#owners = Uint32Array.from(points, (p) => p[1]);
  }

  /** Worker ids in the order the ring offers them for this key: the owner first, then clockwise. */
  *walk(keyHash: number): Generator<string> {
    const n = this.#points.length;
    if (n === 0) return;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#points[mid] as number) < keyHash) lo = mid + 1;
      else hi = mid;
    }
    const seen = new Set<number>();
    for (let step = 0; step < n && seen.size < this.workerIds.length; step++) {
      const owner = this.#owners[(lo + step) % n] as number;
      if (seen.has(owner)) continue;
      seen.add(owner);
      yield this.workerIds[owner] as string;
    }
  }
}
