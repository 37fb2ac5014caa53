/**
 * The worker actor: one per engine instance. Registers and heartbeats its load, takes requests the
 * router forwards (replying `accepted` at once to the gateway's inbox), drives the engine through
 * its adapter, and streams `chunk` frames then `end` or `error` to that inbox. A cancel aborts the
 * engine request and is confirmed with a `cancelled` frame.
 */
import { ErrorCode, type ErrorInfo, LlmuxError, assertNever, httpStatusOf } from '../../errors.js';
import type { EngineAdapter, EngineLoad, Delta, Usage } from '../../engine-adapters/adapter.js';
import type { Logger } from '../../observability/logger.js';
import type { TokenCounter } from '../../tokenize/index.js';
import { subjects } from '../../transport/subjects.js';
import type { MessageHeaders, Subscription, Transport } from '../../transport/transport.js';
import { type ActorRef, spawn } from '../runtime/actor.js';
import { Overflow } from '../runtime/mailbox.js';
import type { ReplyFrame } from '../gateway/reply.protocol.js';
import { type RegistryEvent, type WorkerDescriptor, type WorkerLoad, type WorkerState } from '../router/registry.protocol.js';
import { OutputText } from './output-text.js';
import { PeakEwma } from './peak-ewma.js';
import { UsageWindow } from './usage-window.js';
import { type InferRequest, parseWorkerInbound } from './worker.protocol.js';

export type WorkerMessage =
  | { type: 'infer'; request: InferRequest; reply: string; headers: MessageHeaders }
  | { type: 'cancel'; reply: string }
  | { type: 'finished'; reply: string; outcome: Outcome; tokens: number }
  | { type: 'first-token'; ms: number }
  | { type: 'drain' }
  | { type: 'load-event' }
  | { type: 'heartbeat' }
  | { type: 'announce' };

/** The engine is reported unhealthy after this many failed health checks in a row. */
const unhealthyAfterFailedChecks = 2;
/** A health check or metrics scrape may take this long at least (or a heartbeat interval, if longer). */
const minProbeTimeoutMs = 2_000;

/** How a request ended, for the routers' circuit breakers: `failed` is the engine's fault, never the client's. */
type Outcome = 'ok' | 'failed' | 'cancelled';

export interface WorkerOptions {
  transport: Transport;
  engine: EngineAdapter;
  /** Counts completion tokens (every request: the engine's own count, when it has one, is checked against it). */
  tokens: TokenCounter;
  descriptor: WorkerDescriptor;
  log: Logger;
  /** How long stop() lets in-flight requests finish before aborting them. */
  drainTimeoutMs?: number;
}

export interface Worker {
  readonly descriptor: WorkerDescriptor;
  inFlight(): number;
  /** Takes no new requests (routers see `draining` at once); in-flight ones finish. */
  drain(): void;
  /** Drains, lets in-flight requests finish (up to drainTimeoutMs), deregisters, then stops. */
  stop(): Promise<void>;
}

