/**
 * The simulator's batch slots: at most `capacity` requests generate at once and the rest wait in
 * FIFO order, as in an engine's scheduler, so a router sees queueing in `num_requests_waiting`. A
 * waiting request whose client leaves is dropped from the queue without ever taking a slot.
 */

/** Gives a slot back; calling it again does nothing, so a `finally` can always call it. */
export type Release = () => void;

interface Waiter {
  grant: () => void;
  onAbort: () => void;
}

export class Scheduler {
  #running = 0;
  readonly #queue: Waiter[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /** Resolves with a release once a slot is free, or undefined if `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<Release | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    if (this.#running < this.capacity) {
      this.#running++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        // The freed slot passes straight to the waiter, so `running` never dips between the two.
        grant: () => {
          signal.removeEventListener('abort', waiter.onAbort);
          resolve(this.#releaser());
        },
        onAbort: () => {
          this.#queue.splice(this.#queue.indexOf(waiter), 1);
          resolve(undefined);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) next.grant();
      else this.#running--;
    };
  }
}
