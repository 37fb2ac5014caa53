/**
 * The worker's look at its engine, once per heartbeat: a health check (the `healthy` of its load) and
 * a scrape of the engine's own load metrics, never two at once.
 */
import type { EngineAdapter, EngineLoad } from '../../engine-adapters/adapter.js';
import type { WorkerMetricsHooks } from '../../observability/worker-metrics.js';

/** The engine is reported unhealthy after this many failed health checks in a row. */
const unhealthyAfterFailedChecks = 2;
/** A health check or metrics scrape may take this long at least (or a heartbeat interval, if longer). */
const minProbeTimeoutMs = 2_000;

export class EngineProbe {
  /** The engine's own load, as last scraped (one scrape per heartbeat, never two at once). */
  #engineLoad: EngineLoad | undefined;
  #scraping = false;
  /** Failed health checks in a row (the engine passed one before the worker started): one slow answer on a busy machine does not make it unhealthy. */
  #failedChecks = 0;

  constructor(
    readonly engine: EngineAdapter,
    readonly heartbeatMs: number,
    readonly metrics: WorkerMetricsHooks | undefined,
  ) {}

  get healthy(): boolean {
    return this.#failedChecks < unhealthyAfterFailedChecks;
  }

  get engineLoad(): EngineLoad | undefined {
    return this.#engineLoad;
  }

  /** Health check and metrics scrape, once per heartbeat and never two at once. */
  probe(): void {
    if (this.#scraping) return;
    this.#scraping = true;
    const { engine } = this;
    const signal = AbortSignal.timeout(Math.max(this.heartbeatMs, minProbeTimeoutMs));
    Promise.all([
      engine.health(signal).then((ok) => ok, () => false).then((ok) => {
        this.#failedChecks = ok ? 0 : this.#failedChecks + 1;
        this.metrics?.healthCheck(ok);
      }),
      engine.load(signal).then((l) => l, () => undefined).then((l) => {
        this.#engineLoad = l;
        if (!l && engine.scrapesLoad) this.metrics?.scrapeFailed();
      }),
    ]).finally(() => void (this.#scraping = false));
  }
}
