/**
 * The simulator's batch slots: at most `maxConcurrency` requests generate at once; the rest wait
 * in FIFO order, as in an engine's scheduler. A waiting request whose client leaves is dropped.
 */
export class Scheduler {
  #running = 0;
  readonly #waiting: Array<{ grant: () => void; signal: AbortSignal; onAbort: () => void }> = [];

  constructor(readonly maxConcurrency: number) {}

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves true when a slot is granted, false when `signal` aborted while waiting. */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.#running < this.maxConcurrency) {
      this.#running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = {
        grant: () => {
          signal.removeEventListener('abort', entry.onAbort);
          this.#running++;
          resolve(true);
        },
        signal,
        onAbort: () => {
          const i = this.#waiting.indexOf(entry);
          if (i >= 0) this.#waiting.splice(i, 1);
          resolve(false);
        },
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  release(): void {
    this.#running--;
    this.#waiting.shift()?.grant();
  }
}
