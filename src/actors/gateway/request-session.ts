/**
 * One client request, from dispatch to the last byte: receives the frames a router and a worker send
 * to its inbox, writes SSE or the final JSON, retries on another worker while nothing has reached
 * the client, turns a break after output started into an SSE error event, and cancels the worker's
 * engine request when the client goes away.
 */
import type { ServerResponse } from 'node:http';
import { ErrorCode, type ErrorInfo, assertNever } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { GatewayMetrics } from '../../observability/gateway-metrics.js';
import { subjects } from '../../transport/subjects.js';
import type { Inbound, Transport } from '../../transport/transport.js';
import type { InferRequest, RoutingHints, WorkerInbound } from '../worker/worker.protocol.js';
import { sendError, sendJson, sseErrorEvent } from './http-io.js';
import { CompletionAccumulator, type RenderContext, renderChunkEvents, renderUsageEvent } from './openai-render.js';
import { parseReplyFrame } from './reply.protocol.js';
import type { ValidatedRequest } from './request-schema.js';
import { type ReconciledUsage, reconcileUsage } from './usage-reconcile.js';

export interface SessionLimits {
  /** Dispatch attempts before giving up (a retry goes to another worker). */
  maxAttempts: number;
  /** How long to wait for a worker's `accepted` after a dispatch. */
  acceptTimeoutMs: number;
  /** Longest silence from the worker once it accepted. */
  idleTimeoutMs: number;
}

export interface SessionInit {
  transport: Transport;
  metrics: GatewayMetrics;
  log: Logger;
  limits: SessionLimits;
  reply: string;
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
  /** `x-llmux-debug: 1`: answer with headers naming the worker and the routing method. */
  debug: boolean;
  /** Headers every answer carries (rate limits), errors included. */
  responseHeaders?: Record<string, string>;
  /** Set when the gateway capped the completion at what the rate limits reserved (the client gave no max_tokens). */
  completionBudget?: { tokens: number; why: string };
  /** Called once, when the request is over however it ended: settles its reservation, writes its ledger record. */
  onEnd?: (end: SessionEnd) => void;
  res: ServerResponse;
  /** process.hrtime.bigint() at arrival. */
  arrivedAt: bigint;
  /** Called once when the session is over and can leave the gateway's table. */
  onClose: () => void;
}

/** How a request ended, for the limiter and the usage ledger. */
export interface SessionEnd {
  outcome: 'ok' | 'failed' | 'cancelled';
  /** The HTTP status sent; 499 when the client went away first. */
  status: number;
  workerId?: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
  finishReason?: string;
  errorCode?: string;
}

type Phase = 'routing' | 'accepted' | 'cancelling' | 'closed';

const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;

export class RequestSession {
  #phase: Phase = 'routing';
  #attempt = 0;
  readonly #exclude: string[] = [];
  #workerId: string | undefined;
  #routingMethod: string | undefined;
  /** The last failure a worker reported: what the client hears if the router then runs out of workers. */
  #lastWorkerError: ErrorInfo | undefined;
  #expectedSeq = 0;
  #chunksThisAttempt = 0;
  #headersSent = false;
  #acc = new CompletionAccumulator();
  #lastActivity = Date.now();
  /** Content deltas received (about one per token): what a cancelled or failed request is charged. */
  #deltas = 0;
  #finishReason: string | undefined;
  #end: SessionEnd | undefined;
  readonly #render: RenderContext;

