/**
 * The worker actor: one per engine instance. Registers and heartbeats its load, takes requests the
 * router forwards (replying `accepted` at once to the gateway's inbox), drives the engine through
 * its adapter, and streams `chunk` frames then `end` or `error` to that inbox. A cancel aborts the
 * engine request and is confirmed with a `cancelled` frame.
 *
 * Liveness runs both ways, never on the engine's output (a long prefill is silent for tens of
 * seconds): each keepalive interval the worker sends each gateway one `keepalive` frame naming the
 * requests it holds for it, and the gateway sends a lease naming the requests it still holds; a request whose lease lapses
 * has lost its gateway (killed, frozen, cut off) and its engine request is aborted.
 */
import { ErrorCode, type ErrorInfo, LlmuxError, assertNever, httpStatusOf } from '../../errors.js';
import type { EmbeddingRequest, EngineAdapter, EngineLoad, Delta, Usage } from '../../engine-adapters/adapter.js';
import { embedWith } from '../../engine-adapters/capabilities.js';
import { engineFailureDetail } from '../../engine-adapters/engine-errors.js';
import { operations } from '../../operations/index.js';
import { packVectors } from '../../protocol/vectors.js';
import { type Logger, requestLogFields } from '../../observability/logger.js';
import type { TokenCounter } from '../../tokenize/index.js';
import { subjects } from '../../transport/subjects.js';
import type { MessageHeaders, PublishOptions, Subscription, Transport } from '../../transport/transport.js';
import { type KvEventRelayStats, startKvEventRelay } from './kv-event-relay.js';
import { type ActorRef, spawn } from '../runtime/actor.js';
import { Overflow } from '../runtime/mailbox.js';
import type { ReplyFrame } from '../gateway/reply.protocol.js';
import { type RegistryEvent, type WorkerDescriptor, type WorkerLoad, type WorkerState } from '../router/registry.protocol.js';
import { OutputText } from './output-text.js';
import { TurnBatch } from './turn-batch.js';
import { PeakEwma } from './peak-ewma.js';
import { UsageWindow } from './usage-window.js';
import { type InferRequest, parseWorkerInbound } from './worker.protocol.js';
import { type KeepaliveFrame, keepaliveBatch, splitReply } from './keepalive.protocol.js';
import { traceWorker } from '../../observability/spans.js';
import { stampHop } from '../../observability/hop-timing.js';
import type { WorkerMetricsHooks } from '../../observability/worker-metrics.js';

export type WorkerMessage =
  | { type: 'infer'; request: InferRequest; reply: string; headers: MessageHeaders }
  | { type: 'cancel'; reply: string }
  | { type: 'lease'; replies: string[] }
  | { type: 'flow'; reply: string; paused: boolean }
  | { type: 'tick' }
  | { type: 'finished'; reply: string; outcome: Outcome; tokens: number }
  | { type: 'first-token'; ms: number }
  | { type: 'drain' }
  | { type: 'heartbeat' }
  | { type: 'announce' };

/** The engine is reported unhealthy after this many failed health checks in a row. */
const unhealthyAfterFailedChecks = 2;
/** A health check or metrics scrape may take this long at least (or a heartbeat interval, if longer). */
const minProbeTimeoutMs = 2_000;

/** How a request ended, for the routers' circuit breakers: `failed` is the engine's fault, never the client's. */
type Outcome = 'ok' | 'failed' | 'cancelled';

/** Why the worker aborted an engine request. */
type AbortReason = 'cancel' | 'orphaned' | 'shutdown' | 'stalled';

