/**
 * One client request over its dispatch attempts: the state machine that receives the frames a
 * router and a worker send to the attempt's inbox and decides what happens next.
 *
 * - Before anything reached the client, a retryable failure is retried whole on another worker.
 * - After output started, it is carried on by another worker from exactly what the client has
 *   (mid-stream migration: the delivered text goes along as a `continuation`), when the model
 *   allows it and the output is plain text; otherwise the stream ends with an SSE error event.
 * - A worker that holds the request sends a frame, or names it in its keepalive, at least every keepalive interval; silence past
 *   the liveness timeout means it is gone (killed, frozen, cut off from NATS), whatever its engine
 *   is doing. A gap in the sequence numbers means frames were lost: the answer moves on too.
 * - The client going away cancels the worker's engine request, confirmed by `cancelled`.
 *
 * Every attempt has a reply subject of its own, so a worker given up on cannot write into the
 * stream its successor now serves (attempt.ts). Whether to retry or migrate is recovery.ts's call;
 * writing the answer is AnswerWriter's job, pausing the worker for a full socket Backpressure's,
 * metrics and the end record SessionAccounting's.
 */
import type { Continuation, Delta, Usage } from '../../engine-adapters/adapter.js';
import { ErrorCode, type ErrorInfo, assertNever } from '../../errors.js';
import type { Inbound } from '../../transport/transport.js';
import { encode } from '../../transport/codec.js';
import { operations, type OperationSpec } from '../../operations/index.js';
import type { Output } from '../../operations/operation.js';
import { parseReplyFrame } from './reply.protocol.js';
import { type Attempt, sendCancel, sendInfer, signedByHolder } from './attempt.js';
import { Backpressure } from './backpressure.js';
import { answerHeaders, AnswerWriter } from './answer-writer.js';
import { planRecovery } from './recovery.js';
import type { SessionInit } from './session-init.js';
import { completedEnd, SessionAccounting, type SessionEnd } from './session-accounting.js';
import { reconcileUsage } from './usage-reconcile.js';
import { addHops, hopTimingOn } from '../../observability/hop-timing.js';

export type { SessionEnd } from './session-accounting.js';
export { defaultSessionLimits, type ReplySubjects, type SessionInit, type SessionLimits } from './session-init.js';

type Phase = 'routing' | 'accepted' | 'cancelling' | 'closed';

export class RequestSession {
  #phase: Phase = 'routing';
  /** Dispatches so far (retries and migrations included): the router's decision records number them. */
  #dispatches = 0;
  /** Dispatches before the first byte. */
  #tries = 0;
  #migrations = 0;
  readonly #exclude: string[] = [];
  #attempt: Attempt | undefined;
  /** The worker that answered first: the debug header names it. */
  #firstWorker: { workerId: string; routingMethod: string | undefined } | undefined;
  /** The last failure a worker reported: what the client hears if the router then runs out of workers. */
  #lastWorkerError: ErrorInfo | undefined;
  #end: SessionEnd | undefined;
  /** The current attempt timed out waiting for `accepted`: its successor asks the router to skip that worker. */
  #unanswered = false;
  readonly #backpressure: Backpressure;
  readonly #op: OperationSpec;
  readonly #answer: AnswerWriter;
  readonly #accounting: SessionAccounting;
  /** The OpenAI body encoded once for every dispatch: routers forward it without decoding it (worker.protocol.ts). */
  #body: Uint8Array | undefined;

  constructor(readonly init: SessionInit) {
    this.#op = operations[init.request.operation];
    this.#accounting = init.accounting ?? new SessionAccounting(init.metrics, this.#op, init.clientModel, init.arrivedAt);
    this.#backpressure = new Backpressure(init.transport, init.requestId);
    this.#answer = new AnswerWriter(this.#op, init, () => this.#accounting.firstByte(), () => answerHeaders(init, this.#firstWorker));
  }

  /** Bytes written for the client and not yet taken by its socket. */
  buffered(): number {
    return this.#answer.client.buffered;
  }

