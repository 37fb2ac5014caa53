/**
 * The router's Prometheus metrics: how long decisions take and how they end, the worker table and
 * its circuit breakers, and requests spilled between clusters. One RouterMetrics serves every
 * router of a process (`llmux up --routers 2`): the gauges are read from each router's table at
 * scrape time and carry its `router_id`.
 */
import { Counter, Gauge, type Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState } from '../actors/router/circuit-breaker.js';
import { exemplarHistogram, observeTraced, traceIdExemplar } from './exemplars.js';

/** What the router tells its metrics of one decision (a StoredDecision has all of it). */
export interface DecisionMetricFacts {
  method: string;
  outcome: string;
  decisionMicros: number;
  spill?: { cluster: string; reason: string };
  spilledFrom?: string;
}

/** The hooks the router actor calls (RouterOptions.metrics). */
export interface RouterMetricsHooks {
  /** A decision was recorded; `traceId` is the routing span's, when tracing is on. */
  decided(decision: DecisionMetricFacts, traceId: string | undefined): void;
  /** A worker's circuit opened or closed. */
  breakerChanged(change: 'opened' | 'closed'): void;
}

/** What the gauges read from a running router. */
export interface WatchedRouter {
  readonly routerId: string;
  readonly table: { readonly size: number; all(): ReadonlyArray<{ breaker: { state(now: number): BreakerState } }> };
  readonly clusters: { readonly size: number };
  /** Predicted against engine-reported prefix cache hits per worker (actors/router/cache-hits.ts). */
  readonly cacheHits?: { errors(): ReadonlyArray<{ workerId: string; error: number; predicted: number; reported: number }> };
}

const breakerStates: readonly BreakerState[] = ['closed', 'open', 'half-open'];

export class RouterMetrics implements RouterMetricsHooks {
  readonly registry = new Registry();
  readonly #routers = new Set<WatchedRouter>();

  readonly decisionDuration: Histogram<'method' | 'outcome'> = exemplarHistogram({
    name: 'llmux_router_decision_duration_seconds',
    help: 'Time a router took to decide where one dispatch goes (catalog lookup, eligibility, the method, locality), by routing method and outcome (dispatched, spilled, no_active_backend, no_eligible_candidates).',
    labelNames: ['method', 'outcome'] as const,
    buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [this.registry],
  });

  readonly spills = new Counter({
    name: 'llmux_router_spills_total',
    help: 'Requests this router sent to another cluster, by that cluster and the reason (local-absent, local-saturated, local-unhealthy, local-draining, local-failed, any-most-free).',
    labelNames: ['cluster', 'reason'] as const,
    registers: [this.registry],
  });

  readonly spilledIn = new Counter({
    name: 'llmux_router_spilled_in_total',
    help: "Requests another cluster's router spilled to this router's cluster, by the cluster they came from.",
    labelNames: ['from_cluster'] as const,
    registers: [this.registry],
  });

  readonly breakerChanges = new Counter({
    name: 'llmux_router_circuit_changes_total',
    help: "Circuit breaker transitions of the router's workers (opened: a worker kept failing; closed: its probe succeeded).",
    labelNames: ['change'] as const,
    registers: [this.registry],
  });

  readonly workers = new Gauge({
    name: 'llmux_router_workers',
    help: "Workers in the router's table (its own cluster's, as their heartbeats arrive).",
    labelNames: ['router_id'] as const,
    registers: [this.registry],
    collect: () => {
      for (const r of this.#routers) this.workers.set({ router_id: r.routerId }, r.table.size);
    },
  });

  readonly breakers = new Gauge({
    name: 'llmux_router_circuit_breakers',
    help: "The router's workers by circuit breaker state (closed, open, half-open).",
    labelNames: ['router_id', 'state'] as const,
    registers: [this.registry],
    collect: () => this.#countBreakers(),
  });

  readonly remoteClusters = new Gauge({
    name: 'llmux_router_remote_clusters',
    help: 'Other clusters the router holds a fresh summary of (where it may spill).',
    labelNames: ['router_id'] as const,
    registers: [this.registry],
    collect: () => {
      for (const r of this.#routers) this.remoteClusters.set({ router_id: r.routerId }, r.clusters.size);
    },
  });

  readonly cacheHitError = new Gauge({
    name: 'llmux_router_cache_hit_prediction_error',
    help: "Per worker, (prefix cache hits the router predicted − hits the engine reported) ÷ prompt tokens the engine looked up, a moving mean over its load reports: rising above 0 is a silent loss of affinity (restarts, evictions, a wrong block size).",
    labelNames: ['router_id', 'worker_id'] as const,
    registers: [this.registry],
    collect: () => this.#collectCacheHits(),
  });

  readonly cacheHitTokens = new Gauge({
    name: 'llmux_router_cache_hit_tokens',
    help: 'Per worker, prompt tokens found in its prefix cache since the router started: as the router predicted (source=predicted) and as the engine reported (source=reported), over the same load reports.',
    labelNames: ['router_id', 'worker_id', 'source'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'llmux_router_' });
  }

  /** Reads `router`'s table at every scrape until the returned function is called. */
  watch(router: WatchedRouter): () => void {
    this.#routers.add(router);
    return () => {
      this.#routers.delete(router);
      this.workers.remove({ router_id: router.routerId });
      this.remoteClusters.remove({ router_id: router.routerId });
      for (const state of breakerStates) this.breakers.remove({ router_id: router.routerId, state });
    };
  }

  decided(decision: DecisionMetricFacts, traceId: string | undefined): void {
    observeTraced(this.decisionDuration, { method: decision.method, outcome: decision.outcome }, decision.decisionMicros / 1e6, traceId, traceIdExemplar);
    if (decision.spill) this.spills.inc({ cluster: decision.spill.cluster, reason: decision.spill.reason });
    if (decision.spilledFrom !== undefined) this.spilledIn.inc({ from_cluster: decision.spilledFrom });
  }

  breakerChanged(change: 'opened' | 'closed'): void {
    this.breakerChanges.inc({ change });
  }

  /** Both cache-hit gauges, rebuilt at each scrape (workers come and go). */
  #collectCacheHits(): void {
    this.cacheHitError.reset();
    this.cacheHitTokens.reset();
    for (const r of this.#routers) {
      for (const w of r.cacheHits?.errors() ?? []) {
        this.cacheHitError.set({ router_id: r.routerId, worker_id: w.workerId }, w.error);
        this.cacheHitTokens.set({ router_id: r.routerId, worker_id: w.workerId, source: 'predicted' }, w.predicted);
        this.cacheHitTokens.set({ router_id: r.routerId, worker_id: w.workerId, source: 'reported' }, w.reported);
      }
    }
  }

  /** Every watched router's workers by breaker state, as of now. */
  #countBreakers(): void {
    const now = Date.now();
    for (const router of this.#routers) {
      const counts = new Map<BreakerState, number>(breakerStates.map((s) => [s, 0]));
      for (const w of router.table.all()) {
        const state = w.breaker.state(now);
        counts.set(state, (counts.get(state) ?? 0) + 1);
      }
      for (const [state, n] of counts) this.breakers.set({ router_id: router.routerId, state }, n);
    }
  }
}
