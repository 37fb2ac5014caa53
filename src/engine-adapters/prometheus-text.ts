/**
 * Reading engine load from Prometheus text format: the sum of a metric's samples over all label
 * sets (`name{labels} value` lines; comments, NaN and ±Inf handled), and the EngineLoad built from
 * the metric names an engine uses.
 */
import type { EngineLoad } from './adapter.js';

/** Sum of every sample of each wanted metric; a metric with no (finite) sample is absent. */
export function sumSamples(text: string, names: ReadonlySet<string>): Map<string, number> {
  const sums = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const nameEnd = line.search(/[{\s]/);
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!names.has(name)) continue;
    const afterLabels = line[nameEnd] === '{' ? line.indexOf('}', nameEnd) + 1 : nameEnd;
    if (afterLabels === 0) continue; // unterminated label set
    const value = Number(line.slice(afterLabels).trim().split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    sums.set(name, (sums.get(name) ?? 0) + value);
  }
  return sums;
}

export interface LoadMetricNames {
  running: readonly string[];
  waiting: readonly string[];
  /** KV cache usage names; the first one present wins (current name, then older ones). */
  kvCacheUsage: readonly string[];
  /** Prefix cache counters in tokens (vLLM's `prefix_cache_queries_total` and `prefix_cache_hits_total`), where the engine has them. */
  prefixCacheQueries?: readonly string[];
  prefixCacheHits?: readonly string[];
}

/** The engine's load from its metrics text; undefined when none of the names appear. */
export function readLoad(text: string, names: LoadMetricNames): EngineLoad | undefined {
  const queriesNames = names.prefixCacheQueries ?? [];
  const hitsNames = names.prefixCacheHits ?? [];
  const sums = sumSamples(text, new Set([...names.running, ...names.waiting, ...names.kvCacheUsage, ...queriesNames, ...hitsNames]));
  const first = (list: readonly string[]): number | undefined => list.map((n) => sums.get(n)).find((v) => v !== undefined);
  const load: EngineLoad = {};
  const running = first(names.running);
  const waiting = first(names.waiting);
  const kv = first(names.kvCacheUsage);
  if (running !== undefined) load.running = running;
  if (waiting !== undefined) load.waiting = waiting;
  if (kv !== undefined) load.kvCacheUsage = Math.min(1, Math.max(0, kv));
  const queries = first(queriesNames);
  const hits = first(hitsNames);
  if (queries !== undefined && hits !== undefined && queries >= 0 && hits >= 0) {
    load.prefixCacheQueries = queries;
    load.prefixCacheHits = hits;
  }
  return Object.keys(load).length > 0 ? load : undefined;
}
