/**
 * The engine call of one request and its relay to the gateway: drives the engine through its
 * adapter (one embeddings call, or a generation stream), sends the answer as `chunk` or `vectors`
 * frames then `end`, or `cancelled` or `error` when it was aborted or failed, and tells the actor
 * its first token and its end. A streamed answer whose engine goes silent after its first token is
 * aborted as stalled; a client that stops reading pauses the engine read (the `flow` message).
 */
import { ErrorCode, type ErrorInfo, LlmuxError, assertNever, httpStatusOf } from '../../errors.js';
import type { EmbeddingRequest, EngineAdapter, Delta, Usage } from '../../engine-adapters/adapter.js';
import { embedWith } from '../../engine-adapters/capabilities.js';
import { engineFailureDetail } from '../../engine-adapters/engine-errors.js';
import { operations } from '../../operations/index.js';
import { packVectors } from '../../protocol/vectors.js';
import { type Logger, requestLogFields } from '../../observability/logger.js';
import type { TokenCounter } from '../../tokenize/index.js';
import type { MessageHeaders, Transport } from '../../transport/transport.js';
import type { ActorRef } from '../runtime/actor.js';
import { OutputText } from './output-text.js';
import type { InferRequest } from './worker.protocol.js';
import type { AbortReason, Held, Outcome } from './held-request.js';
import type { ReplyFrames } from './reply-frames.js';
import type { WorkerMessage } from './worker-message.js';
import { traceWorker } from '../../observability/spans.js';
import { stampHop } from '../../observability/hop-timing.js';
import type { WorkerMetricsHooks } from '../../observability/worker-metrics.js';

export interface EngineCallOptions {
  transport: Transport;
  engine: EngineAdapter;
  /** Counts completion tokens (every request: the engine's own count, when it has one, is checked against it). */
  tokens: TokenCounter;
  log: Logger;
  metrics: WorkerMetricsHooks | undefined;
  workerId: string;
  engineStallMs: number;
  frames: ReplyFrames;
  /** The engine went silent mid-answer (WorkerStats.engineStalls). */
  onStall: () => void;
  /** The request's run is over; the actor hears `finished` right after. */
  onRunOver: (reply: string) => void;
  /** The engine's first output for a request its router expected a prefill of (held.prefill was above 0; it is 0 now). */
  onPrefilled: () => void;
}

/** Runs one held request's engine call to its end, telling `self` its first token and `finished`. */
export type EngineCall = (self: ActorRef<WorkerMessage>, request: InferRequest, reply: string, headers: MessageHeaders, held: Held) => Promise<void>;

/** What the engine is asked for an embeddings request: the gateway already put `input` in array form. */
function embeddingRequest(request: InferRequest, headers: MessageHeaders): EmbeddingRequest {
  const { input, dimensions } = request.body;
  return {
    model: request.model, input: input as EmbeddingRequest['input'], body: request.body, requestId: request.requestId,
    ...(typeof dimensions === 'number' ? { dimensions } : {}), ...(headers.deadline ? { deadline: headers.deadline } : {}),
    ...(headers.traceparent ? { traceparent: headers.traceparent } : {}),
  };
}

function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof LlmuxError) return error.toInfo();
  // The client hears llmux's words; what went wrong inside is logged (engineFailureDetail below).
  return { code: ErrorCode.internalError, message: 'the worker failed serving the request', retryable: true };
}