  /** The worker holding the request, for the gateway's leases. */
  held(): { workerId: string; reply: string } | undefined {
    const a = this.#attempt;
    if ((this.#phase === 'accepted' || this.#phase === 'cancelling') && a?.workerId) return { workerId: a.workerId, reply: a.reply };
    return undefined;
  }

  dispatch(continuation?: Continuation): void {
    const { init } = this;
    const previous = this.#attempt;
    if (previous) init.replies.close(previous.reply);
    // Nobody accepted the previous attempt: the gateway never heard who had it, the routers did.
    const unanswered = previous && previous.workerId === undefined && this.#unanswered ? previous.reply : undefined;
    this.#unanswered = false;
    this.#backpressure.reset();
    this.#dispatches++;
    this.#phase = 'routing';
    const now = Date.now();
    const attempt: Attempt = {
      reply: init.replies.open(), workerId: undefined, routingMethod: undefined, expectedSeq: 0, lastHeard: now, lastOutput: now, continuation,
    };
    this.#attempt = attempt;
    sendInfer(init, attempt.reply, { attempt: this.#dispatches, body: this.#body ??= encode(init.request.body), exclude: this.#exclude, unanswered, continuation });
  }

  /**
   * A frame for `reply` (the gateway routes only this session's live replies here). `signer`: the
   * worker that signed it (answer-signer.ts), none for a router's; a frame signed by another worker
   * than the one that holds this attempt is dropped, so a stolen worker credential cannot speak in
   * another worker's answer.
   */
  onMessage(message: Inbound, reply: string = message.subject, signer?: string): void {
    const attempt = this.#attempt;
    if (this.#phase === 'closed' || !attempt || reply !== attempt.reply) return;
    if (signer !== undefined && !signedByHolder(attempt, message.body, signer)) {
      this.init.forgedFrames.warn(signer, { requestId: this.init.requestId, signer, worker: attempt.workerId });
      return;
    }
    attempt.lastHeard = Date.now();
    if (message.noResponders) {
      // Nobody listened: no router, or the chosen worker died since its last heartbeat.
      this.#recover({ code: ErrorCode.noActiveBackend, retryable: true, message: 'no router or worker answered; is the model served?' });
      return;
    }
    const frame = parseReplyFrame(message.body);
    if (!frame) {
      this.init.log.warn({ requestId: this.init.requestId }, 'dropped a malformed reply frame');
      return;
    }
    switch (frame.type) {
      case 'accepted':
        attempt.workerId = frame.workerId;
        attempt.routingMethod = frame.routingMethod;
        this.#firstWorker ??= { workerId: frame.workerId, routingMethod: frame.routingMethod };
        if (this.#phase === 'cancelling') this.#sendCancel(attempt);
        else this.#phase = 'accepted';
        return;
      case 'alive':
        this.#alive(attempt, frame.seq);
        return;
      case 'chunk':
        if (!this.#inSequence(attempt, frame.seq)) return;
        attempt.lastOutput = attempt.lastHeard;
        this.#onDeltas(attempt, frame.deltas);
        return;
      case 'vectors':
        if (!this.#inSequence(attempt, frame.seq)) return;
        attempt.lastOutput = attempt.lastHeard;
        this.#onOutput({ type: 'vectors', first: frame.first, dims: frame.dims, data: frame.data });
        return;
      case 'end':
        if (!this.#inSequence(attempt, frame.seq)) return;
        if (hopTimingOn) addHops(this.init.res, message.headers.hops);
        this.#finish(attempt, frame.usage, frame.completionTokens);
        return;
      case 'error':
        if (frame.seq >= 0 && !this.#inSequence(attempt, frame.seq)) return;
        if (frame.workerId) {
          this.#lastWorkerError = frame.error;
          if (frame.error.retryable) this.#exclude.push(frame.workerId);
          this.#recover(frame.error);
        } else {
          // From the router: when it ran out of workers because they failed, the workers' error is the truth.
          this.#fail(frame.error.code === ErrorCode.noActiveBackend && this.#lastWorkerError ? this.#lastWorkerError : frame.error);
        }
        return;
      case 'cancelled':
        if (this.#phase === 'cancelling') this.#close();
        return;
      default:
        assertNever(frame);
    }
  }

  /**
   * A worker's keepalive (worker/keepalive.protocol.ts) named this attempt: `workerId` still holds it,
   * and `seq` is its next chunk's number. A worker vouches only for requests it accepted.
   */
  keepalive(reply: string, workerId: string, seq: number, now: number): void {
    const attempt = this.#attempt;
    if (this.#phase === 'closed' || !attempt || attempt.reply !== reply || attempt.workerId !== workerId) return;
    attempt.lastHeard = now;
    this.#alive(attempt, seq);
  }

  #alive(attempt: Attempt, seq: number): void {
    // The next chunk's number: beyond what arrived, frames were lost on the way.
    if (seq > attempt.expectedSeq) this.#framesLost(attempt, seq);
  }

  /** The client closed the connection before the answer was complete. */
  clientGone(): void {
    if (this.#phase === 'closed' || this.#phase === 'cancelling') return;
    if (this.#answer.client.resumable && this.init.request.stream) {
      // The client may come back with Last-Event-ID: the answer goes on, into the journal.
      this.init.log.info({ requestId: this.init.requestId, streamId: this.init.streamId }, 'client went away from a resumable stream; generating on');
      this.#answer.client.detach();
      this.clientDrained();
      return;
    }
    this.#accounting.cancelled();
    this.init.log.info({ requestId: this.init.requestId, worker: this.#attempt?.workerId }, 'client went away; cancelling');
    this.#phase = 'cancelling';
    if (this.#attempt) {
      this.#attempt.lastHeard = Date.now();
      // Without a worker yet, the cancel goes out when `accepted` arrives (or the accept timeout ends it).
      this.#sendCancel(this.#attempt);
    }
  }

  /** The gateway's handling of this session threw: end it with `error`, however far it got. */
  crashed(error: ErrorInfo): void {
    try {
      this.#fail(error);
    } finally {
      this.#close();
    }
  }

  /** Called periodically by the gateway: acts on workers that went silent. */
  checkTimeout(now: number): void {
    const attempt = this.#attempt;
    if (!attempt) return;
    const silence = now - attempt.lastHeard;
    switch (this.#phase) {
      case 'routing':
        if (silence > this.init.limits.acceptTimeoutMs) {
          this.#unanswered = true;
          this.#recover({ code: ErrorCode.noActiveBackend, retryable: true, message: `no worker accepted the request within ${this.init.limits.acceptTimeoutMs} ms` });
        }
        return;
      case 'accepted': {
        const unread = this.#backpressure.pausedFor(now);
        if (unread !== undefined && unread > this.init.limits.clientStallMs) {
          this.#clientStalled(`nothing read for ${unread} ms`);
        } else if (silence > this.init.limits.livenessTimeoutMs) {
          this.init.metrics.workerLosses.inc();
          if (attempt.workerId) this.#exclude.push(attempt.workerId);
          this.#recover({ code: ErrorCode.upstreamError, retryable: true,
            message: `worker ${attempt.workerId} went silent (no frame for ${silence} ms): it died, froze or lost NATS` });
        } else if (now - attempt.lastOutput > this.init.limits.idleTimeoutMs || now > this.init.deadline) {
          this.#fail({ code: ErrorCode.timeout, retryable: true, message: now > this.init.deadline
            ? `the request passed its deadline (${Math.round((now - this.init.deadline) / 1000)} s ago)`
            : `the engine sent nothing for ${Math.round((now - attempt.lastOutput) / 1000)} s` });
        }
        return;
      }
      case 'cancelling':
        if (silence > this.init.limits.acceptTimeoutMs) this.#close();
        return;
      case 'closed':
        return;
      default:
        assertNever(this.#phase);
    }
  }

  #onDeltas(attempt: Attempt, deltas: Delta[]): void {
    // The client already has the assistant's role from the first worker: a successor's is not repeated.
    const fresh = attempt.continuation ? deltas.map(({ role: _, ...d }) => d) : deltas;
    this.#answer.delivered.add(fresh);
    if (this.#phase === 'cancelling') return;
    const flowing = this.#answer.events(fresh);
    if (flowing === undefined) return this.#onOutput({ type: 'deltas', deltas: fresh });
    const { buffered } = this.#answer.client;
    if (buffered > this.init.limits.maxBufferedBytes) return this.#clientStalled(`${buffered} bytes unread`);
    if (!flowing) this.#backpressure.full(attempt);
  }

  /** Output for the whole answer; output this operation does not have means a worker that does not speak it. */
  #onOutput(output: Output): void {
    if (this.#phase === 'cancelling' || this.#answer.add(output)) return;
    this.#badOutput();
    this.#recover({ code: ErrorCode.upstreamError, retryable: true,
      message: `worker ${this.#attempt?.workerId} sent ${output.type} output that does not fit a ${this.#op.name} answer` });
  }

  /** A worker whose output does not make an answer is not asked again for this request. */
  #badOutput(): void {
    const workerId = this.#attempt?.workerId;
    if (workerId && !this.#exclude.includes(workerId)) this.#exclude.push(workerId);
  }

  /** The client's socket took what was waiting: let the worker read its engine again. */
  clientDrained(): void {
    if (this.#phase !== 'closed') this.#backpressure.drained(this.#attempt);
  }

  /** A client that does not read: cancel its request and drop its connection, so nothing waits for it in memory. */
  #clientStalled(why: string): void {
    this.init.metrics.slowClients.inc();
    this.init.log.warn({ requestId: this.init.requestId, why }, 'client stopped reading; cancelling');
    this.#answer.client.abandon();
    this.clientGone();
  }

  #inSequence(attempt: Attempt, seq: number): boolean {
    if (seq === attempt.expectedSeq) {
      attempt.expectedSeq++;
      return true;
    }
    this.#framesLost(attempt, seq);
    return false;
  }

  #framesLost(attempt: Attempt, seq: number): void {
    this.#recover({ code: ErrorCode.upstreamError, retryable: true,
      message: `frames lost between worker ${attempt.workerId} and the gateway (expected #${attempt.expectedSeq}, got #${seq})` });
  }

  #sendCancel(attempt: Attempt): void {
    sendCancel(this.init.transport, this.init.requestId, attempt);
  }

  /** A retryable failure: retry whole while nothing reached the client, migrate after, else fail. */
  #recover(error: ErrorInfo): void {
    const attempt = this.#attempt;
    if (this.#phase === 'closed' || this.#phase === 'cancelling' || !attempt) {
      this.#fail(error);
      return;
    }
    // The worker may still be generating (a lost frame, a timeout): stop it.
    this.#sendCancel(attempt);
    const plan = planRecovery(error, {
      request: this.init.request, started: this.#answer.client.started, tries: this.#tries, maxAttempts: this.init.limits.maxAttempts,
      migrations: this.#migrations, migrationAttempts: this.init.migrationAttempts, delivered: this.#answer.delivered,
    });
    switch (plan.type) {
      case 'fail':
        return this.#fail(error);
      case 'retry':
        this.#tries++;
        this.init.log.info({ requestId: this.init.requestId, attempt: this.#dispatches, code: error.code, err: error.message }, 'retrying on another worker');
        this.#answer.startOver();
        this.dispatch();
        return;
      case 'unmigratable':
        this.init.log.warn({ requestId: this.init.requestId, code: error.code, err: error.message, why: plan.why }, 'stream broke; not migrating');
        return this.#fail(error);
      case 'complete': {
        // Everything the client asked for arrived; only the end was lost.
        const last = { ...attempt, continuation: plan.continuation };
        this.#onDeltas(last, [{ index: 0, finishReason: 'length' }]);
        return this.#finish(last, undefined, 0);
      }
      case 'migrate':
        this.#migrations++;
        this.#accounting.migrated(error.code);
        this.init.log.info({ requestId: this.init.requestId, from: attempt.workerId, delivered: plan.continuation.tokens, code: error.code, err: error.message },
          'carrying the stream on, on another worker');
        this.dispatch(plan.continuation);
        return;
      default:
        assertNever(plan);
    }
  }

  #fail(error: ErrorInfo): void {
    if (this.#phase === 'closed') return;
    if (this.#phase === 'cancelling') return this.#close();
    if (this.#attempt) this.#sendCancel(this.#attempt);
    const status = this.#answer.fail(error);
    this.init.log.warn({ requestId: this.init.requestId, code: error.code, err: error.message, status }, 'request failed');
    this.#accounting.answered(status);
    this.#end = { ...this.#partialUsage(), outcome: 'failed', status, errorCode: error.code };
    this.#close();
  }

  /**
   * The answer is complete. After a migration the engine's counts cover its own part: the prompt it
   * saw held the delivered text, which the completion counts instead.
   */
  #finish(attempt: Attempt, engineUsage: Usage | undefined, workerCount: number): void {
    if (this.#phase === 'cancelling') return this.#close();
    const missing = this.#answer.missing();
    if (missing) {
      this.#badOutput();
      return this.#recover({ code: ErrorCode.upstreamError, retryable: true, message: `worker ${attempt.workerId}'s answer was incomplete: ${missing}` });
    }
    const carried = attempt.continuation?.tokens ?? 0;
    const reconciled = reconcileUsage(engineUsage, { promptTokens: this.init.promptTokens, completionTokens: workerCount + carried }, carried);
    const { usage } = reconciled;
    this.#answer.end(usage);
    this.#accounting.completed(reconciled);
    this.#end = completedEnd(usage, attempt.workerId ?? this.#firstWorker?.workerId, this.#answer.delivered.finishReason, this.#migrations);
    this.#close();
  }

  /** What a request that did not finish used: its prompt once a worker took it, and the deltas it got. */
  #partialUsage(): Pick<SessionEnd, 'promptTokens' | 'completionTokens' | 'workerId'> {
    const workerId = this.#attempt?.workerId ?? this.#firstWorker?.workerId;
    return {
      promptTokens: workerId ? this.init.promptTokens : 0,
      completionTokens: this.#answer.delivered.deltas,
      ...(workerId ? { workerId } : {}),
    };
  }

  #close(): void {
    if (this.#phase === 'closed') return;
    const cancelled = this.#phase === 'cancelling';
    this.#phase = 'closed';
    if (this.#attempt) this.init.replies.close(this.#attempt.reply);
    // However it ended, its journal is over (a reader then stops instead of waiting on `alive`s).
    this.init.journal?.end();
    this.init.onClose();
    this.init.onEnd?.(this.#end ?? { ...this.#partialUsage(), outcome: cancelled ? 'cancelled' : 'failed', status: cancelled ? 499 : 500 });
  }
}
