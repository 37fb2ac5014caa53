/**
 * Work put off to the end of the current event-loop turn, once per key: the worker's streamed
 * output waits here so that every engine read of a request in one turn goes out as one `chunk`
 * frame, and every request's frame of the turn in one NATS flush (one socket write, where the NATS
 * client's own flush, a microtask, writes once per frame: docs/benchmarks.md, "Streaming frames").
 *
 * The end of the turn is `setImmediate`: it runs right after the I/O callbacks of the loop
 * iteration that produced the output, with no timer, so it adds no wait beyond the other I/O the
 * process was handling anyway.
 */
export class TurnBatch<K> {
  #due = new Set<K>();
  #scheduled = false;

  constructor(
    readonly flush: (key: K) => void,
    readonly schedule: (run: () => void) => void = (run) => void setImmediate(run),
  ) {}

  /** `key` has work waiting: `flush(key)` runs once, at the end of this turn. */
  due(key: K): void {
    this.#due.add(key);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.schedule(() => this.#run());
  }

  #run(): void {
    const keys = this.#due;
    this.#due = new Set();
    this.#scheduled = false;
    for (const key of keys) this.flush(key);
  }
}