function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof LlmuxError) return error.toInfo();
  return { code: ErrorCode.internalError, message: error instanceof Error ? error.message : String(error), retryable: true };
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { transport, engine, tokens, descriptor, log } = options;
  /** Engine requests in flight, by reply subject. */
  const inFlight = new Map<string, AbortController>();
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

  const publishRegistry = (event: RegistryEvent): void => transport.publish(subjects.registry(descriptor.workerId), event);
  const load = (): WorkerLoad => ({
    inFlight: inFlight.size, state, healthy: failedChecks < unhealthyAfterFailedChecks, outcomes: { ...outcomes }, usage: usage.perMinute(Date.now()),
    ...(ttft.value !== undefined ? { ttftMs: Math.round(ttft.value * 10) / 10 } : {}),
    ...(engineLoad ? { engine: engineLoad } : {}),
  });
  /** Health check and metrics scrape, once per heartbeat and never two at once. */
  const probeEngine = (): void => {
    if (scraping) return;
    scraping = true;
    const signal = AbortSignal.timeout(Math.max(descriptor.heartbeatMs, minProbeTimeoutMs));
    Promise.all([
      engine.health(signal).then((ok) => ok, () => false).then((ok) => void (failedChecks = ok ? 0 : failedChecks + 1)),
      engine.load(signal).then((l) => void (engineLoad = l), () => void (engineLoad = undefined)),
    ]).finally(() => void (scraping = false));
  };

  /** Tokens of the output, by the request's tokenizer; when that fails, the engine's count (or the delta count) stands. */
  const countOutput = async (request: InferRequest, output: OutputText): Promise<number> => {
    try {
      const counts = await tokens.countTexts(request.tokenizer, output.texts());
      return counts.reduce((a, b) => a + b, 0);
    } catch (error) {
      log.warn({ requestId: request.requestId, tokenizer: request.tokenizer, err: error }, 'completion token counting failed; using the delta count');
      return output.deltas;
    }
  };

  const run = async (self: ActorRef<WorkerMessage>, request: InferRequest, reply: string, headers: MessageHeaders, controller: AbortController): Promise<void> => {
    let seq = 0;
    let usage: Usage | undefined;
    let outcome: Outcome = 'failed';
    let tokensServed = 0;
    const started = performance.now();
    const output = new OutputText();
    try {
      const stream = engine.stream(
        { operation: request.operation, stream: request.stream, model: request.model, body: request.body, requestId: request.requestId,
          ...(headers.deadline ? { deadline: headers.deadline } : {}) },
        controller.signal,
      );
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
        if (seq === 0 && request.stream) self.tell({ type: 'first-token', ms: performance.now() - started });
        transport.publish(reply, { type: 'chunk', seq: seq++, deltas } satisfies ReplyFrame);
      }
      const completionTokens = await countOutput(request, output);
      transport.publish(reply, { type: 'end', seq: seq++, completionTokens, ...(usage ? { usage } : {}) } satisfies ReplyFrame);
      outcome = 'ok';
      tokensServed = (usage?.promptTokens ?? request.promptTokens) + (usage?.completionTokens ?? completionTokens);
    } catch (error) {
      if (controller.signal.aborted) {
        outcome = 'cancelled';
        transport.publish(reply, { type: 'cancelled', requestId: request.requestId } satisfies ReplyFrame);
        log.info({ requestId: request.requestId }, 'engine request aborted on cancel');
      } else {
        const info = toErrorInfo(error);
        // A 4xx is the client's fault: the engine is fine, and the circuit breaker must not count it.
        outcome = httpStatusOf(info.code) >= 500 ? 'failed' : 'ok';
        transport.publish(reply, { type: 'error', seq: seq++, error: info, workerId: descriptor.workerId } satisfies ReplyFrame);
        log.warn({ requestId: request.requestId, code: info.code, err: info.message }, 'engine request failed');
      }
    } finally {
      self.tell({ type: 'finished', reply, outcome, tokens: tokensServed });
    }
  };

  const announceLoad = (type: 'register' | 'heartbeat'): void => publishRegistry({ type, worker: descriptor, load: load() });
  let loadEventPending = false;
  /** After a request finishes: one load event, sent once the requests finishing in this turn are done. */
  const scheduleLoadEvent = (self: ActorRef<WorkerMessage>): void => {
    if (loadEventPending) return;
    loadEventPending = true;
    setImmediate(() => self.tell({ type: 'load-event' }));
  };

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
            transport.publish(reply, { type: 'error', seq: 0, workerId: descriptor.workerId,
              error: { code: ErrorCode.noActiveBackend, message: `worker ${descriptor.workerId} is draining`, retryable: true } } satisfies ReplyFrame);
            return;
          }
          const controller = new AbortController();
          // Keyed by reply subject: unique per request, whatever request id the client chose.
          inFlight.set(reply, controller);
          transport.publish(reply, { type: 'accepted', requestId: request.requestId, workerId: descriptor.workerId,
            ...(headers.routingMethod ? { routingMethod: headers.routingMethod } : {}) } satisfies ReplyFrame);
          void run(self, request, reply, headers, controller);
          return;
        }
        case 'cancel': {
          inFlight.get(msg.reply)?.abort();
          return;
        }
        case 'finished':
          inFlight.delete(msg.reply);
          if (msg.outcome !== 'cancelled') outcomes[msg.outcome]++;
          if (msg.outcome === 'ok') usage.add(msg.tokens, Date.now());
          if (inFlight.size === 0) drained?.();
          scheduleLoadEvent(self);
          return;
        case 'load-event':
          loadEventPending = false;
          publishRegistry({ type: 'load', workerId: descriptor.workerId, inFlight: inFlight.size });
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
    onFailure: (error) => log.error({ err: error }, 'worker actor failed; restarting'),
  });

  const subs: Subscription[] = [
    transport.subscribe(subjects.workerInfer(descriptor.workerId), (m) => {
      const request = parseWorkerInbound(m.body);
      if (request?.type !== 'infer' || !m.reply) return;
      if (!actor.tell({ type: 'infer', request, reply: m.reply, headers: m.headers })) {
        transport.publish(m.reply, { type: 'error', seq: 0, workerId: descriptor.workerId,
          error: { code: ErrorCode.noActiveBackend, message: 'worker overloaded', retryable: true } } satisfies ReplyFrame);
      }
    }),
    transport.subscribe(subjects.workerCancel(descriptor.workerId), (m) => {
      const cancel = parseWorkerInbound(m.body);
      if (cancel?.type === 'cancel') actor.tell({ type: 'cancel', reply: cancel.reply });
    }),
    transport.subscribe(subjects.workerDrain(descriptor.workerId), (m) => {
      if (parseWorkerInbound(m.body)?.type !== 'drain') return;
      actor.tell({ type: 'drain' });
      if (m.reply) transport.publish(m.reply, { type: 'draining', workerId: descriptor.workerId, inFlight: inFlight.size });
    }),
    transport.subscribe(subjects.discover, () => actor.tell({ type: 'announce' })),
  ];
  await transport.flush();
  actor.tell({ type: 'announce' });
  heartbeatTimer = setInterval(() => actor.tell({ type: 'heartbeat' }), descriptor.heartbeatMs);
  heartbeatTimer.unref();

  return {
    descriptor,
    inFlight: () => inFlight.size,
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
        for (const controller of inFlight.values()) controller.abort();
      }
      clearInterval(heartbeatTimer);
      publishRegistry({ type: 'deregister', workerId: descriptor.workerId, reason: 'shutdown' });
      for (const s of subs) s.unsubscribe();
      await transport.flush().catch(() => undefined);
      await actor.stop();
      await engine.close();
    },
  };
}
