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
 *
 * This file holds the actor's state and its mailbox; the pieces it wires are one file each: the
 * engine call and its relay (engine-call.ts), the frames to a gateway (reply-frames.ts), the
 * keepalive tick (keepalive-tick.ts), the engine's health and load (engine-probe.ts), and the
 * inbound subscriptions (worker-subscriptions.ts).
 */
import { ErrorCode, assertNever } from '../../errors.js';
import type { EngineAdapter } from '../../engine-adapters/adapter.js';
import type { Logger } from '../../observability/logger.js';
import type { TokenCounter } from '../../tokenize/index.js';
import { subjects } from '../../transport/subjects.js';
import type { Transport } from '../../transport/transport.js';
import { type KvEventRelayStats, startKvEventRelay } from './kv-event-relay.js';
import { spawn } from '../runtime/actor.js';
import { Overflow } from '../runtime/mailbox.js';
import type { ReplyFrame } from '../gateway/reply.protocol.js';
import { type RegistryEvent, type WorkerDescriptor, type WorkerLoad, type WorkerState } from '../router/registry.protocol.js';
import { PeakEwma } from './peak-ewma.js';
import { UsageWindow } from './usage-window.js';
import type { WorkerMetricsHooks } from '../../observability/worker-metrics.js';
import { type AbortReason, type Held, pausedFlow } from './held-request.js';
import type { WorkerMessage } from './worker-message.js';
import { createReplyFrames } from './reply-frames.js';
import { createEngineCall } from './engine-call.js';
import { createKeepaliveTick } from './keepalive-tick.js';
import { EngineProbe } from './engine-probe.js';
import { subscribeWorker } from './worker-subscriptions.js';

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
  /** Engine requests aborted because their gateway is gone: its lease lapsed, or a chunk frame to it could not be sent. */
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
  /** Prompt tokens the requests in flight without output yet still queue for prefill (WorkerLoad.prefilling). */
  const prefilling = (): number => {
    let tokens = 0;
    for (const [reply, held] of inFlight) if (held.prefill > 0 && !finishing.has(reply)) tokens += held.prefill;
    return tokens;
  };
  const publishLoad = (): void => publishRegistry({ type: 'load', workerId: descriptor.workerId, inFlight: inFlight.size - finishing.size, prefilling: prefilling() });
  /**
   * After a request finishes or has its first output: its load event goes at once, in the same NATS
   * flush as the request's frame (no socket write of its own); the changes later in the same turn
   * share one more event at the turn's end, so a busy turn sends two, not one per request.
   */
  const announceChange = (): void => {
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
  const probe = new EngineProbe(engine, descriptor.heartbeatMs, options.metrics);
  let state: WorkerState = 'active';
  const outcomes = { ok: 0, failed: 0 };
  const ttft = new PeakEwma();
  const usage = new UsageWindow();

  const publishRegistry = (event: RegistryEvent): void => transport.publish(subjects.registry(descriptor.cluster, descriptor.workerId), event);
  const frames = createReplyFrames(transport, descriptor.workerId, inFlight, log, () => void stats.orphanedAborts++);
  const { answer, sendAccepted } = frames;
  const load = (): WorkerLoad => ({
    inFlight: inFlight.size, state, healthy: probe.healthy, outcomes: { ...outcomes }, usage: usage.perMinute(Date.now()), prefilling: prefilling(),
    ...(ttft.value !== undefined ? { ttftMs: Math.round(ttft.value * 10) / 10 } : {}),
    ...(probe.engineLoad ? { engine: probe.engineLoad } : {}),
    aborts: { orphaned: stats.orphanedAborts, stalled: stats.engineStalls },
  });

  const run = createEngineCall({
    transport, engine, tokens, log, metrics: options.metrics, workerId: descriptor.workerId, engineStallMs, frames,
    onStall: () => void stats.engineStalls++,
    onRunOver: (reply) => {
      finishing.add(reply);
      announceChange();
    },
    onPrefilled: announceChange,
  });
  const tick = createKeepaliveTick({
    inFlight, workerId: descriptor.workerId, keepaliveMs, leaseTimeoutMs, frames, log,
    onOrphaned: () => void stats.orphanedAborts++,
  });

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
          const held: Held = { controller: new AbortController(), lastSent: now, lastLease: now, seq: 0, streamed: [], paused: undefined, prefill: headers.prefillTokens ?? 0 };
          // Keyed by reply subject: unique per dispatch attempt, whatever request id the client chose.
          inFlight.set(reply, held);
          held.accepted = { type: 'accepted', requestId: request.requestId, workerId: descriptor.workerId,
            ...(headers.routingMethod ? { routingMethod: headers.routingMethod } : {}) };
          held.acceptTimer = setTimeout(() => sendAccepted(reply, held), acceptHoldMs);
          // The run ends every request with a frame; when even that cannot go out (the connection
          // closed under it), the gateway's liveness check ends the request: log it, never crash the process.
          run(self, request, reply, headers, held).catch((error: unknown) =>
            log.warn({ err: error, requestId: request.requestId }, 'could not send a request\'s last frame; its gateway will give up on it'));
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
          probe.probe();
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

  const subs = subscribeWorker({ transport, descriptor, actor, answer, inFlight: () => inFlight.size });
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
