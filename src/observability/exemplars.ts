/**
 * Exemplars: an observation of a key histogram keeps the trace id of the request it measured, so a
 * slow bucket on a dashboard links to a trace of one request that fell in it. Only with tracing on
 * (tracing.ts): a trace id nothing exported would link nowhere. They appear in OpenMetrics scrapes
 * only (metrics-text.ts).
 */
import { Histogram, type HistogramConfiguration, type LabelValues } from 'prom-client';
import { tracingOn } from './tracing.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
const zeroTraceId = '0'.repeat(32);

/** The exemplar labels for a request's `traceparent` (`trace_id`), or undefined when tracing is off or there is none. */
export function traceExemplar(traceparent: string | undefined): { trace_id: string } | undefined {
  if (!traceparent || !tracingOn()) return undefined;
  const traceId = TRACEPARENT.exec(traceparent)?.[1];
  return traceId && traceId !== zeroTraceId ? { trace_id: traceId } : undefined;
}

/** The exemplar labels for a trace id already at hand (a span's), with tracing on. */
export function traceIdExemplar(traceId: string | undefined): { trace_id: string } | undefined {
  return traceId && tracingOn() && TRACE_ID.test(traceId) && traceId !== zeroTraceId ? { trace_id: traceId } : undefined;
}

/**
 * How often one bucket of one series takes a new exemplar. A scrape shows one exemplar per bucket,
 * the last one set, so at a thousand requests a second nearly every update would be overwritten
 * unseen; prom-client's update (a second hash of the labels, a check of the exemplar's labels, a
 * timestamp) was a few percent of what tracing costs a request. Within a second of its last one,
 * a bucket keeps the exemplar it has.
 */
export const exemplarRefreshMs = 1000;

/** Per exemplar histogram: its buckets' upper bounds, and when each series' bucket last took an exemplar. */
const exemplarClocks = new WeakMap<object, { bounds: readonly number[]; last: Map<string, number> }>();

/** Whether the bucket `value` falls in, for the series `labels` names, is due a new exemplar (and if so, it is taken now). */
export function exemplarDue(histogram: object, labels: Readonly<Record<string, unknown>>, value: number, now = performance.now()): boolean {
  const clock = exemplarClocks.get(histogram);
  if (!clock) return true;
  const { bounds } = clock;
  let bucket = 0;
  while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
  let key = String(bucket);
  for (const name in labels) key += `\u0000${name}=${String(labels[name])}`;
  const last = clock.last.get(key);
  if (last !== undefined && now - last < exemplarRefreshMs) return false;
  clock.last.set(key, now);
  return true;
}

type Observe<T extends string> = Histogram<T>['observe'];

/**
 * A histogram that keeps exemplars and still takes `observe(labels, value)` and `observe(value)`:
 * prom-client's exemplar histograms take only the object form, which would break every caller.
 */
export function exemplarHistogram<T extends string>(config: HistogramConfiguration<T>): Histogram<T> {
  // prom-client refuses exemplars on a Prometheus-format registry, though it renders them only in
  // OpenMetrics anyway; registered by hand, the registry serves both formats (metrics-text.ts).
  const histogram = new Histogram<T>({ ...config, enableExemplars: true, registers: [] });
  exemplarClocks.set(histogram, { bounds: [...(histogram as unknown as { upperBounds: readonly number[] }).upperBounds], last: new Map() });
  for (const registry of config.registers ?? []) registry.registerMetric(histogram);
  const withExemplar = histogram.observe.bind(histogram) as (data: { labels?: LabelValues<T>; value: number; exemplarLabels?: LabelValues<T> }) => void;
  histogram.observe = ((a: LabelValues<T> | number | { value: number }, b?: number): void => {
    if (typeof a === 'number') return withExemplar({ labels: {}, value: a });
    if (typeof b === 'number') return withExemplar({ labels: a as LabelValues<T>, value: b });
    return withExemplar(a as { value: number });
  }) as Observe<T>;
  return histogram;
}

/**
 * Observes `value`, with `exemplar` when there is one and its bucket is due one (exemplarDue; the
 * histogram must come from exemplarHistogram).
 */
export function observeTraced<T extends string>(histogram: Histogram<T>, labels: LabelValues<T>, value: number, exemplar: { trace_id: string } | undefined): void {
  if (!exemplar || !exemplarDue(histogram, labels, value)) return histogram.observe(labels, value);
  (histogram.observe as unknown as (data: { labels: LabelValues<T>; value: number; exemplarLabels: Record<string, string> }) => void)({ labels, value, exemplarLabels: exemplar });
}
