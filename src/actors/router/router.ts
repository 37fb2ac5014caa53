/**
 * The router actor: keeps the live worker table from registry events, and dispatches each request
 * to one worker chosen by the model's routing method, forwarding it with the gateway's reply
 * subject untouched so tokens never pass through the router. Several routers share the request
 * subject in one queue group (active-active) and tell each other where they sent each request.
 * Every decision is recorded (decision-log.ts) and answers `GET /admin/api/decisions/<id>`.
 * A worker joins the table only for what its identity is bound to serve (worker-binding-check.ts).
 * A router hears only its own cluster's workers; other clusters reach it as summaries, and a model's
 * `locality` decides when a request spills to one of them (locality.ts, cluster-link.ts).
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { ErrorCode, type ErrorInfo, assertNever } from '../../errors.js';
import { type Logger, requestLogFields } from '../../observability/logger.js';
import { defaultCluster, queues, subjects } from '../../transport/subjects.js';
import type { Inbound, Subscription, Transport } from '../../transport/transport.js';
import { type ActorRef, spawn } from '../runtime/actor.js';
import { Overflow } from '../runtime/mailbox.js';
import type { FunctionCatalog } from '../../control/function-catalog.js';
import { defaultLocality, defaultRoutingMethod, defaultSpillAt, type Locality, type RoutingMethod } from '../../control/function.schema.js';
import { WorkerBindings } from '../../control/worker-bindings.js';
import type { ReplyFrame } from '../gateway/reply.protocol.js';
import { parseRoutedRequest, type RoutedRequest } from '../worker/worker.protocol.js';
import { operations } from '../../operations/index.js';
import { unservedBy } from './eligibility.js';
import type { BreakerPolicy } from './circuit-breaker.js';
import { ClusterLink, defaultSummaryIntervalMs } from './cluster-link.js';
import { type CandidateTable, type DecisionOutcome, type StoredDecision, decide } from './decision.js';
import { DecisionLog } from './decision-log.js';
import { BoundedMap } from './bounded-map.js';
import { chooseRoute, localView } from './locality.js';
import { eventWorkerId, type RegistryEvent, parseRegistryEvent } from './registry.protocol.js';
import { type RoutedEvent, type RouterAnswer, type RouterQuery, parseRoutedEvent, parseRouterQuery } from './router.protocol.js';
import type { RemoteClusters } from './remote-clusters.js';
import { newRoutingState, type RoutingRequest } from './routing-request.js';
import { summaryBounds, type ClusterSummary } from './summary.protocol.js';
import { effectiveInFlight, WorkerTable } from './worker-table.js';
import { routingTraceId, traceDecision, traceRouting } from '../../observability/spans.js';
import type { RouterMetricsHooks } from '../../observability/router-metrics.js';
import type { KvEventBatch } from '../../protocol/kv-events.js';
import { CacheHitTracker } from './cache-hits.js';
import { RouterRegistry } from './router-registry.js';
import { parseKvEventBatch } from './kv-event-batch.js';
import { stampHop } from '../../observability/hop-timing.js';
import { SampledWarning } from '../../observability/sampled-warning.js';

export type RouterMessage =
  | { type: 'registry'; event: RegistryEvent }
  /** `spilledFrom`: another cluster's router sent it here (it is routed here, never spilled again). */
  | { type: 'dispatch'; message: Inbound; request: RoutedRequest; spilledFrom?: string }
  | { type: 'routed'; event: RoutedEvent }
  | { type: 'query'; query: RouterQuery; reply: string }
  | { type: 'summary'; summary: ClusterSummary }
  | { type: 'publish-summary' }
  | { type: 'sweep' }
  | { type: 'kv-events'; batch: KvEventBatch };

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
  /** How often the router publishes its cluster's summary (default 1 s; 100 ms to 10 s). */
  summaryIntervalMs?: number;
  /**
   * Take gateways' requests on `llmux.route.>` (default true); without, only requests other clusters
   * spill here. Across NATS gateways each request reaches a router of the gateway's own cluster while
   * one exists, so a supercluster needs no setting; where several clusters share one nats-server (a
   * test, a lab) there is no such locality, and the clusters without gateways of their own turn it off.
   */
  takeGatewayRequests?: boolean;
  now?: () => number;
  random?: () => number;
  /** Decision times, spills and breaker changes go here (router-metrics.ts). */
  metrics?: RouterMetricsHooks;
}

export interface Router {
  readonly routerId: string;
  readonly table: WorkerTable;
  /** The router's own view of the function catalog (it lags a write made through another catalog). */
  readonly catalog: FunctionCatalog;
  readonly decisions: DecisionLog;
  /** The router's view of the worker bindings (it lags a write made elsewhere by the KV watch). */
  readonly bindings: WorkerBindings;
  readonly cluster: string;
  /** The latest summaries of the remote clusters. */
  readonly clusters: RemoteClusters;
  /** Predicted against engine-reported prefix cache hits, per worker (cache-hits.ts). */
  readonly cacheHits: CacheHitTracker;
  stats(): RouterStats;
  stop(): Promise<void>;
}