/** One request the worker holds. */
interface Held {
  controller: AbortController;
  /** When a frame last went to the gateway (a keepalive naming it is due a keepalive interval later). */
  lastSent: number;
  /** When the gateway last said it holds the request (accept time until its first lease). */
  lastLease: number;
  /** The next chunk's sequence number. */
  seq: number;
  /** Streamed deltas waiting for the end of the event-loop turn, to go out as one `chunk` (turn-batch.ts). */
  streamed: Delta[];
  /** Set while the gateway's client is not reading: resolving it lets the engine read go on. */
  paused: { resume: () => void; done: Promise<void> } | undefined;
  /** The `accepted` frame while it waits to share a flush with the answer's first frame (`acceptHoldMs`). */
  accepted?: ReplyFrame;
  acceptTimer?: NodeJS.Timeout;
}

const pausedFlow = (signal: AbortSignal): NonNullable<Held['paused']> => {
  let resume = (): void => undefined;
  const done = new Promise<void>((resolve) => {
    resume = resolve;
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  return { resume, done };
};

export const workerTimeoutDefaults = {
  /** A `keepalive` frame per gateway this often, naming its requests that sent nothing else meanwhile. */
  keepaliveMs: 400,
  /** A request whose gateway sent no lease for this long is aborted (gateways lease every 500 ms: four chances). */
  leaseTimeoutMs: 2_000,
  /** After the first token, an engine silent this long is stuck: the request fails, retryable. */
  engineStallMs: 5_000,
  /**
   * `accepted` waits this long for the answer's first frame and goes out in the same NATS flush: for
   * an answer that quick, one socket write and one read fewer per request (docs/benchmarks.md). The
   * gateway learns the worker this much later at most; its accept timeout is seconds.
   */
  acceptHoldMs: 10,
} as const;

export interface WorkerStats {
  /** Engine requests aborted because their gateway's lease lapsed. */
  orphanedAborts: number;
  /** Engine requests failed because the engine went silent mid-answer. */
  engineStalls: number;
  /** The KV event relay's counts, when the engine publishes KV events (kv-event-relay.ts). */
  kvEvents?: KvEventRelayStats;
}

export interface WorkerOptions {
  transport: Transport;
  engine: EngineAdapter;
  /** Counts completion tokens (every request: the engine's own count, when it has one, is checked against it). */
  tokens: TokenCounter;
  descriptor: WorkerDescriptor;
  log: Logger;
  /** How long stop() lets in-flight requests finish before aborting them (their gateways then migrate them). */
  drainTimeoutMs?: number;
  keepaliveMs?: number;
  leaseTimeoutMs?: number;
  engineStallMs?: number;
  acceptHoldMs?: number;
  /** Engine calls, health checks and scrapes go here (worker-metrics.ts). */
  metrics?: WorkerMetricsHooks;
}

export interface Worker {
  readonly descriptor: WorkerDescriptor;
  inFlight(): number;
  stats(): WorkerStats;
  /** Takes no new requests (routers see `draining` at once); in-flight ones finish. */
  drain(): void;
  /** Drains, lets in-flight requests finish (up to drainTimeoutMs), deregisters, then stops. */
  stop(): Promise<void>;
}

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

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { transport, engine, tokens, log } = options;
  // Routers send it only what its engine does (embeddings to engines that embed).
  const descriptor: WorkerDescriptor = { ...options.descriptor, ...(engine.serves ? { serves: [...engine.serves] } : {}) };
  const keepaliveMs = options.keepaliveMs ?? workerTimeoutDefaults.keepaliveMs;
  const leaseTimeoutMs = options.leaseTimeoutMs ?? workerTimeoutDefaults.leaseTimeoutMs;
  const engineStallMs = options.engineStallMs ?? workerTimeoutDefaults.engineStallMs;
  const acceptHoldMs = options.acceptHoldMs ?? workerTimeoutDefaults.acceptHoldMs;
  /** Engine requests in flight, by reply subject (unique per dispatch attempt). */
  const inFlight = new Map<string, Held>();
  /** Requests whose run is over and whose `finished` the actor has not taken yet: the load event leaves them out. */
  const finishing = new Set<string>();
  /** A load event went out this event-loop turn; `loadDirty`: requests finished after it, for one more at the turn's end. */
  let loadSentThisTurn = false;
  let loadDirty = false;
  const publishLoad = (): void => publishRegistry({ type: 'load', workerId: descriptor.workerId, inFlight: inFlight.size - finishing.size });
  /**
   * After a request finishes: its load event goes at once, in the same NATS flush as the request's
   * last frame (no socket write of its own); the requests that finish later in the same turn share
   * one more event at the turn's end, so a busy turn sends two, not one per request.
   */
  const announceFinish = (): void => {
    if (loadSentThisTurn) {
      loadDirty = true;
      return;
    }
    publishLoad();
    loadSentThisTurn = true;
    setImmediate(() => {
      loadSentThisTurn = false;
      if (loadDirty) {
        loadDirty = false;
        publishLoad();
      }
    });
  };
  const stats: WorkerStats = { orphanedAborts: 0, engineStalls: 0 };
  let tickTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let drained: (() => void) | undefined;
  /** The engine's own load, as last scraped (one scrape per heartbeat, never two at once). */
  let engineLoad: EngineLoad | undefined;
  let scraping = false;
  /** Failed health checks in a row (the engine passed one before the worker started): one slow answer on a busy machine does not make it unhealthy. */
  let failedChecks = 0;
  let state: WorkerState = 'active';
  const outcomes = { ok: 0, failed: 0 };
  const ttft = new PeakEwma();
  const usage = new UsageWindow();

  const publishRegistry = (event: RegistryEvent): void => transport.publish(subjects.registry(descriptor.cluster, descriptor.workerId), event);
  /** Every answer goes out signed with this worker's id (subjects.workerAnswer): the only form its NATS identity may publish one in. */
  const answer = (reply: string, frame: unknown, options?: PublishOptions): void => transport.publish(subjects.workerAnswer(reply, descriptor.workerId), frame, options);
  const load = (): WorkerLoad => ({
    inFlight: inFlight.size, state, healthy: failedChecks < unhealthyAfterFailedChecks, outcomes: { ...outcomes }, usage: usage.perMinute(Date.now()),
    ...(ttft.value !== undefined ? { ttftMs: Math.round(ttft.value * 10) / 10 } : {}),
    ...(engineLoad ? { engine: engineLoad } : {}),
    aborts: { orphaned: stats.orphanedAborts, stalled: stats.engineStalls },
  });
  /** Health check and metrics scrape, once per heartbeat and never two at once. */
  const probeEngine = (): void => {
    if (scraping) return;
    scraping = true;
    const signal = AbortSignal.timeout(Math.max(descriptor.heartbeatMs, minProbeTimeoutMs));
    Promise.all([
      engine.health(signal).then((ok) => ok, () => false).then((ok) => {
        failedChecks = ok ? 0 : failedChecks + 1;
        options.metrics?.healthCheck(ok);
      }),
      engine.load(signal).then((l) => l, () => undefined).then((l) => {
        engineLoad = l;
        if (!l && engine.scrapesLoad) options.metrics?.scrapeFailed();
      }),
    ]).finally(() => void (scraping = false));
  };

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

  /** A request's streamed deltas of this turn as one `chunk`; due before any other numbered frame of the request. */
  const sendStreamed = (reply: string, held: Held): void => {
    if (held.streamed.length === 0) return;
    const deltas = held.streamed;
    held.streamed = [];
    send(reply, held, { type: 'chunk', seq: held.seq++, deltas });
  };
  const streamedBatch = new TurnBatch<string>((reply) => {
    const held = inFlight.get(reply);
    if (!held) return;
    try {
      sendStreamed(reply, held);
    } catch (error) {
      // Outside the request's own run: a frame that cannot go out ends the request as one whose gateway is gone.
      log.warn({ reply, err: error }, 'could not send a chunk frame; aborting its engine request');
      held.controller.abort('orphaned' satisfies AbortReason);
    }
  });

  /** `hops`: only on the `end` frame of a timed request, the chain of its hop stamps. */
  const send = (reply: string, held: Held, frame: ReplyFrame, hops?: string): void => {
    if (held.accepted) sendAccepted(reply, held);
    held.lastSent = Date.now();
    answer(reply, frame, hops !== undefined ? { headers: { hops } } : undefined);
  };
  const sendAccepted = (reply: string, held: Held): void => {
    const frame = held.accepted;
    if (!frame) return;
    held.accepted = undefined;
    clearTimeout(held.acceptTimer);
    held.lastSent = Date.now();
    answer(reply, frame);
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
    const span = traceWorker(headers.traceparent, request, engine.kind, descriptor.workerId);
    // Only a request that fails or is cancelled writes a line: its logger is made then, not per request.
    const rlog = (): Logger => log.child(requestLogFields(request.requestId, headers.traceparent));
    const meter = options.metrics?.engineCall({ operation: request.operation, model: request.model, provider: engine.kind, traceparent: span.engineTraceparent });
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
        if (firstOutput && request.stream) self.tell({ type: 'first-token', ms: performance.now() - started });
        firstOutput = false;
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
        if (reason === 'stalled') stats.engineStalls++;
        // A shutdown or a stuck engine: the gateway carries the request on elsewhere.
        const info = reason === 'shutdown'
          ? { code: ErrorCode.upstreamError, retryable: true, message: `worker ${descriptor.workerId} stopped with the request in flight` }
          : reason === 'stalled'
            ? { code: ErrorCode.timeout, retryable: true, message: `the engine sent nothing for ${engineStallMs} ms mid-answer` }
            : toErrorInfo(error);
        // A 4xx is the client's fault: the engine is fine, and the circuit breaker must not count it.
        outcome = reason === 'shutdown' ? 'cancelled' : httpStatusOf(info.code) >= 500 ? 'failed' : 'ok';
        sendUnsent();
        send(reply, held, { type: 'error', seq: held.seq++, error: info, workerId: descriptor.workerId });
        const detail = engineFailureDetail(error) ?? (error instanceof LlmuxError ? undefined : String(error));
        rlog().warn({ code: info.code, err: info.message, ...(detail ? { detail } : {}) }, 'engine request failed');
      }
    } finally {
      span.end(outcome, usage);
      meter?.end(outcome, controller.signal.aborted ? String(controller.signal.reason) : undefined);
      finishing.add(reply);
      announceFinish();
      self.tell({ type: 'finished', reply, outcome, tokens: tokensServed });
    }
  };

  /**
   * Every keepalive interval: abort the requests whose gateway's lease lapsed, and for the others
   * that sent nothing lately one `keepalive` frame per gateway (keepalive.protocol.ts), not one per request.
   */
  const tick = (): void => {
    const now = Date.now();
    /** By gateway inbox: the requests due a keepalive, and one of their replies to carry it (the gateway trusts its signature, not the reply). */
    const due = new Map<string, { carrier: string; tokens: string[]; seqs: number[] }>();
    for (const [reply, held] of inFlight) {
      if (held.controller.signal.aborted) continue;
      if (now - held.lastLease > leaseTimeoutMs) {
        stats.orphanedAborts++;
        log.warn({ reply, leaseAgoMs: now - held.lastLease }, 'no lease from the gateway; aborting its engine request');
        held.controller.abort('orphaned' satisfies AbortReason);
        continue;
      }
      sendStreamed(reply, held);
      if (now - held.lastSent < keepaliveMs) continue;
      // The gateway hears `accepted` before any keepalive naming the request.
      sendAccepted(reply, held);
      const { inbox, token } = splitReply(reply);
      const group = due.get(inbox);
      if (!group) due.set(inbox, { carrier: reply, tokens: [token], seqs: [held.seq] });
      else {
        group.tokens.push(token);
        group.seqs.push(held.seq);
      }
    }
    for (const { carrier, tokens, seqs } of due.values()) {
      for (let i = 0; i < tokens.length; i += keepaliveBatch) {
        const frame: KeepaliveFrame = { type: 'keepalive', workerId: descriptor.workerId,
          tokens: tokens.slice(i, i + keepaliveBatch), seqs: seqs.slice(i, i + keepaliveBatch) };
        answer(carrier, frame);
      }
    }
  };

  const announceLoad = (type: 'register' | 'heartbeat'): void => publishRegistry({ type, worker: descriptor, load: load() });
  const drain = (): void => {
    if (state === 'draining') return;
    state = 'draining';
    log.info({ worker: descriptor.workerId, inFlight: inFlight.size }, 'draining: taking no new requests');
    announceLoad('heartbeat');
  };

  const actor = spawn<WorkerMessage>(`worker:${descriptor.workerId}`, ({ self }) => ({
    receive(msg) {
      switch (msg.type) {
        case 'infer': {
          const { request, reply, headers } = msg;
          if (state === 'draining') {
            // Routed before the router heard of the drain: the gateway retries it on another worker.
            answer(reply, { type: 'error', seq: 0, workerId: descriptor.workerId,
              error: { code: ErrorCode.noActiveBackend, message: `worker ${descriptor.workerId} is draining`, retryable: true } } satisfies ReplyFrame);
            return;
          }
          const now = Date.now();
          const held: Held = { controller: new AbortController(), lastSent: now, lastLease: now, seq: 0, streamed: [], paused: undefined };
          // Keyed by reply subject: unique per dispatch attempt, whatever request id the client chose.
          inFlight.set(reply, held);
          held.accepted = { type: 'accepted', requestId: request.requestId, workerId: descriptor.workerId,
            ...(headers.routingMethod ? { routingMethod: headers.routingMethod } : {}) };
          held.acceptTimer = setTimeout(() => sendAccepted(reply, held), acceptHoldMs);
          void run(self, request, reply, headers, held);
          return;
        }
        case 'cancel': {
          inFlight.get(msg.reply)?.controller.abort('cancel' satisfies AbortReason);
          return;
        }
        case 'lease': {
          const now = Date.now();
          for (const reply of msg.replies) {
            const held = inFlight.get(reply);
            if (held) held.lastLease = now;
          }
          return;
        }
        case 'flow': {
          const held = inFlight.get(msg.reply);
          if (!held) return;
          if (msg.paused) held.paused ??= pausedFlow(held.controller.signal);
          else {
            held.paused?.resume();
            held.paused = undefined;
          }
          return;
        }
        case 'tick':
          tick();
          return;
        case 'finished':
          inFlight.delete(msg.reply);
          if (msg.outcome !== 'cancelled') outcomes[msg.outcome]++;
          if (msg.outcome === 'ok') usage.add(msg.tokens, Date.now());
          finishing.delete(msg.reply);
          if (inFlight.size === 0) drained?.();
          return;
        case 'first-token':
          ttft.observe(msg.ms, Date.now());
          return;
        case 'drain':
          drain();
          return;
        case 'heartbeat':
          announceLoad('heartbeat');
          probeEngine();
          return;
        case 'announce':
          announceLoad('register');
          return;
        default:
          assertNever(msg);
      }
    },
  }), {
    mailbox: { capacity: 50_000, overflow: Overflow.reject },
    // Its state (inFlight, outcomes, drain state) lives outside the behaviour, so a restart would rebuild nothing: resume.
    supervision: { type: 'resume' },
    onFailure: (error, failure) => log.error({ err: error, messageType: failure.messageType, failures: failure.failures }, 'worker actor failed on a message; dropped it and resumed'),
  });

  const subs: Subscription[] = [
    transport.subscribe(subjects.workerInfer(descriptor.workerId), (m) => {
      if (m.headers.hops !== undefined) m.headers.hops = stampHop(m.headers.hops, 'w.in');
      const request = parseWorkerInbound(m.body);
      if (request?.type !== 'infer' || !m.reply) return;
      if (!actor.tell({ type: 'infer', request, reply: m.reply, headers: m.headers })) {
        answer(m.reply, { type: 'error', seq: 0, workerId: descriptor.workerId,
          error: { code: ErrorCode.noActiveBackend, message: 'worker overloaded', retryable: true } } satisfies ReplyFrame);
      }
    }),
    transport.subscribe(subjects.workerCancel(descriptor.workerId), (m) => {
      const cancel = parseWorkerInbound(m.body);
      if (cancel?.type === 'cancel') actor.tell({ type: 'cancel', reply: cancel.reply });
    }),
    transport.subscribe(subjects.workerFlow(descriptor.workerId), (m) => {
      const flow = parseWorkerInbound(m.body);
      if (flow?.type === 'flow') actor.tell({ type: 'flow', reply: flow.reply, paused: flow.paused });
    }),
    transport.subscribe(subjects.workerLease(descriptor.workerId), (m) => {
      const lease = parseWorkerInbound(m.body);
      if (lease?.type === 'lease') actor.tell({ type: 'lease', replies: lease.replies });
    }),
    transport.subscribe(subjects.workerDrain(descriptor.workerId), (m) => {
      if (parseWorkerInbound(m.body)?.type !== 'drain') return;
      actor.tell({ type: 'drain' });
      if (m.reply) answer(m.reply, { type: 'draining', workerId: descriptor.workerId, inFlight: inFlight.size });
    }),
    transport.subscribe(subjects.discover(descriptor.cluster), () => actor.tell({ type: 'announce' })),
  ];
  await transport.flush();
  // The engine's own KV events, when its adapter says where they are; otherwise routers keep their approximate index.
  const kvRelay = engine.kvEvents
    ? startKvEventRelay({ source: engine.kvEvents, transport, cluster: descriptor.cluster, workerId: descriptor.workerId, model: descriptor.model, log })
    : undefined;
  actor.tell({ type: 'announce' });
  heartbeatTimer = setInterval(() => actor.tell({ type: 'heartbeat' }), descriptor.heartbeatMs);
  heartbeatTimer.unref();
  // Judged after the event loop's next read (setImmediate): after a stall of this process (GC, a
  // starved CPU) the timer fires before the leases waiting in the socket are read, and would take them for lapsed.
  tickTimer = setInterval(() => setImmediate(() => actor.tell({ type: 'tick' })), keepaliveMs);
  tickTimer.unref();

  return {
    descriptor,
    inFlight: () => inFlight.size,
    stats: () => ({ ...stats, ...(kvRelay ? { kvEvents: kvRelay.stats() } : {}) }),
    drain: () => void actor.tell({ type: 'drain' }),
    async stop() {
      // Draining first: routers stop sending at once, and anything already on its way is turned back
      // retryable, while in-flight requests finish; then the worker leaves the table. Called directly,
      // not through the mailbox, so the draining heartbeat cannot follow the deregistration.
      drain();
      if (inFlight.size > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, options.drainTimeoutMs ?? 10_000).unref();
        });
        // What did not finish in time goes back to its gateways as retryable: they migrate it.
        for (const held of inFlight.values()) held.controller.abort('shutdown' satisfies AbortReason);
        if (inFlight.size > 0) await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, 1_000).unref();
        });
      }
      clearInterval(heartbeatTimer);
      clearInterval(tickTimer);
      publishRegistry({ type: 'deregister', workerId: descriptor.workerId, reason: 'shutdown' });
      kvRelay?.close();
      for (const s of subs) s.unsubscribe();
      await transport.flush().catch(() => undefined);
      await actor.stop();
      await engine.close();
    },
  };
}
