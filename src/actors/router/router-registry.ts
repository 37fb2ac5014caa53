/**
 * The router's side of the registry: what registrations, heartbeats, load events, departures and
 * KV events do to its worker table and indexes. A worker joins the table only for what its identity
 * is bound to serve (worker-binding-check.ts); one that leaves, expires or is refused takes its
 * prefix blocks, KV blocks and cache-hit record with it.
 */
import type { FunctionCatalog } from '../../control/function-catalog.js';
import type { WorkerBindings } from '../../control/worker-bindings.js';
import type { Logger } from '../../observability/logger.js';
import type { RouterMetricsHooks } from '../../observability/router-metrics.js';
import type { KvEventBatch } from '../../protocol/kv-events.js';
import type { CacheHitTracker } from './cache-hits.js';
import type { RegistryEvent, WorkerDescriptor } from './registry.protocol.js';
import type { RoutingState } from './routing-request.js';
import { bindingRefusal } from './worker-binding-check.js';
import type { WorkerTable } from './worker-table.js';

export interface RegistryDeps {
  table: WorkerTable;
  state: RoutingState;
  cacheHits: CacheHitTracker;
  bindings: WorkerBindings;
  catalog: FunctionCatalog;
  log: Logger;
  requireWorkerBinding: boolean;
  now: () => number;
  metrics?: RouterMetricsHooks;
  /** KV event batches applied, and refused (unknown worker, wrong model). */
  stats: { kvBatches: number; kvRefused: number };
}

export class RouterRegistry {
  /** The last refusal logged per worker, so a refused worker logs once per reason, not every heartbeat. */
  readonly #refusals = new Map<string, string>();
  /** Workers whose block size mismatch was logged, so it logs once. */
  readonly #blockSizeWarned = new Set<string>();

  constructor(readonly deps: RegistryDeps) {}

  onEvent(e: RegistryEvent): void {
    const { table, log, now } = this.deps;
    if (e.type === 'load') {
      table.updateInFlight(e.workerId, e.inFlight, now(), e.prefilling);
      return;
    }
    if (e.type === 'deregister') {
      if (table.remove(e.workerId)) log.info({ worker: e.workerId, reason: e.reason }, 'worker left');
      this.forget(e.workerId);
      return;
    }
    const refusal = bindingRefusal(e.worker, this.deps.bindings.state(e.worker.workerId), this.deps.requireWorkerBinding);
    if (refusal) return this.#refuse(e.worker, refusal);
    this.#refusals.delete(e.worker.workerId);
    const known = table.get(e.worker.workerId) !== undefined;
    const change = table.upsert(e.worker, e.load, now());
    this.deps.cacheHits.reported(e.worker.workerId, e.load.engine);
    if (!known) log.info({ worker: e.worker.workerId, model: e.worker.model, fn: e.worker.functionId, cluster: e.worker.cluster }, 'worker joined');
    if (change) this.deps.metrics?.breakerChanged(change.change);
    if (change?.change === 'opened') log.warn({ worker: change.workerId, outcomes: e.load.outcomes }, 'circuit opened: the worker keeps failing');
    if (change?.change === 'closed') log.info({ worker: change.workerId }, 'circuit closed: the probe succeeded');
  }

  /** A worker's KV events, into its model's index; only from a worker in the table, for the model it serves. */
  onKvEvents(batch: KvEventBatch): void {
    const { table, stats, catalog, state, log } = this.deps;
    const worker = table.get(batch.workerId)?.descriptor;
    if (!worker || worker.model !== batch.model) {
      stats.kvRefused++;
      return;
    }
    stats.kvBatches++;
    const configured = catalog.resolve(worker.functionId, worker.model)?.model.llmConfig.routing?.kvBlockSize;
    const index = state.kv.forWorker(worker.workerId, worker.functionId, worker.model, configured);
    const outcome = index.apply(batch);
    if (outcome === 'block-size-mismatch' && !this.#blockSizeWarned.has(worker.workerId)) {
      this.#blockSizeWarned.add(worker.workerId);
      log.warn({ worker: worker.workerId, model: worker.model, blockSize: batch.blockSize, modelBlockSize: index.blockSize },
        `worker '${worker.workerId}' reports KV blocks of ${batch.blockSize} tokens, the model's are ${index.blockSize}: routing it on the approximate index`);
    } else if (outcome === 'gap' || outcome === 'overflow' || outcome === 'restart') {
      log.debug({ worker: worker.workerId, seq: batch.seq, outcome }, 'forgot a worker\'s KV blocks');
    }
  }

  /** A request this router or a peer sent to the worker: its load, its prefix, and the hit predicted for it. */
  noteRouted(workerId: string, tokens: number, blocks: readonly number[] | undefined, predictedCached: number | undefined, prefillTokens = 0): void {
    const { table, state, cacheHits } = this.deps;
    if (!table.get(workerId)) return;
    table.routed(workerId, tokens, prefillTokens);
    if (blocks?.length) state.prefixes.insert(workerId, blocks);
    if (predictedCached !== undefined) cacheHits.predicted(workerId, predictedCached);
  }

  /** Everything kept about a worker beyond its table entry (it left, expired or was refused). */
  forget(workerId: string): void {
    const { state, cacheHits } = this.deps;
    state.prefixes.remove(workerId);
    state.kv.forget(workerId);
    cacheHits.forget(workerId);
    this.#blockSizeWarned.delete(workerId);
  }

  /**
   * A registration outside the worker's binding never enters the table; a worker already in it (its
   * binding changed live) leaves at this heartbeat, so it gets no new requests.
   */
  #refuse(worker: WorkerDescriptor, reason: string): void {
    const removed = this.deps.table.remove(worker.workerId);
    if (removed) this.forget(worker.workerId);
    if (!removed && this.#refusals.get(worker.workerId) === reason) return;
    if (this.#refusals.size >= 10_000) this.#refusals.clear();
    this.#refusals.set(worker.workerId, reason);
    this.deps.log.warn({ worker: worker.workerId, fn: worker.functionId, version: worker.versionId, model: worker.model, reason },
      `${removed ? 'removed' : 'refused'} worker '${worker.workerId}': ${reason}`);
  }
}