/** Counters since the router started. */
export interface RouterStats {
  /** Messages on the registry subscription (its own cluster's only). */
  registryMessages: number;
  /** Remote clusters' summaries received. */
  summaries: number;
  /** Requests this router sent to another cluster. */
  spilledOut: number;
  /** Requests another cluster's router sent here. */
  spilledIn: number;
  /** KV event batches applied, and those refused (unknown worker, another cluster's subject, wrong model). */
  kvBatches: number;
  kvRefused: number;
}

function errorFrame(error: ErrorInfo): ReplyFrame {
  return { type: 'error', seq: -1, error };
}

export async function startRouter(options: RouterOptions): Promise<Router> {
  const { transport, catalog, log } = options;
  const now = options.now ?? Date.now;
  const routerId = options.routerId ?? `router-${randomUUID().slice(0, 8)}`;
  const cluster = options.cluster ?? defaultCluster;
  const { min, max } = summaryBounds.intervalMs;
  const summaryIntervalMs = Math.min(max, Math.max(min, options.summaryIntervalMs ?? defaultSummaryIntervalMs));
  const link = new ClusterLink({ transport, cluster, routerId, log, summaryIntervalMs });
  const stats: RouterStats = { registryMessages: 0, summaries: 0, spilledOut: 0, spilledIn: 0, kvBatches: 0, kvRefused: 0 };
  const cacheHits = new CacheHitTracker();
  const table = new WorkerTable(options.breakerPolicy);
  const state = newRoutingState(options.random);
  const decisions = new DecisionLog();
  const bindings = new WorkerBindings(catalog.kv);
  await bindings.start();
  const registry = new RouterRegistry({ table, state, cacheHits, bindings, catalog, log, requireWorkerBinding: options.requireWorkerBinding, now, stats,
    ...(options.metrics ? { metrics: options.metrics } : {}) });
  /** A sender can repeat a forgery as fast as it likes: one line per subject per 10 s, with the count left out. */
  const forgedRegistry = new SampledWarning(log, 'refused registry events for another worker or cluster than their subject names');
  let sweepTimer: NodeJS.Timeout | undefined;
  let summaryTimer: NodeJS.Timeout | undefined;
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

  /** What a record says beyond the candidates: the method, and where the request stands between clusters. */
  type RecordContext = Pick<StoredDecision, 'method' | 'locality' | 'spilledFrom' | 'spill' | 'remoteCandidates' | 'index'>;
  const record = (request: RoutedRequest, context: RecordContext, outcome: DecisionOutcome, candidates: CandidateTable | [], started: number, winner?: string): void => {
    const entry: StoredDecision = {
      requestId: request.requestId, attempt: request.routing.attempt, routerId, at: now(), cluster,
      functionId: request.functionId, model: request.model, overridden: request.routing.method !== undefined,
      ...context, candidates, outcome, decisionMicros: Math.round((performance.now() - started) * 1000),
      ...(winner ? { winner } : {}),
    };
    decisions.add(entry);
    options.metrics?.decided(entry, routingTraceId());
    traceDecision(entry, () => catalog.resolve(request.functionId, request.model)?.version.versionId);
  };

  /** Which worker each recent dispatch went to, by reply subject, from every router: to exclude a worker that never accepted. */
  const dispatchedTo = new BoundedMap<string, string>(20_000);
  const withUnanswered = (exclude: string[], unanswered: string | undefined): string[] => {
    const silent = unanswered !== undefined ? dispatchedTo.get(unanswered) : undefined;
    return silent !== undefined && !exclude.includes(silent) ? [...exclude, silent] : exclude;
  };

  const dispatch = (message: Inbound, request: RoutedRequest, spilledFrom: string | undefined): void => {
    const started = performance.now();
    const resolved = catalog.resolve(request.functionId, request.model);
    const configured = resolved?.model.llmConfig;
    const method = request.routing.method ?? configured?.routingMethod ?? options.defaultRoutingMethod ?? defaultRoutingMethod;
    // A spilled request stays in the cluster it was spilled to: one hop.
    const locality: Locality = spilledFrom !== undefined ? 'strict' : configured?.locality ?? defaultLocality;
    const context: RecordContext = { method, locality, ...(spilledFrom !== undefined ? { spilledFrom } : {}) };
    if (!resolved) {
      record(request, context, 'no_eligible_candidates', [], started);
      reply(message, errorFrame({ code: ErrorCode.noEligibleCandidates, retryable: false,
        message: `model '${request.functionId}/${request.model}' is not registered` }));
      return;
    }
    const routingRequest: RoutingRequest = {
      requestId: request.requestId, functionId: request.functionId, model: request.model,
      exclude: withUnanswered(request.exclude, request.routing.unanswered),
      tokens: request.routing.tokens, ...(request.routing.key !== undefined ? { key: request.routing.key } : {}),
      ...(request.routing.blocks ? { blocks: request.routing.blocks } : {}),
      ...(request.routing.tokenBlocks && request.routing.blockSize ? { tokenBlocks: request.routing.tokenBlocks, blockSize: request.routing.blockSize } : {}),
      promptTokens: request.promptTokens, needs: operations[request.operation].work.kind,
    };
    const deployments = catalog.deployments(request.functionId);
    if (deployments) routingRequest.deployments = deployments;
    const t = now();
    const { winner, candidates, index, winnerCached } = decide({
      request: routingRequest, method, options: configured?.routing ?? {}, fleet: table.fleet(request.functionId),
      state, now: t, cluster,
    });
    const { choice, remotes } = chooseRoute({
      mode: locality, ...(spilledFrom !== undefined ? { spilledFrom } : {}), local: localView(candidates, cluster, configured?.spillAt ?? defaultSpillAt),
      remotes: () => link.remotes.candidates(request.functionId, request.model, t),
    });
    if (remotes) context.remoteCandidates = remotes;
    if (index) context.index = index;
    if (choice.type === 'spill') {
      link.spill(message, request, choice.cluster);
      stats.spilledOut++;
      record(request, { ...context, spill: { cluster: choice.cluster, reason: choice.reason } }, 'spilled', candidates, started);
      log.debug({ ...requestLogFields(request.requestId, message.headers.traceparent), to: choice.cluster, reason: choice.reason }, 'spilled to another cluster');
      return;
    }
    const unserved = winner ? undefined : unservedBy(candidates);
    if (unserved) {
      record(request, context, 'no_eligible_candidates', candidates, started);
      reply(message, errorFrame({ code: ErrorCode.unsupported, retryable: false,
        message: `the ${unserved.join(', ')} engine${unserved.length > 1 ? 's' : ''} serving '${request.functionId}/${request.model}' ${unserved.length > 1 ? 'do' : 'does'} not serve ${request.operation} requests` }));
      return;
    }
    if (!winner) {
      record(request, context, 'no_active_backend', candidates, started);
      const elsewhere = remotes?.length ? `; ${remotes.length} other cluster(s) without a free slot` : '';
      reply(message, errorFrame({ code: ErrorCode.noActiveBackend, retryable: true,
        message: `no active backend for '${request.functionId}/${request.model}' in cluster '${cluster}': ${candidates.summary()}${elsewhere}` }));
      return;
    }
    const workerId = winner.descriptor.workerId;
    const predictedCached = winnerCached !== undefined ? Math.round(winnerCached * request.promptTokens) : undefined;
    const prefillTokens = Math.max(0, request.promptTokens - (predictedCached ?? 0));
    registry.noteRouted(workerId, request.routing.tokens, request.routing.blocks, predictedCached, prefillTokens);
    record(request, context, 'dispatched', candidates, started, workerId);
    const headers = { ...message.headers, routingMethod: method, prefillTokens };
    if (headers.hops !== undefined) headers.hops = stampHop(headers.hops, 'r.out');
    transport.forward(subjects.workerInfer(workerId), { ...message, headers });
    if (message.reply) dispatchedTo.set(message.reply, workerId);
    transport.publish(subjects.routed(cluster), { type: 'routed', routerId, workerId, tokens: request.routing.tokens,
      ...(request.routing.blocks ? { blocks: request.routing.blocks } : {}), ...(message.reply ? { reply: message.reply } : {}),
      ...(predictedCached !== undefined ? { predictedCached } : {}), prefillTokens } satisfies RoutedEvent);
    log.debug({ ...requestLogFields(request.requestId, message.headers.traceparent), worker: workerId, method }, 'dispatched');
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

  const actor = spawn<RouterMessage>('router', ({ self }) => {
    scheduleSweep(self);
    return {
      receive(msg) {
        switch (msg.type) {
          case 'registry':
            registry.onEvent(msg.event);
            return;
          case 'dispatch':
            traceRouting(msg.message.headers.traceparent, msg.message.subject, () => dispatch(msg.message, msg.request, msg.spilledFrom));
            return;
          case 'summary':
            stats.summaries++;
            if (link.remotes.accept(msg.summary, now()) === 'table-full') {
              log.debug({ cluster: msg.summary.cluster, held: link.remotes.size }, 'dropped a summary: the table of remote clusters is full');
            }
            return;
          case 'publish-summary':
            link.publishSummary(table.all(), (fn) => catalog.deployments(fn), now());
            link.remotes.sweep(now());
            return;
          case 'routed':
            if (msg.event.routerId === routerId) return;
            registry.noteRouted(msg.event.workerId, msg.event.tokens, msg.event.blocks, msg.event.predictedCached, msg.event.prefillTokens);
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
                registry.forget(id);
                log.warn({ worker: id }, 'worker expired: heartbeats stopped');
              }
            } finally {
              // The next sweep whatever happened to this one: under resume, nothing else would schedule it.
              scheduleSweep(self);
            }
            return;
          case 'kv-events':
            registry.onKvEvents(msg.batch);
            return;
          default:
            assertNever(msg);
        }
      },
      stop() {
        clearTimeout(sweepTimer);
        clearInterval(summaryTimer);
      },
    };
  }, {
    mailbox: { capacity: 50_000, overflow: Overflow.reject },
    // Its state (the worker table, prefixes, cursors) lives outside the behaviour, so a restart would rebuild nothing: resume.
    supervision: { type: 'resume' },
    onFailure: (error, failure) => log.error({ err: error, messageType: failure.messageType, failures: failure.failures }, 'router actor failed on a message; dropped it and resumed'),
  });

  /** A request into the mailbox, or a retryable refusal when the mailbox is full. */
  const take = (msg: Extract<RouterMessage, { type: 'dispatch' }>): void => {
    if (!actor.tell(msg)) reply(msg.message, errorFrame({ code: ErrorCode.noActiveBackend, retryable: true, message: 'router overloaded' }));
  };

  const subs: Subscription[] = [
    transport.subscribe(subjects.registryOf(cluster), (m) => {
      stats.registryMessages++;
      const event = parseRegistryEvent(m.body);
      if (!event) return;
      // A worker may publish only on its own subject in its own cluster (its NATS permissions), so the
      // subject is who sent it: an event for any other worker id, or a descriptor naming another
      // cluster, is a forgery by a stolen credential.
      const claimedCluster = event.type === 'register' || event.type === 'heartbeat' ? event.worker.cluster : cluster;
      if (m.subject !== subjects.registry(cluster, eventWorkerId(event)) || claimedCluster !== cluster) {
        forgedRegistry.warn(m.subject, { subject: m.subject, claimed: eventWorkerId(event), claimedCluster, type: event.type });
        return;
      }
      actor.tell({ type: 'registry', event });
    }),
    transport.subscribe(subjects.routed(cluster), (m) => {
      const event = parseRoutedEvent(m.body);
      if (event) actor.tell({ type: 'routed', event });
    }),
    // Every router hears every worker's KV events (no queue group), so active-active routers keep the same index.
    transport.subscribe(subjects.kvEventsOf(cluster), (m) => {
      const batch = parseKvEventBatch(m.body);
      // A worker may publish only on its own subject: the subject is who sent it.
      if (!batch || m.subject !== subjects.kvEvents(cluster, batch.workerId)) {
        stats.kvRefused++;
        return;
      }
      if (!actor.tell({ type: 'kv-events', batch })) stats.kvRefused++;
    }),
    transport.subscribe(subjects.routerAdmin, (m) => {
      const query = parseRouterQuery(m.body);
      if (query && m.reply) actor.tell({ type: 'query', query, reply: m.reply });
    }),
    ...(options.takeGatewayRequests === false ? [] : [transport.subscribe(subjects.routeAll, (m) => {
      if (m.headers.hops !== undefined) m.headers.hops = stampHop(m.headers.hops, 'r.in');
      // The routing part only: the body stays encoded, and the frame goes on as it came.
      const request = parseRoutedRequest(m.body);
      if (!request) return;
      if (m.headers.hops !== undefined) m.headers.hops = stampHop(m.headers.hops, 'r.parsed');
      take({ type: 'dispatch', message: m, request });
    }, { queue: queues.routers })]),
    ...link.subscribe({
      summary: (summary) => actor.tell({ type: 'summary', summary }),
      spilled: (message, request, from) => {
        stats.spilledIn++;
        take({ type: 'dispatch', message, request, spilledFrom: from });
      },
    }),
  ];
  summaryTimer = setInterval(() => actor.tell({ type: 'publish-summary' }), summaryIntervalMs);
  summaryTimer.unref();
  // Ask workers to announce themselves now rather than at their next heartbeat.
  await transport.flush();
  transport.publish(subjects.discover(cluster), { type: 'discover' });

  return {
    routerId,
    table,
    catalog,
    decisions,
    bindings,
    cluster,
    clusters: link.remotes,
    cacheHits,
    stats: () => ({ ...stats }),
    async stop() {
      clearInterval(summaryTimer);
      for (const s of subs) s.unsubscribe();
      bindings.stop();
      await actor.stop();
    },
  };
}
