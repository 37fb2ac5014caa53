/**
 * Recent decision records by request id, oldest out first. Bounded twice: by requests and by the
 * candidate entries they hold, so a fleet of thousands of workers cannot make it eat the heap.
 */
import { CandidateTable, type DecisionRecord, type StoredDecision } from './decision.js';

export class DecisionLog {
  /** request id → its decisions (one per dispatch attempt), in insertion order. */
  readonly #byRequest = new Map<string, StoredDecision[]>();
  #entries = 0;

  constructor(readonly maxRequests = 10_000, readonly maxCandidateEntries = 2_000_000) {}

  add(record: StoredDecision): void {
    const list = this.#byRequest.get(record.requestId);
    if (list) list.push(record);
    else this.#byRequest.set(record.requestId, [record]);
    this.#entries += record.candidates.length;
    while (this.#byRequest.size > this.maxRequests || (this.#entries > this.maxCandidateEntries && this.#byRequest.size > 1)) {
      const [oldest, records] = this.#byRequest.entries().next().value as [string, StoredDecision[]];
      this.#byRequest.delete(oldest);
      for (const r of records) {
        this.#entries -= r.candidates.length;
        if (r.candidates instanceof CandidateTable) r.candidates.release();
      }
    }
  }

  /** The decisions for a request, oldest first, with their candidates as records (built only now, as is the time). */
  get(requestId: string): DecisionRecord[] | undefined {
    return this.#byRequest.get(requestId)?.map((d) => ({
      ...d, at: new Date(d.at).toISOString(), candidates: d.candidates instanceof CandidateTable ? d.candidates.records() : [...d.candidates],
    }));
  }

  get size(): number {
    return this.#byRequest.size;
  }
}
