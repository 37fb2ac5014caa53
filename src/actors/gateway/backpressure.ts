/**
 * Backpressure from a client's socket to the worker generating for it: a write that finds the
 * socket full pauses the worker's engine reads, and the socket draining lets them go on. How long
 * the socket has stayed full is what the session's client-stall timeout measures.
 */
import { subjects } from '../../transport/subjects.js';
import type { Transport } from '../../transport/transport.js';
import type { WorkerInbound } from '../worker/worker.protocol.js';
import type { Attempt } from './attempt.js';

export class Backpressure {
  /** Since when the client's socket has been full (the worker is paused), if it is. */
  #pausedSince: number | undefined;

  constructor(readonly transport: Transport, readonly requestId: string) {}

  /** How long the client's socket has been full, if it is. */
  pausedFor(now: number): number | undefined {
    return this.#pausedSince === undefined ? undefined : now - this.#pausedSince;
  }

  /** A write found the socket full: the worker pauses (told once, however many writes follow). */
  full(attempt: Attempt): void {
    if (this.#pausedSince !== undefined) return;
    this.#pausedSince = Date.now();
    this.#sendFlow(attempt, true);
  }

  /** The client's socket took what was waiting: let the worker read its engine again. */
  drained(attempt: Attempt | undefined): void {
    if (this.#pausedSince === undefined) return;
    this.#pausedSince = undefined;
    if (attempt) this.#sendFlow(attempt, false);
  }

  /** A successor starts unpaused: the next full write pauses it. */
  reset(): void {
    this.#pausedSince = undefined;
  }

  #sendFlow(attempt: Attempt, paused: boolean): void {
    if (!attempt.workerId) return;
    const flow: WorkerInbound = { type: 'flow', reply: attempt.reply, paused };
    this.transport.publish(subjects.workerFlow(attempt.workerId), flow, { headers: { requestId: this.requestId } });
  }
}
