/**
 * The actor runtime. An actor is a behaviour over one message protocol (a discriminated union),
 * fed one message at a time from a bounded mailbox, and wrapped in a supervision policy. A
 * behaviour's `receive` should be quick; long work runs as a task that tells its result back to
 * `self`, so the actor keeps answering (a cancel must never wait behind a stream).
 */
import { Mailbox, type MailboxOptions, Overflow } from './mailbox.js';
import { backoffDelay, restartWithBackoff, type Supervision } from './supervision.js';

export interface ActorRef<M> {
  readonly name: string;
  /** Enqueues a message; false when the mailbox refused it or the actor has stopped. */
  tell(message: M): boolean;
  stop(): Promise<void>;
}

export interface ActorContext<M> {
  readonly self: ActorRef<M>;
  /** How many times this actor has been restarted after a failure. */
  readonly restarts: number;
}

export interface Behavior<M> {
  receive(message: M): void | Promise<void>;
  /** Called when the actor stops or before it is restarted: release timers, subscriptions. */
  stop?(): void | Promise<void>;
}

export type BehaviorFactory<M> = (context: ActorContext<M>) => Behavior<M>;

export interface SpawnOptions {
  mailbox?: MailboxOptions;
  supervision?: Supervision;
  /** Told about each failure (for logs and metrics). */
  onFailure?: (error: unknown, restarts: number) => void;
}

const defaultMailbox: MailboxOptions = { capacity: 10_000, overflow: Overflow.reject };

class Actor<M> implements ActorRef<M> {
  readonly #mailbox: Mailbox<M>;
  readonly #supervision: Supervision;
  #behavior: Behavior<M>;
  #running = false;
  #stopped = false;
  #backingOff = false;
  #restarts = 0;
  #consecutiveFailures = 0;
  #lastFailureAt = 0;
  #backoffTimer: NodeJS.Timeout | undefined;

  constructor(readonly name: string, readonly factory: BehaviorFactory<M>, readonly options: SpawnOptions) {
    this.#mailbox = new Mailbox<M>(options.mailbox ?? defaultMailbox);
    this.#supervision = options.supervision ?? restartWithBackoff();
    this.#behavior = factory(this.#context());
  }

  #context(): ActorContext<M> {
    return { self: this, restarts: this.#restarts };
  }

  tell(message: M): boolean {
    if (this.#stopped) return false;
    if (!this.#mailbox.offer(message)) return false;
    if (!this.#running && !this.#backingOff) {
      this.#running = true;
      queueMicrotask(() => void this.#drain());
    }
    return true;
  }

  async #drain(): Promise<void> {
    try {
      for (let m = this.#mailbox.take(); m !== undefined && !this.#stopped; m = this.#mailbox.take()) {
        const result = this.#behavior.receive(m);
        if (result) await result;
      }
      this.#running = false;
    } catch (error) {
      this.#running = false;
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    const now = Date.now();
    if (this.#supervision.type === 'restart-with-backoff' && now - this.#lastFailureAt > this.#supervision.resetAfterMs) {
      this.#consecutiveFailures = 0;
    }
    this.#lastFailureAt = now;
    this.options.onFailure?.(error, this.#restarts);
    const old = this.#behavior;
    void Promise.resolve()
      .then(() => old.stop?.())
      .catch(() => undefined);
    if (this.#supervision.type === 'stop') {
      this.#stopped = true;
      return;
    }
    this.#backingOff = true;
    const delay = backoffDelay(this.#supervision, this.#consecutiveFailures++);
    this.#backoffTimer = setTimeout(() => {
      this.#backingOff = false;
      if (this.#stopped) return;
      this.#restarts++;
      this.#behavior = this.factory(this.#context());
      if (this.#mailbox.size > 0 && !this.#running) {
        this.#running = true;
        void this.#drain();
      }
    }, delay);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#backoffTimer);
    await this.#behavior.stop?.();
  }
}

export function spawn<M>(name: string, factory: BehaviorFactory<M>, options: SpawnOptions = {}): ActorRef<M> {
  return new Actor(name, factory, options);
}
