/**
 * The router actor: keeps the live worker table from registry events, and dispatches each request
 * to one worker chosen by the model's routing method, forwarding it with the gateway's reply
 * subject untouched so tokens never pass through the router. Several routers share the request
 * subject in one queue group (active-active) and tell each other where they sent each request.
 * Every decision is recorded (decision-log.ts) and answers `GET /admin/api/decisions/<id>`.
 * A worker joins the table only for what its identity is bound to serve (worker-binding-check.ts).
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { ErrorCode, type ErrorInfo, assertNever } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { defaultCluster, queues, subjects } from '../../transport/subjects.js';
import type { Inbound, Subscription, Transport } from '../../transport/transport.js';
import { type ActorRef, spawn } from '../runtime/actor.js';
import { Overflow } from '../runtime/mailbox.js';
import type { FunctionCatalog } from '../control/function-catalog.js';
import { defaultRoutingMethod, type RoutingMethod } from '../control/function.schema.js';
import { WorkerBindings } from '../control/worker-bindings.js';
import type { ReplyFrame } from '../gateway/reply.protocol.js';
import { type InferRequest, parseWorkerInbound } from '../worker/worker.protocol.js';
import type { BreakerPolicy } from './circuit-breaker.js';
import { type CandidateTable, type DecisionOutcome, type StoredDecision, decide } from './decision.js';
import { DecisionLog } from './decision-log.js';
import { BoundedMap } from './bounded-map.js';
import { eventWorkerId, type RegistryEvent, parseRegistryEvent, type WorkerDescriptor } from './registry.protocol.js';
import { type RoutedEvent, type RouterAnswer, type RouterQuery, parseRoutedEvent, parseRouterQuery } from './router.protocol.js';
import { newRoutingState, type RoutingRequest } from './routing-request.js';
import { bindingRefusal } from './worker-binding-check.js';
import { effectiveInFlight, WorkerTable } from './worker-table.js';

export type RouterMessage =
  | { type: 'registry'; event: RegistryEvent }
  | { type: 'dispatch'; message: Inbound; request: InferRequest }
  | { type: 'routed'; event: RoutedEvent }
  | { type: 'query'; query: RouterQuery; reply: string }
  | { type: 'sweep' };

export interface RouterOptions {
  transport: Transport;
  catalog: FunctionCatalog;
  log: Logger;
  /**
   * Refuse a worker whose id has no binding record (`workers.<id>` in the control KV). Where workers
   * have their own NATS identities this must be on (fail closed); without NATS auth a worker can
   * claim any id, so there is nothing to bind. A binding that exists is enforced either way.
   */
  requireWorkerBinding: boolean;
  routerId?: string;
  /**
   * The cluster this router runs in (default `local`): it hears only this cluster's registry, and
   * its workers are preferred while one of them is eligible.
   */
  cluster?: string;
  defaultRoutingMethod?: RoutingMethod;
  breakerPolicy?: BreakerPolicy;
  /** Sweep cadence when the table is empty. */
  idleSweepMs?: number;
  now?: () => number;
  random?: () => number;
}

export interface Router {
  readonly routerId: string;
  readonly table: WorkerTable;
  /** The router's own view of the function catalog (it lags a write made through another catalog). */
  readonly catalog: FunctionCatalog;
  readonly decisions: DecisionLog;
  /** The router's view of the worker bindings (it lags a write made elsewhere by the KV watch). */
  readonly bindings: WorkerBindings;
  stop(): Promise<void>;
}

function errorFrame(error: ErrorInfo): ReplyFrame {
  return { type: 'error', seq: -1, error };
}

