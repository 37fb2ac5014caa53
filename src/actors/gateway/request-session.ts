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
 * stream its successor now serves. Writing to the client is ClientStream's job, metrics and the end
 * record SessionAccounting's.
 */
import type { ServerResponse } from 'node:http';
import type { Delta } from '../../engine-adapters/adapter.js';
import { ErrorCode, type ErrorInfo, assertNever } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { SampledWarning } from '../../observability/sampled-warning.js';
import type { GatewayMetrics } from '../../observability/gateway-metrics.js';
import { subjects } from '../../transport/subjects.js';
import type { Inbound, MessageHeaders, Transport } from '../../transport/transport.js';
import type { Continuation, Usage } from '../../engine-adapters/adapter.js';
import type { InferFrame, RoutingHints, WorkerInbound } from '../worker/worker.protocol.js';
import { encode } from '../../transport/codec.js';
import { ClientStream } from './client-stream.js';
import { Delivered } from './delivered.js';
import { requestedMaxTokens } from './prompt-tokens.js';
import type { JournalWriter } from './stream-journal.js';
import { operations, type OperationSpec } from '../../operations/index.js';
import type { Output, RenderContext, StreamRender, WholeAnswer } from '../../operations/operation.js';
import { parseReplyFrame } from './reply.protocol.js';
import { signedBy } from './answer-signer.js';
import { isObject } from '../../protocol/guards.js';
import type { ValidatedRequest } from './request-schema.js';
import { SessionAccounting, type SessionEnd } from './session-accounting.js';
import { reconcileUsage } from './usage-reconcile.js';
import { addHops, finishHops, hopTimingOn, stampHop } from '../../observability/hop-timing.js';

export type { SessionEnd } from './session-accounting.js';

export interface SessionLimits {
  /** Dispatch attempts before the first byte (a retry goes to another worker). */
  maxAttempts: number;
  /** How long to wait for a worker's `accepted` after a dispatch. */
  acceptTimeoutMs: number;
  /** A worker that holds the request and sends nothing, not even a keepalive, this long is gone. */
  livenessTimeoutMs: number;
  /** Longest the engine may go without output once a worker accepted (the worker's keepalives do not count). */
  idleTimeoutMs: number;
  /** How often the gateway renews its leases on the workers that hold its requests. */
  leaseIntervalMs: number;
  /** A client that reads nothing for this long while its stream waits is dropped and the request cancelled. */
  clientStallMs: number;
  /** A client that lets this many bytes pile up unread is dropped and the request cancelled. */
  maxBufferedBytes: number;
}

export const defaultSessionLimits: SessionLimits = {
  maxAttempts: 3, acceptTimeoutMs: 2_000, livenessTimeoutMs: 1_500, idleTimeoutMs: 120_000, leaseIntervalMs: 500,
  clientStallMs: 30_000, maxBufferedBytes: 1024 * 1024,
};

/** Reply subjects for a session's attempts, each routed back to the session by the gateway. */
export interface ReplySubjects {
  open(): string;
  /** Frames to `reply` are dropped from now on. */
  close(reply: string): void;
}

export interface SessionInit {
  transport: Transport;
  metrics: GatewayMetrics;
  log: Logger;
  /** Where frames signed by another worker than the holder are reported (sampled: the gateway's, shared by its sessions). */
  forgedFrames: SampledWarning;
  limits: SessionLimits;
  replies: ReplySubjects;
  requestId: string;
  traceparent: string;
  deadline: number;
  functionId: string;
  model: string;
  clientModel: string;
  request: ValidatedRequest;
  /** The tokenizer the prompt was counted with (the worker counts the completion with it). */
  tokenizer: string;
  /** Prompt tokens counted before admission: usage reports them when the engine does not. */
  promptTokens: number;
  routing: Omit<RoutingHints, 'attempt'>;
  /** Migrations allowed after output started (llmConfig.migration.attempts); 0 turns migration off. */
  migrationAttempts: number;
  /** `x-llmux-debug: 1`: answer with headers naming the worker and the routing method. */
  debug: boolean;
  /** The stream's id, in every SSE event's `id:`. */
  streamId: string;
  /** A resumable stream's journal: the request keeps generating when its client drops. */
  journal?: JournalWriter;
  /** Headers every answer carries (rate limits), errors included. */
  responseHeaders?: Record<string, string>;
  /** Set when the gateway capped the completion at what the rate limits reserved (the client gave no max_tokens). */
  completionBudget?: { tokens: number; why: string };
  /** Called with the whole answer once it is complete, streamed or not (Responses keeps it). */
  onAnswer?: (answer: Record<string, unknown>) => void;
  /** Called once, when the request is over however it ended: settles its reservation, writes its ledger record. */
  onEnd?: (end: SessionEnd) => void;
  res: ServerResponse;
  /** process.hrtime.bigint() at arrival. */
  arrivedAt: bigint;
  /** The request's metrics (the pipeline's; default: a new one). */
  accounting?: SessionAccounting;
  /** Called once when the session is over and can leave the gateway's table. */
  onClose: () => void;
}

