/**
 * The actor runtime. An actor is a behaviour over one message protocol (a discriminated union),
 * fed one message at a time from a bounded mailbox, and wrapped in a supervision policy chosen at
 * spawn (resume, restart or stop: ./supervision.ts says what each does). A behaviour's `receive`
 * should be quick; long work runs as a task that tells its result back to `self`, so the actor keeps
 * answering (a cancel must never wait behind a stream).
 *
 * A message whose handling throws is dropped and reported, and the next one runs at once under
 * every policy: one hostile message never holds up the mailbox.
 */
import { assertNever } from '../../errors.js';
import { Mailbox, type MailboxOptions, Overflow } from './mailbox.js';
import { type Backoff, backoffDelay, type Directive, type Supervision } from './supervision.js';

export interface ActorStats {
  /** Messages whose handling threw (or whose `receive` promise rejected), plus factory throws on restart. */
  readonly failures: number;
  /** Fresh behaviours built by the factory after failures (`restart` only). */
  readonly restarts: number;
  /** Messages refused or discarded unhandled for want of a behaviour: the actor stopped, or a restart backs off. */
  readonly rejected: number;
  /** Messages refused or dropped by a full mailbox, under its overflow policy. */
  readonly overflowed: number;
}

export interface ActorRef<M> {
  readonly name: string;
  /** Enqueues a message; false when the mailbox refused it, the actor has stopped, or a restart backs off. */
  tell(message: M): boolean;
  /** A snapshot of the actor's counters, for metrics. */
  readonly stats: ActorStats;
  stop(): Promise<void>;
}

export interface ActorContext<M> {
  readonly self: ActorRef<M>;
  /** How many fresh behaviours the factory has built after failures: 0 for the first. */
  readonly restarts: number;
}

export interface Behavior<M> {
  receive(message: M): void | Promise<void>;
  /** Called when the actor stops, or before a restart replaces this behaviour: release timers, subscriptions. */
  stop?(): void | Promise<void>;
}

/**
 * Builds a behaviour and the state it owns. A restart calls it again, so state it builds is reset;
 * state it only closes over (built outside it) survives a restart untouched.
 */
export type BehaviorFactory<M> = (context: ActorContext<M>) => Behavior<M>;

/** What `onFailure` is told, beside the error. */
export interface Failure {
  /** The failing message's `type`; undefined when it was the factory that threw, on a restart. */
  readonly messageType: string | undefined;
  /** What the actor does about it: drop and go on, drop and rebuild, or stop. */
  readonly directive: Directive;
  /** Failures so far, this one included (as `stats.failures`). */
  readonly failures: number;
  /** Restarts so far, before this failure's own. */
  readonly restarts: number;
}

export interface SpawnOptions {
  mailbox?: MailboxOptions;
  /**
   * No default: each actor states what a failure does to it. Choose `resumeOnFailure` when the
   * actor's state lives outside the behaviour (a restart would rebuild nothing), `restartOnFailure`
   * when the factory builds the state a failure may have corrupted, `stopOnFailure` when neither is safe.
   */
  supervision: Supervision;
  /** Told about each failure, for the log. A throw here is ignored. */
  onFailure?: (error: unknown, failure: Failure) => void;
}

const defaultMailbox: MailboxOptions = { capacity: 10_000, overflow: Overflow.reject };

/** Messages are discriminated unions on `type`; anything else is named by its `typeof`. */
function messageTypeOf(message: unknown): string {
  if (typeof message === 'object' && message !== null && 'type' in message && typeof message.type === 'string') return message.type;
  return typeof message;
}

class Actor<M> implements ActorRef<M> {
  readonly #mailbox: Mailbox<M>;
  readonly #supervision: Supervision;
  /** Undefined while a restart replaces it, and while a failed restart backs off. */
  #behavior: Behavior<M> | undefined;
  #draining = false;
  #stopped = false;
  #failures = 0;
  #restarts = 0;
  #rejected = 0;
  #failedStarts = 0;
  /** Set while a restart whose factory threw waits to try again. */
  #startTimer: NodeJS.Timeout | undefined;

  constructor(readonly name: string, readonly factory: BehaviorFactory<M>, readonly options: SpawnOptions) {
    this.#mailbox = new Mailbox<M>(options.mailbox ?? defaultMailbox);
    this.#supervision = options.supervision;
    // A factory that throws now throws from spawn: nothing has started that could be supervised.
    this.#behavior = factory({ self: this, restarts: 0 });
  }

  get stats(): ActorStats {
    return { failures: this.#failures, restarts: this.#restarts, rejected: this.#rejected, overflowed: this.#mailbox.dropped };
  }

  tell(message: M): boolean {
    if (this.#stopped || this.#startTimer !== undefined) {
      this.#rejected++;
      return false;
    }
    if (!this.#mailbox.offer(message)) return false;
    this.#scheduleDrain();
    return true;
  }

  #scheduleDrain(): void {
    if (this.#draining) return;
    this.#draining = true;
    queueMicrotask(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    for (;;) {
      const behavior = this.#behavior;
      if (this.#stopped || behavior === undefined) break;
      const message = this.#mailbox.take();
      if (message === undefined) break;
      try {
        const result = behavior.receive(message);
        if (result) await result;
      } catch (error) {
        await this.#failed(error, message);
      }
    }
    this.#draining = false;
  }

  async #failed(error: unknown, message: M): Promise<void> {
    this.#failures++;
    const supervision = this.#supervision;
    this.#report(error, messageTypeOf(message), supervision.type);
    switch (supervision.type) {
      case 'resume':
        return;
      case 'restart':
        return this.#restart(supervision.startBackoff);
      case 'stop':
        return this.stop().catch(() => undefined);
      default:
        assertNever(supervision);
    }
  }

  async #restart(backoff: Backoff): Promise<void> {
    const old = this.#behavior;
    this.#behavior = undefined;
    try {
      await old?.stop?.();
    } catch {
      // It is being replaced either way; a failing cleanup must not keep the actor down.
    }
    if (!this.#stopped) this.#start(backoff);
  }

  /** Builds a fresh behaviour; when the factory throws, tries again after a growing backoff. */
  #start(backoff: Backoff): void {
    try {
      this.#behavior = this.factory({ self: this, restarts: this.#restarts + 1 });
      this.#restarts++;
      this.#failedStarts = 0;
    } catch (error) {
      this.#failures++;
      this.#report(error, undefined, 'restart');
      // No behaviour to run them: refuse messages rather than keep them waiting through the backoff.
      this.#rejected += this.#mailbox.clear();
      this.#startTimer = setTimeout(() => {
        this.#startTimer = undefined;
        if (this.#stopped) return;
        this.#start(backoff);
        if (this.#behavior !== undefined && this.#mailbox.size > 0) this.#scheduleDrain();
      }, backoffDelay(backoff, this.#failedStarts++));
    }
  }

  #report(error: unknown, messageType: string | undefined, directive: Directive): void {
    try {
      this.options.onFailure?.(error, { messageType, directive, failures: this.#failures, restarts: this.#restarts });
    } catch {
      // A failing logger must not take the actor down with it.
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
    this.#rejected += this.#mailbox.clear();
    await this.#behavior?.stop?.();
  }
}

export function spawn<M>(name: string, factory: BehaviorFactory<M>, options: SpawnOptions): ActorRef<M> {
  return new Actor(name, factory, options);
}