  constructor(readonly init: SessionInit) {
    this.#render = {
      id: `${init.request.operation === 'chat' ? 'chatcmpl' : 'cmpl'}-${init.requestId}`,
      created: Math.floor(Date.now() / 1000),
      clientModel: init.clientModel,
      operation: init.request.operation,
    };
  }

  dispatch(): void {
    const { init } = this;
    this.#attempt++;
    this.#phase = 'routing';
    this.#workerId = undefined;
    this.#routingMethod = undefined;
    this.#expectedSeq = 0;
    this.#chunksThisAttempt = 0;
    this.#acc = new CompletionAccumulator();
    this.#lastActivity = Date.now();
    const request: InferRequest = {
      type: 'infer',
      requestId: init.requestId,
      functionId: init.functionId,
      model: init.model,
      operation: init.request.operation,
      stream: init.request.stream,
      body: init.request.body,
      exclude: this.#exclude,
      tokenizer: init.tokenizer,
      promptTokens: init.promptTokens,
      routing: { ...init.routing, attempt: this.#attempt },
    };
    init.transport.publish(subjects.route(init.functionId), request, {
      reply: init.reply,
      headers: { requestId: init.requestId, deadline: init.deadline, traceparent: init.traceparent },
    });
  }

  onMessage(message: Inbound): void {
    if (this.#phase === 'closed') return;
    this.#lastActivity = Date.now();
    if (message.noResponders) {
      // Nobody listened: no router, or the chosen worker died since its last heartbeat.
      this.#retryOrFail({ code: ErrorCode.noActiveBackend, retryable: true,
        message: 'no router or worker answered; is the model served?' });
      return;
    }
    const frame = parseReplyFrame(message.body);
    if (!frame) {
      this.init.log.warn({ requestId: this.init.requestId }, 'dropped a malformed reply frame');
      return;
    }
    switch (frame.type) {
      case 'accepted':
        this.#workerId = frame.workerId;
        this.#routingMethod = frame.routingMethod;
        if (this.#phase === 'cancelling') this.#sendCancel();
        else this.#phase = 'accepted';
        return;
      case 'chunk':
        if (!this.#inSequence(frame.seq)) return;
        this.#chunksThisAttempt++;
        for (const d of frame.deltas) {
          this.#deltas++;
          if (d.finishReason) this.#finishReason = d.finishReason;
        }
        if (this.#phase === 'cancelling') return;
        if (this.init.request.stream) this.#writeEvents(renderChunkEvents(this.#render, frame.deltas));
        else this.#acc.add(frame.deltas);
        return;
      case 'end':
        if (!this.#inSequence(frame.seq)) return;
        this.#finish(reconcileUsage(frame.usage, { promptTokens: this.init.promptTokens, completionTokens: frame.completionTokens }));
        return;
      case 'error':
        if (frame.seq >= 0 && !this.#inSequence(frame.seq)) return;
        if (frame.workerId) {
          this.#lastWorkerError = frame.error;
          if (frame.error.retryable) this.#exclude.push(frame.workerId);
          this.#retryOrFail(frame.error);
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

  /** The client closed the connection before the answer was complete. */
  clientGone(): void {
    if (this.#phase === 'closed' || this.#phase === 'cancelling') return;
    this.init.metrics.cancellations.inc();
    this.init.log.info({ requestId: this.init.requestId, worker: this.#workerId }, 'client went away; cancelling');
    this.#phase = 'cancelling';
    this.#lastActivity = Date.now();
    if (this.#workerId) this.#sendCancel();
    // Without a worker yet, the cancel goes out when `accepted` arrives (or the accept timeout ends it).
  }

  /** Called periodically by the gateway; ends sessions whose worker went silent. */
  checkTimeout(now: number): void {
    const silence = now - this.#lastActivity;
    switch (this.#phase) {
      case 'routing':
        if (silence > this.init.limits.acceptTimeoutMs) {
          this.#retryOrFail({ code: ErrorCode.noActiveBackend, retryable: true, message: 'no worker accepted the request in time' });
        }
        return;
      case 'accepted':
        if (silence > this.init.limits.idleTimeoutMs || now > this.init.deadline) {
          this.#fail({ code: ErrorCode.timeout, retryable: true, message: `the worker sent nothing for ${Math.round(silence / 1000)} s` });
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

  #inSequence(seq: number): boolean {
    if (seq === this.#expectedSeq) {
      this.#expectedSeq++;
      return true;
    }
    this.#fail({ code: ErrorCode.upstreamError, retryable: true,
      message: `frames lost between worker and gateway (expected #${this.#expectedSeq}, got #${seq})` });
    return false;
  }

  #sendCancel(): void {
    if (!this.#workerId) return;
    const cancel: WorkerInbound = { type: 'cancel', requestId: this.init.requestId, reply: this.init.reply };
    this.init.transport.publish(subjects.workerCancel(this.#workerId), cancel, { headers: { requestId: this.init.requestId } });
  }

  #writeEvents(text: string): void {
    const { res } = this.init;
    if (!this.#headersSent) {
      this.#headersSent = true;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        ...this.#headers(),
      });
      this.init.metrics.timeToFirstToken.observe(
        { gen_ai_operation_name: this.#render.operation, gen_ai_request_model: this.init.clientModel }, seconds(this.init.arrivedAt));
    }
    if (text) res.write(text);
  }

  #headers(): Record<string, string> {
    const { responseHeaders, completionBudget, debug } = this.init;
    return {
      ...responseHeaders,
      ...(completionBudget ? { 'x-llmux-completion-budget': String(completionBudget.tokens) } : {}),
      ...(debug && this.#workerId ? { 'x-llmux-worker': this.#workerId } : {}),
      ...(debug && this.#routingMethod ? { 'x-llmux-routing-method': this.#routingMethod } : {}),
    };
  }

  #retryOrFail(error: ErrorInfo): void {
    const nothingSent = !this.#headersSent && this.#chunksThisAttempt === 0;
    if (this.#phase !== 'cancelling' && nothingSent && error.retryable && this.#attempt < this.init.limits.maxAttempts) {
      this.init.log.info({ requestId: this.init.requestId, attempt: this.#attempt, code: error.code, err: error.message }, 'retrying on another worker');
      this.dispatch();
      return;
    }
    this.#fail(error);
  }

  #fail(error: ErrorInfo): void {
    if (this.#phase === 'closed') return;
    if (this.#phase === 'cancelling') {
      this.#close();
      return;
    }
    // The worker may still be generating (a lost frame, a timeout): stop it.
    if (this.#workerId) this.#sendCancel();
    const { res } = this.init;
    let status: number;
    if (this.#headersSent) {
      res.end(sseErrorEvent(error));
      status = 200;
    } else {
      status = sendError(res, error, this.init.responseHeaders);
    }
    this.init.log.warn({ requestId: this.init.requestId, code: error.code, err: error.message, status }, 'request failed');
    this.#record(status);
    this.#end = { ...this.#partialUsage(), outcome: 'failed', status, errorCode: error.code };
    this.#close();
  }

  #finish({ usage, differences }: ReconciledUsage): void {
    if (this.#phase === 'cancelling') {
      this.#close();
      return;
    }
    const { res } = this.init;
    if (this.init.request.stream) {
      this.#writeEvents('');
      if (this.init.request.includeUsage) res.write(renderUsageEvent(this.#render, usage));
      const budget = this.init.completionBudget;
      // An SSE comment (clients ignore it): why a stream the client did not limit stopped at `length`.
      if (budget && this.#finishReason === 'length') res.write(`: llmux: the completion stopped at the ${budget.tokens} tokens reserved for it (${budget.why})\n\n`);
      res.end('data: [DONE]\n\n');
    } else {
      sendJson(res, 200, this.#acc.render(this.#render, usage), this.#headers());
    }
    const model = this.init.clientModel;
    const { metrics } = this.init;
    metrics.tokens.inc({ gen_ai_token_type: 'input', gen_ai_request_model: model }, usage.promptTokens);
    metrics.tokens.inc({ gen_ai_token_type: 'output', gen_ai_request_model: model }, usage.completionTokens);
    if (differences.prompt !== undefined) metrics.tokenCountDifference.observe({ gen_ai_token_type: 'input', gen_ai_request_model: model }, differences.prompt);
    if (differences.completion !== undefined) metrics.tokenCountDifference.observe({ gen_ai_token_type: 'output', gen_ai_request_model: model }, differences.completion);
    this.#record(200);
    this.#end = {
      outcome: 'ok', status: 200, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
      ...(this.#workerId ? { workerId: this.#workerId } : {}),
      ...(usage.cachedTokens !== undefined ? { cachedTokens: usage.cachedTokens } : {}),
      ...(this.#finishReason ? { finishReason: this.#finishReason } : {}),
    };
    this.#close();
  }

  /** What a request that did not finish used: its prompt once a worker took it, and the deltas it got. */
  #partialUsage(): Pick<SessionEnd, 'promptTokens' | 'completionTokens' | 'workerId'> {
    return {
      promptTokens: this.#workerId ? this.init.promptTokens : 0,
      completionTokens: this.#deltas,
      ...(this.#workerId ? { workerId: this.#workerId } : {}),
    };
  }

  #record(status: number): void {
    const route = this.#render.operation === 'chat' ? '/v1/chat/completions' : '/v1/completions';
    this.init.metrics.requests.inc({ route, status: String(status) });
    this.init.metrics.duration.observe(
      { gen_ai_operation_name: this.#render.operation, gen_ai_request_model: this.init.clientModel, status: String(status) },
      seconds(this.init.arrivedAt),
    );
  }

  #close(): void {
    if (this.#phase === 'closed') return;
    const cancelled = this.#phase === 'cancelling';
    this.#phase = 'closed';
    this.init.onClose();
    this.init.onEnd?.(this.#end ?? { ...this.#partialUsage(), outcome: cancelled ? 'cancelled' : 'failed', status: cancelled ? 499 : 500 });
  }
}