type Phase = 'routing' | 'accepted' | 'cancelling' | 'closed';

/** One dispatch to one worker. */
interface Attempt {
  reply: string;
  workerId: string | undefined;
  routingMethod: string | undefined;
  expectedSeq: number;
  /** Any frame of this attempt, keepalives included. */
  lastHeard: number;
  /** Engine output (a chunk) of this attempt. */
  lastOutput: number;
  /** What this attempt carries on from, when it is a migration. */
  continuation: Continuation | undefined;
}

/** Structured output (JSON mode, a schema) is not continued by another engine: its grammar starts over. */
const isStructured = (body: Record<string, unknown>): boolean => {
  const format = body.response_format as { type?: unknown } | undefined;
  return format?.type === 'json_object' || format?.type === 'json_schema';
};

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
  #delivered = new Delivered();
  /** The non-streamed answer so far (the operation's), rebuilt for each retry. */
  #answer: WholeAnswer;
  #end: SessionEnd | undefined;
  /** The current attempt timed out waiting for `accepted`: its successor asks the router to skip that worker. */
  #unanswered = false;
  /** Since when the client's socket has been full (the worker is paused), if it is. */
  #pausedSince: number | undefined;
  readonly #op: OperationSpec;
  readonly #stream: StreamRender | undefined;
  readonly #render: RenderContext;
  readonly #client: ClientStream;
  readonly #accounting: SessionAccounting;
  /** The OpenAI body encoded once for every dispatch: routers forward it without decoding it (worker.protocol.ts). */
  #body: Uint8Array | undefined;

  constructor(readonly init: SessionInit) {
    this.#op = operations[init.request.operation];
    this.#answer = this.#op.answer(init.request);
    this.#stream = init.request.stream ? (this.#op.openStream?.(init.request) ?? this.#op.stream) : undefined;
    this.#render = { id: `${this.#op.idPrefix}-${init.requestId}`, created: Math.floor(Date.now() / 1000), clientModel: init.clientModel, promptTokens: init.promptTokens };
    this.#accounting = init.accounting ?? new SessionAccounting(init.metrics, this.#op, init.clientModel, init.arrivedAt);
    this.#client = new ClientStream(init.res, {
      onFirstByte: () => this.#accounting.firstByte(), streamId: init.streamId, ...(init.journal ? { journal: init.journal } : {}),
      ...(this.#op.errorBody ? { errorBody: this.#op.errorBody } : {}),
    });
  }

  /** Bytes written for the client and not yet taken by its socket. */
  buffered(): number {
    return this.#client.buffered;
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
    // A successor starts unpaused: the next full write pauses it.
    this.#pausedSince = undefined;
    this.#dispatches++;
    this.#phase = 'routing';
    const now = Date.now();
    const attempt: Attempt = {
      reply: init.replies.open(), workerId: undefined, routingMethod: undefined, expectedSeq: 0, lastHeard: now, lastOutput: now, continuation,
    };
    this.#attempt = attempt;
    const request: InferFrame = {
      type: 'infer',
      requestId: init.requestId,
      functionId: init.functionId,
      model: init.model,
      operation: init.request.operation,
      stream: init.request.stream,
      body: this.#body ??= encode(init.request.body),
      exclude: this.#exclude,
      tokenizer: init.tokenizer,
      promptTokens: init.promptTokens,
      routing: { ...init.routing, attempt: this.#dispatches, ...(unanswered ? { unanswered } : {}) },
      ...(continuation ? { continuation } : {}),
    };
    const headers: MessageHeaders = { requestId: init.requestId, deadline: init.deadline, traceparent: init.traceparent };
    if (hopTimingOn) headers.hops = stampHop(undefined, 'g.dispatch');
    init.transport.publish(subjects.route(init.functionId), request, { reply: attempt.reply, headers });
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
    if (signer !== undefined && !this.#signedByHolder(attempt, message.body, signer)) {
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
   * Whether a signed frame comes from the worker that holds `attempt`: the one that accepted it, or
   * before that, the one an `accepted` or `error` frame names (a draining worker refuses with an error).
   */
  #signedByHolder(attempt: Attempt, body: unknown, signer: string): boolean {
    if (attempt.workerId !== undefined) return signedBy(signer, attempt.workerId);
    const named = isObject(body) && (body.type === 'accepted' || body.type === 'error') ? body.workerId : undefined;
    return typeof named === 'string' && signedBy(signer, named);
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
    if (this.#client.resumable && this.init.request.stream) {
      // The client may come back with Last-Event-ID: the answer goes on, into the journal.
      this.init.log.info({ requestId: this.init.requestId, streamId: this.init.streamId }, 'client went away from a resumable stream; generating on');
      this.#client.detach();
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
      case 'accepted':
        if (this.#pausedSince !== undefined && now - this.#pausedSince > this.init.limits.clientStallMs) {
          this.#clientStalled(`nothing read for ${now - this.#pausedSince} ms`);
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
    this.#delivered.add(fresh);
    if (this.#phase === 'cancelling') return;
    const render = this.#stream;
    if (!this.init.request.stream || !render) return this.#onOutput({ type: 'deltas', deltas: fresh });
    // A streamed answer is kept whole too when someone wants it whole.
    if (this.init.onAnswer) this.#answer.add({ type: 'deltas', deltas: fresh });
    const flowing = this.#client.events(render.chunkEvents(this.#render, fresh), () => this.#headers());
    if (this.#client.buffered > this.init.limits.maxBufferedBytes) return this.#clientStalled(`${this.#client.buffered} bytes unread`);
    if (!flowing && this.#pausedSince === undefined) {
      this.#pausedSince = Date.now();
      this.#sendFlow(attempt, true);
    }
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
    if (this.#pausedSince === undefined || this.#phase === 'closed') return;
    this.#pausedSince = undefined;
    if (this.#attempt) this.#sendFlow(this.#attempt, false);
  }

  #sendFlow(attempt: Attempt, paused: boolean): void {
    if (!attempt.workerId) return;
    const flow: WorkerInbound = { type: 'flow', reply: attempt.reply, paused };
    this.init.transport.publish(subjects.workerFlow(attempt.workerId), flow, { headers: { requestId: this.init.requestId } });
  }

  /** A client that does not read: cancel its request and drop its connection, so nothing waits for it in memory. */
  #clientStalled(why: string): void {
    this.init.metrics.slowClients.inc();
    this.init.log.warn({ requestId: this.init.requestId, why }, 'client stopped reading; cancelling');
    this.#client.abandon();
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
    if (!attempt.workerId) return;
    const cancel: WorkerInbound = { type: 'cancel', requestId: this.init.requestId, reply: attempt.reply };
    this.init.transport.publish(subjects.workerCancel(attempt.workerId), cancel, { headers: { requestId: this.init.requestId } });
  }

  #headers(): Record<string, string> {
    const { responseHeaders, completionBudget, debug } = this.init;
    const first = this.#firstWorker;
    return {
      ...responseHeaders,
      ...(completionBudget ? { 'x-llmux-completion-budget': String(completionBudget.tokens) } : {}),
      ...(debug && first ? { 'x-llmux-worker': first.workerId } : {}),
      ...(debug && first?.routingMethod ? { 'x-llmux-routing-method': first.routingMethod } : {}),
    };
  }

  /** The client's limit on the completion (the reserved budget when it gave none). */
  #maxTokens(): number | undefined {
    return requestedMaxTokens(this.init.request);
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
    if (!error.retryable) return this.#fail(error);
    const { stream } = this.init.request;
    if (!this.#client.started) {
      if (this.#tries >= this.init.limits.maxAttempts - 1) return this.#fail(error);
      this.#tries++;
      this.init.log.info({ requestId: this.init.requestId, attempt: this.#dispatches, code: error.code, err: error.message }, 'retrying on another worker');
      // A non-streaming answer is retried whole: what the failed attempt produced is dropped.
      if (!stream) {
        this.#answer = this.#op.answer(this.init.request);
        this.#delivered = new Delivered();
      }
      this.dispatch();
      return;
    }
    const why = this.#whyNotMigrate();
    if (why) {
      this.init.log.warn({ requestId: this.init.requestId, code: error.code, err: error.message, why }, 'stream broke; not migrating');
      return this.#fail(error);
    }
    const continuation = this.#delivered.continuation(this.#maxTokens());
    if (continuation.maxTokens === 0) {
      // Everything the client asked for arrived; only the end was lost.
      const last = { ...attempt, continuation };
      this.#onDeltas(last, [{ index: 0, finishReason: 'length' }]);
      return this.#finish(last, undefined, 0);
    }
    this.#migrations++;
    this.#accounting.migrated(error.code);
    this.init.log.info({ requestId: this.init.requestId, from: attempt.workerId, delivered: continuation.tokens, code: error.code, err: error.message },
      'carrying the stream on on another worker');
    this.dispatch(continuation);
  }

  #whyNotMigrate(): string | undefined {
    if (this.#migrations >= this.init.migrationAttempts) {
      return this.init.migrationAttempts === 0 ? 'migration is off for this model' : `${this.#migrations} migration(s) already`;
    }
    if (!this.#delivered.continuable) return 'the output is not plain text (tool calls, reasoning or several choices)';
    if (isStructured(this.init.request.body)) return 'structured output (response_format) is not continued';
    return undefined;
  }

  #fail(error: ErrorInfo): void {
    if (this.#phase === 'closed') return;
    if (this.#phase === 'cancelling') return this.#close();
    if (this.#attempt) this.#sendCancel(this.#attempt);
    const status = this.#client.fail(error, this.init.responseHeaders, this.#stream?.failEvents?.(this.#render, error));
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
    const missing = this.init.request.stream ? undefined : this.#answer.missing();
    if (missing) {
      this.#badOutput();
      return this.#recover({ code: ErrorCode.upstreamError, retryable: true, message: `worker ${attempt.workerId}'s answer was incomplete: ${missing}` });
    }
    const carried = attempt.continuation?.tokens ?? 0;
    const reconciled = reconcileUsage(engineUsage, { promptTokens: this.init.promptTokens, completionTokens: workerCount + carried }, carried);
    const { usage } = reconciled;
    if (this.init.request.stream && this.#stream?.endEvents) {
      this.#client.end(this.#stream.endEvents(this.#render, usage), () => this.#headers());
    } else if (this.init.request.stream) {
      let tail = this.init.request.includeUsage && this.#stream ? this.#stream.usageEvent(this.#render, usage) : '';
      const budget = this.init.completionBudget;
      // An SSE comment (clients ignore it): why a stream the client did not limit stopped at `length`.
      if (budget && this.#delivered.finishReason === 'length') tail += `: llmux: the completion stopped at the ${budget.tokens} tokens reserved for it (${budget.why})\n\n`;
      this.#client.end(`${tail}data: [DONE]\n\n`, () => this.#headers());
    } else {
      this.#client.json(200, this.#answer.render(this.#render, usage), this.#headers());
    }
    if (hopTimingOn) finishHops(this.init.res);
    this.init.onAnswer?.(this.#answer.render(this.#render, usage));
    this.#accounting.completed(reconciled);
    const workerId = attempt.workerId ?? this.#firstWorker?.workerId;
    this.#end = {
      outcome: 'ok', status: 200, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
      ...(workerId ? { workerId } : {}),
      ...(usage.cachedTokens !== undefined ? { cachedTokens: usage.cachedTokens } : {}),
      ...(this.#delivered.finishReason ? { finishReason: this.#delivered.finishReason } : {}),
      ...(this.#migrations > 0 ? { migrations: this.#migrations } : {}),
    };
    this.#close();
  }

  /** What a request that did not finish used: its prompt once a worker took it, and the deltas it got. */
  #partialUsage(): Pick<SessionEnd, 'promptTokens' | 'completionTokens' | 'workerId'> {
    const workerId = this.#attempt?.workerId ?? this.#firstWorker?.workerId;
    return {
      promptTokens: workerId ? this.init.promptTokens : 0,
      completionTokens: this.#delivered.deltas,
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