export async function startRouter(options: RouterOptions): Promise<Router> {
  const { transport, catalog, log } = options;
  const now = options.now ?? Date.now;
  const routerId = options.routerId ?? `router-${randomUUID().slice(0, 8)}`;
  const cluster = options.cluster ?? defaultCluster;
  const table = new WorkerTable(options.breakerPolicy);
  const state = newRoutingState(options.random);
  const decisions = new DecisionLog();
  const bindings = new WorkerBindings(catalog.kv);
  await bindings.start();
  /** The last refusal logged per worker, so a refused worker logs once per reason, not every heartbeat. */
  const refusals = new Map<string, string>();
  let sweepTimer: NodeJS.Timeout | undefined;
  let sweepDue = 0;

  const scheduleSweep = (self: ActorRef<RouterMessage>): void => {
    clearTimeout(sweepTimer);
    const every = (table.shortestHeartbeatMs() ?? options.idleSweepMs ?? 1000) / 4;
    sweepDue = now() + every;
    sweepTimer = setTimeout(() => self.tell({ type: 'sweep' }), every);
    sweepTimer.unref();
  };

  const reply = (message: Inbound, frame: ReplyFrame): void => {
    if (message.reply) transport.publish(message.reply, frame, { headers: message.headers });
  };

  const record = (request: InferRequest, method: RoutingMethod, outcome: DecisionOutcome, candidates: CandidateTable | [], started: number, winner?: string): void => {
    const entry: StoredDecision = {
      requestId: request.requestId, attempt: request.routing.attempt, routerId, at: now(),
      functionId: request.functionId, model: request.model, method, overridden: request.routing.method !== undefined,
      candidates, outcome, decisionMicros: Math.round((performance.now() - started) * 1000),
      ...(winner ? { winner } : {}),
    };
    decisions.add(entry);
  };

  /** Which worker each recent dispatch went to, by reply subject, from every router: to exclude a worker that never accepted. */
  const dispatchedTo = new BoundedMap<string, string>(20_000);
  const withUnanswered = (exclude: string[], unanswered: string | undefined): string[] => {
    const silent = unanswered !== undefined ? dispatchedTo.get(unanswered) : undefined;
    return silent !== undefined && !exclude.includes(silent) ? [...exclude, silent] : exclude;
  };

  const noteRouted = (workerId: string, tokens: number, blocks: readonly number[] | undefined): void => {
    const entry = table.get(workerId);
    if (!entry) return;
    entry.dispatchedSinceReport++;
    entry.tokensSinceReport += tokens;
    if (blocks?.length) state.prefixes.insert(workerId, blocks);
  };

  const dispatch = (message: Inbound, request: InferRequest): void => {
    const started = performance.now();
    const resolved = catalog.resolve(request.functionId, request.model);
    const configured = resolved?.model.llmConfig;
    const method = request.routing.method ?? configured?.routingMethod ?? options.defaultRoutingMethod ?? defaultRoutingMethod;
    if (!resolved) {
      record(request, method, 'no_eligible_candidates', [], started);
      reply(message, errorFrame({ code: ErrorCode.noEligibleCandidates, retryable: false,
        message: `model '${request.functionId}/${request.model}' is not registered` }));
      return;
    }
    const routingRequest: RoutingRequest = {
      requestId: request.requestId, functionId: request.functionId, model: request.model,
      exclude: withUnanswered(request.exclude, request.routing.unanswered),
      tokens: request.routing.tokens, ...(request.routing.key !== undefined ? { key: request.routing.key } : {}),
      ...(request.routing.blocks ? { blocks: request.routing.blocks } : {}),
    };
    const deployments = catalog.deployments(request.functionId);
    if (deployments) routingRequest.deployments = deployments;
    const { winner, candidates } = decide({
      request: routingRequest, method, options: configured?.routing ?? {}, workers: table.ofFunction(request.functionId),
      state, now: now(), cluster,
    });
    if (!winner) {
      record(request, method, 'no_active_backend', candidates, started);
      reply(message, errorFrame({ code: ErrorCode.noActiveBackend, retryable: true,
        message: `no active backend for '${request.functionId}/${request.model}': ${candidates.summary()}` }));
      return;
    }
    const workerId = winner.descriptor.workerId;
    noteRouted(workerId, request.routing.tokens, request.routing.blocks);
    record(request, method, 'dispatched', candidates, started, workerId);
    transport.forward(subjects.workerInfer(workerId), { ...message, headers: { ...message.headers, routingMethod: method } });
    if (message.reply) dispatchedTo.set(message.reply, workerId);
    transport.publish(subjects.routed(cluster), { type: 'routed', routerId, workerId, tokens: request.routing.tokens,
      ...(request.routing.blocks ? { blocks: request.routing.blocks } : {}), ...(message.reply ? { reply: message.reply } : {}) } satisfies RoutedEvent);
    log.debug({ requestId: request.requestId, worker: workerId, method }, 'dispatched');
  };

  const answer = (query: RouterQuery): RouterAnswer => {
    switch (query.type) {
      case 'decisions':
        return { type: 'decisions', routerId, records: decisions.get(query.requestId) ?? [] };
      case 'workers': {
        const t = now();
        return { type: 'workers', routerId, workers: table.all().map((w) => ({
          descriptor: w.descriptor, load: w.load, inFlight: effectiveInFlight(w), breaker: w.breaker.state(t), lastSeenMsAgo: t - w.lastSeen,
        })) };
      }
      default:
        return assertNever(query);
    }
  };

  /**
   * A registration outside the worker's binding never enters the table; a worker already in it (its
   * binding changed live) leaves at this heartbeat, so it gets no new requests.
   */
  const refuse = (worker: WorkerDescriptor, reason: string): void => {
    const removed = table.remove(worker.workerId);
    if (removed) state.prefixes.remove(worker.workerId);
    if (!removed && refusals.get(worker.workerId) === reason) return;
    if (refusals.size >= 10_000) refusals.clear();
    refusals.set(worker.workerId, reason);
    log.warn({ worker: worker.workerId, fn: worker.functionId, version: worker.versionId, model: worker.model, reason },
      `${removed ? 'removed' : 'refused'} worker '${worker.workerId}': ${reason}`);
  };

  const onRegistry = (e: RegistryEvent): void => {
    if (e.type === 'load') {
      table.updateInFlight(e.workerId, e.inFlight, now());
      return;
    }
    if (e.type === 'deregister') {
      if (table.remove(e.workerId)) log.info({ worker: e.workerId, reason: e.reason }, 'worker left');
      state.prefixes.remove(e.workerId);
      return;
    }
    const refusal = bindingRefusal(e.worker, bindings.state(e.worker.workerId), options.requireWorkerBinding);
    if (refusal) return refuse(e.worker, refusal);
    refusals.delete(e.worker.workerId);
    const known = table.get(e.worker.workerId) !== undefined;
    const change = table.upsert(e.worker, e.load, now());
    if (!known) log.info({ worker: e.worker.workerId, model: e.worker.model, fn: e.worker.functionId, cluster: e.worker.cluster }, 'worker joined');
    if (change?.change === 'opened') log.warn({ worker: change.workerId, outcomes: e.load.outcomes }, 'circuit opened: the worker keeps failing');
    if (change?.change === 'closed') log.info({ worker: change.workerId }, 'circuit closed: the probe succeeded');
  };

  const actor = spawn<RouterMessage>('router', ({ self }) => {
    scheduleSweep(self);
    return {
      receive(msg) {
        switch (msg.type) {
          case 'registry':
            onRegistry(msg.event);
            return;
          case 'dispatch':
            dispatch(msg.message, msg.request);
            return;
          case 'routed':
            if (msg.event.routerId === routerId) return;
            noteRouted(msg.event.workerId, msg.event.tokens, msg.event.blocks);
            if (msg.event.reply) dispatchedTo.set(msg.event.reply, msg.event.workerId);
            return;
          case 'query':
            transport.publish(msg.reply, answer(msg.query));
            return;
          case 'sweep':
            // A sweep that runs late (the event loop stalled) judges as of when it was due: the
            // heartbeats that arrived meanwhile are still unread, and timers run before I/O.
            try {
              for (const id of table.sweep(Math.min(now(), sweepDue))) {
                state.prefixes.remove(id);
                log.warn({ worker: id }, 'worker expired: heartbeats stopped');
              }
            } finally {
              // The next sweep whatever happened to this one: under resume, nothing else would schedule it.
              scheduleSweep(self);
            }
            return;
          default:
            assertNever(msg);
        }
      },
      stop() {
        clearTimeout(sweepTimer);
      },
    };
  }, {
    mailbox: { capacity: 50_000, overflow: Overflow.reject },
    // Its state (the worker table, prefixes, cursors) lives outside the behaviour, so a restart would rebuild nothing: resume.
    supervision: { type: 'resume' },
    onFailure: (error, failure) => log.error({ err: error, messageType: failure.messageType, failures: failure.failures }, 'router actor failed on a message; dropped it and resumed'),
  });

  const subs: Subscription[] = [
    transport.subscribe(subjects.registryOf(cluster), (m) => {
      const event = parseRegistryEvent(m.body);
      if (!event) return;
      // A worker may publish only on its own subject in its own cluster (its NATS permissions), so the
      // subject is who sent it: an event for any other worker id, or a descriptor naming another
      // cluster, is a forgery by a stolen credential.
      const claimedCluster = event.type === 'register' || event.type === 'heartbeat' ? event.worker.cluster : cluster;
      if (m.subject !== subjects.registry(cluster, eventWorkerId(event)) || claimedCluster !== cluster) {
        log.warn({ subject: m.subject, claimed: eventWorkerId(event), claimedCluster, type: event.type }, 'refused a registry event for another worker or cluster than its subject names');
        return;
      }
      actor.tell({ type: 'registry', event });
    }),
    transport.subscribe(subjects.routed(cluster), (m) => {
      const event = parseRoutedEvent(m.body);
      if (event) actor.tell({ type: 'routed', event });
    }),
    transport.subscribe(subjects.routerAdmin, (m) => {
      const query = parseRouterQuery(m.body);
      if (query && m.reply) actor.tell({ type: 'query', query, reply: m.reply });
    }),
    transport.subscribe(subjects.routeAll, (m) => {
      const request = parseWorkerInbound(m.body);
      if (request?.type !== 'infer') return;
      if (!actor.tell({ type: 'dispatch', message: m, request })) {
        reply(m, errorFrame({ code: ErrorCode.noActiveBackend, retryable: true, message: 'router overloaded' }));
      }
    }, { queue: queues.routers }),
  ];
  // Ask workers to announce themselves now rather than at their next heartbeat.
  await transport.flush();
  transport.publish(subjects.discover(cluster), { type: 'discover' });

  return {
    routerId,
    table,
    catalog,
    decisions,
    bindings,
    async stop() {
      for (const s of subs) s.unsubscribe();
      bindings.stop();
      await actor.stop();
    },
  };
}
