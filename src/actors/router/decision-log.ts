/**
 * Recent decision records by request id, oldest out first. Bounded twice: by requests and by the
 * candidate entries they hold, so a fleet of thousands of workers cannot make it eat the heap.
 */
import type { DecisionRecord } from './decision.js';

export class DecisionLog {
  /** request id → its decisions (one per dispatch attempt), in insertion order. */
  readonly #byRequest = new Map<string, DecisionRecord[]>();
  #entries = 0;

  constructor(readonly maxRequests = 10_000, readonly maxCandidateEntries = 2_000_000) {}

  add(record: DecisionRecord): void {
    const list = this.#byRequest.get(record.requestId);
    if (list) list.push(record);
    else this.#byRequest.set(record.requestId, [record]);
    this.#entries += record.candidates.length;
    while (this.#byRequest.size > this.maxRequests || (this.#entries > this.maxCandidateEntries && this.#byRequest.size > 1)) {
      const [oldest, records] = this.#byRequest.entries().next().value as [string, DecisionRecord[]];
      this.#byRequest.delete(oldest);
      for (const r of records) this.#entries -= r.candidates.length;
    }
  }

  get(requestId: string): readonly DecisionRecord[] | undefined {
    return this.#byRequest.get(requestId);
  }

  get size(): number {
    return this.#byRequest.size;
  }
}
