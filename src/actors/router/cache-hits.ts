/**
 * The closed loop on prefix caching: per worker, the prompt tokens the router expected its engine to
 * find cached (the index's match at each decision, from every router of the cluster) against the
 * hits the engine itself reports (`prefix_cache_hits` in its load report, a counter). Between two
 * reports, error = (predicted − reported) ÷ prompt tokens the engine looked up; it is kept as a
 * moving mean per worker, so a silent loss of affinity (a restart, evictions, a wrong block size)
 * shows up as a rising positive error, and an index that misses what engines hold as a negative one.
 */
import type { EngineLoad } from '../../engine-adapters/adapter.js';

interface WorkerHits {
  predictedSinceReport: number;
  lastHits?: number;
  lastQueries?: number;
  /** Moving mean of the error, −1..1; undefined before two reports with lookups between them. */
  error?: number;
  predicted: number;
  reported: number;
}

/** The weight of each new report in the moving mean. */
const errorWeight = 0.3;

export class CacheHitTracker {
  readonly #workers = new Map<string, WorkerHits>();

  constructor(readonly maxWorkers = 100_000) {}

  /** A request went to the worker expecting `tokens` of its prompt cached. */
  predicted(workerId: string, tokens: number): void {
    if (!(tokens > 0)) return;
    const w = this.#entry(workerId);
    if (w) w.predictedSinceReport += tokens;
  }

  /** The worker's load report: compares what was predicted since the last one with what the engine counted. */
  reported(workerId: string, engine: EngineLoad | undefined): void {
    const hits = engine?.prefixCacheHits;
    const queries = engine?.prefixCacheQueries;
    if (hits === undefined || queries === undefined) return;
    const w = this.#entry(workerId);
    if (!w) return;
    const { lastHits, lastQueries } = w;
    w.lastHits = hits;
    w.lastQueries = queries;
    // The first report, or a counter that went back (the engine restarted): only a baseline.
    if (lastHits === undefined || lastQueries === undefined || hits < lastHits || queries < lastQueries) {
      w.predictedSinceReport = 0;
      return;
    }
    const looked = queries - lastQueries;
    if (looked <= 0) return;
    const reportedHits = hits - lastHits;
    const predicted = Math.min(w.predictedSinceReport, looked);
    w.predicted += predicted;
    w.reported += reportedHits;
    w.predictedSinceReport = 0;
    const error = (predicted - reportedHits) / looked;
    w.error = w.error === undefined ? error : w.error + errorWeight * (error - w.error);
  }

  forget(workerId: string): void {
    this.#workers.delete(workerId);
  }

  /** Per worker with a measured error: the moving error, and predicted and reported hit tokens since the router started. */
  errors(): Array<{ workerId: string; error: number; predicted: number; reported: number }> {
    const out: Array<{ workerId: string; error: number; predicted: number; reported: number }> = [];
    for (const [workerId, w] of this.#workers) if (w.error !== undefined) out.push({ workerId, error: w.error, predicted: w.predicted, reported: w.reported });
    return out;
  }

  #entry(workerId: string): WorkerHits | undefined {
    let w = this.#workers.get(workerId);
    if (!w) {
      if (this.#workers.size >= this.maxWorkers) return undefined;
      w = { predictedSinceReport: 0, predicted: 0, reported: 0 };
      this.#workers.set(workerId, w);
    }
    return w;
  }
}