export function createEngineCall(options: EngineCallOptions): EngineCall {
  const { transport, engine, tokens, log, metrics, workerId, engineStallMs } = options;
  const { send, sendStreamed, streamedBatch } = options.frames;

  /** Tokens of the output, by the request's tokenizer; when that fails, the engine's count (or the delta count) stands. */
  const countOutput = async (request: InferRequest, output: OutputText, rlog: () => Logger): Promise<number> => {
    try {
      const counts = await tokens.countTexts(request.tokenizer, output.texts());
      return counts.reduce((a, b) => a + b, 0);
    } catch (error) {
      rlog().warn({ tokenizer: request.tokenizer, err: error }, 'completion token counting failed; using the delta count');
      return output.deltas;
    }
  };

  /** An embeddings request: the vectors in frames under the NATS max_payload (less room for the envelope), then `end`; returns the tokens served. */
  const embed = async (request: InferRequest, reply: string, headers: MessageHeaders, held: Held): Promise<number> => {
    const result = await embedWith(engine, embeddingRequest(request, headers), held.controller.signal);
    for (const block of packVectors(result.vectors, Math.floor(transport.maxPayload() * 0.75))) {
      send(reply, held, { type: 'vectors', seq: held.seq++, ...block });
    }
    send(reply, held, { type: 'end', seq: held.seq++, completionTokens: 0, ...(result.usage ? { usage: result.usage } : {}) });
    return result.usage?.promptTokens ?? request.promptTokens;
  };

  const run = async (self: ActorRef<WorkerMessage>, request: InferRequest, reply: string, headers: MessageHeaders, held: Held): Promise<void> => {
    const { controller } = held;
    let usage: Usage | undefined;
    let outcome: Outcome = 'failed';
    let tokensServed = 0;
    const started = performance.now();
    let firstOutput = true;
    const output = new OutputText();
    /**
     * A non-streaming answer's chunks go out with its `end`: one flush, one socket write and one read
     * fewer (docs/benchmarks.md). Numbered when sent, so a keepalive meanwhile names no chunk not sent.
     */
    const unsent: Delta[][] = [];
    const sendUnsent = (): void => {
      sendStreamed(reply, held);
      for (const deltas of unsent.splice(0)) send(reply, held, { type: 'chunk', seq: held.seq++, deltas });
    };
    const span = traceWorker(headers.traceparent, request, engine.kind, workerId);
    // Only a request that fails or is cancelled writes a line: its logger is made then, not per request.
    const rlog = (): Logger => log.child(requestLogFields(request.requestId, headers.traceparent));
    const meter = metrics?.engineCall({ operation: request.operation, model: request.model, provider: engine.kind, traceparent: span.engineTraceparent });
    /** Aborts the engine request when the engine goes silent after its first token (a stuck engine; a prefill may be long). */
    let stallTimer: NodeJS.Timeout | undefined;
    const watchStall = (): void => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => controller.abort('stalled' satisfies AbortReason), engineStallMs);
      stallTimer.unref();
    };
    try {
      // What the operation asks of the engine: generation goes on below; embeddings are one call.
      const work = operations[request.operation].work;
      switch (work.kind) {
        case 'generate':
          break;
        case 'embed':
          tokensServed = await embed(request, reply, { ...headers, ...(span.engineTraceparent ? { traceparent: span.engineTraceparent } : {}) }, held);
          outcome = 'ok';
          return;
        default:
          assertNever(work);
      }
      const base = { operation: work.operation, stream: request.stream, model: request.model, body: request.body, requestId: request.requestId,
        ...(headers.deadline ? { deadline: headers.deadline } : {}), ...(span.engineTraceparent ? { traceparent: span.engineTraceparent } : {}) };
      const engineRequest = request.continuation ? engine.continueRequest?.(base, request.continuation) : base;
      if (!engineRequest) {
        throw new LlmuxError({ code: ErrorCode.upstreamError, retryable: true, message: `engine '${engine.kind}' cannot continue this partial answer` });
      }
      if (headers.hops !== undefined) headers.hops = stampHop(headers.hops, 'w.call');
      const stream = engine.stream(engineRequest, controller.signal);
      for await (const events of stream) {
        const deltas: Delta[] = [];
        for (const e of events) {
          if (e.type === 'delta') {
            deltas.push(e.delta);
            output.add(e.delta);
          } else {
            usage = usage ? { ...usage, ...e.usage } : e.usage;
          }
        }
        if (deltas.length === 0) continue;
        meter?.chunk();
        if (firstOutput) {
          firstOutput = false;
          if (request.stream) self.tell({ type: 'first-token', ms: performance.now() - started });
          if (held.prefill > 0) {
            held.prefill = 0;
            // A non-streamed answer's first output is the whole answer (the engine is asked with
            // stream: false): its finish follows at once and reports the same, so no event of its own
            // (two NATS writes a request fewer, bench:latency).
            if (request.stream) options.onPrefilled();
          }
        }
        if (request.stream) watchStall();
        if (request.stream) {
          // Every read of this turn in one frame, sent with every other request's frames of the turn.
          if (held.streamed.length === 0) held.streamed = deltas;
          else for (const d of deltas) held.streamed.push(d);
          streamedBatch.due(reply);
        } else unsent.push(deltas);
        if (held.paused) {
          // The client is not reading: stop reading the engine (its socket fills) until it catches up.
          clearTimeout(stallTimer);
          await held.paused.done;
          if (request.stream) watchStall();
        }
      }
      clearTimeout(stallTimer);
      if (headers.hops !== undefined) headers.hops = stampHop(headers.hops, 'w.engine');
      const completionTokens = await countOutput(request, output, rlog);
      sendUnsent();
      send(reply, held, { type: 'end', seq: held.seq++, completionTokens, ...(usage ? { usage } : {}) }, headers.hops !== undefined ? stampHop(headers.hops, 'w.end') : undefined);
      meter?.generated(usage?.completionTokens ?? completionTokens);
      outcome = 'ok';
      tokensServed = (usage?.promptTokens ?? request.promptTokens) + (usage?.completionTokens ?? completionTokens);
    } catch (error) {
      clearTimeout(stallTimer);
      const reason = controller.signal.aborted ? (controller.signal.reason as AbortReason) : undefined;
      if (reason === 'cancel' || reason === 'orphaned') {
        outcome = 'cancelled';
        held.streamed = [];
        send(reply, held, { type: 'cancelled', requestId: request.requestId });
        rlog().info({ reason }, reason === 'cancel' ? 'engine request aborted on cancel' : 'engine request aborted: its gateway is gone');
      } else {
        if (reason === 'stalled') options.onStall();
        // A shutdown or a stuck engine: the gateway carries the request on elsewhere.
        const info = reason === 'shutdown'
          ? { code: ErrorCode.upstreamError, retryable: true, message: `worker ${workerId} stopped with the request in flight` }
          : reason === 'stalled'
            ? { code: ErrorCode.timeout, retryable: true, message: `the engine sent nothing for ${engineStallMs} ms mid-answer` }
            : toErrorInfo(error);
        // A 4xx is the client's fault: the engine is fine, and the circuit breaker must not count it.
        outcome = reason === 'shutdown' ? 'cancelled' : httpStatusOf(info.code) >= 500 ? 'failed' : 'ok';
        sendUnsent();
        send(reply, held, { type: 'error', seq: held.seq++, error: info, workerId });
        const detail = engineFailureDetail(error) ?? (error instanceof LlmuxError ? undefined : String(error));
        rlog().warn({ code: info.code, err: info.message, ...(detail ? { detail } : {}) }, 'engine request failed');
      }
    } finally {
      span.end(outcome, usage);
      meter?.end(outcome, controller.signal.aborted ? String(controller.signal.reason) : undefined);
      options.onRunOver(reply);
      self.tell({ type: 'finished', reply, outcome, tokens: tokensServed });
    }
  };
  return run;
}
