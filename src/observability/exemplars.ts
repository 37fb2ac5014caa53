/**
 * Exemplars: an observation of a key histogram keeps the trace id of the request it measured, so a
 * slow bucket on a dashboard links to a trace of one request that fell in it. Only with tracing on
 * (tracing.ts): a trace id nothing exported would link nowhere. They appear in OpenMetrics scrapes
 * only (metrics-text.ts).
 */
import { Histogram, type HistogramConfiguration, type LabelValues } from 'prom-client';
import { traceIdOf, validTraceId, validTraceparent } from './traceparent.js';
import { tracingOn } from './tracing.js';

/** The exemplar labels for a request's `traceparent` (`trace_id`), or undefined when tracing is off or there is none. */
export function traceExemplar(traceparent: string | undefined): { trace_id: string } | undefined {
  return tracingOn() && validTraceparent(traceparent) ? { trace_id: traceIdOf(traceparent) } : undefined;
}

/** The exemplar labels for a trace id already at hand (a span's), with tracing on. */
export function traceIdExemplar(traceId: string | undefined): { trace_id: string } | undefined {
  return traceId && tracingOn() && validTraceId(traceId) ? { trace_id: traceId } : undefined;
}

/**
 * How often one bucket of one series takes a new exemplar. A scrape shows one exemplar per bucket,
 * the last one set, so at a thousand requests a second nearly every update would be overwritten
 * unseen; prom-client's update (a second hash of the labels, a check of the exemplar's labels, a
 * timestamp) was a few percent of what tracing costs a request. Within a second of its last one,
 * a bucket keeps the exemplar it has.
 */
export const exemplarRefreshMs = 1000;

/**
 * Per series, when each of its buckets (+Inf last) last took an exemplar: a tree of Maps keyed by
 * the label values in the histogram's label-name order. Label values are mostly the same few
 * strings, whose hashes V8 keeps, so a lookup is a Map.get per label; a key string built per
 * observation (bucket and every name=value) cost ~1.2 µs a call.
 */
type SeriesNode = Map<unknown, SeriesNode | Float64Array>;

interface ExemplarClock {
  bounds: readonly number[];
  names: readonly string[];
  series: SeriesNode;
}

/** Per exemplar histogram, its clock. */
const exemplarClocks = new WeakMap<object, ExemplarClock>();

/** The series' last-exemplar times by bucket, created (never due yet: -Infinity) on its first observation. */
function seriesTimes({ bounds, names, series }: ExemplarClock, labels: Readonly<Record<string, unknown>>): Float64Array {
  let node = series;
  const last = names.length - 1;
  for (let i = 0; i < last; i++) {
    const value = labels[names[i] as string];
    let next = node.get(value) as SeriesNode | undefined;
    if (next === undefined) node.set(value, (next = new Map()));
    node = next;
  }
  const value = last >= 0 ? labels[names[last] as string] : undefined;
  let times = node.get(value) as Float64Array | undefined;
  if (times === undefined) node.set(value, (times = new Float64Array(bounds.length + 1).fill(-Infinity)));
  return times;
}

/** Whether the bucket `value` falls in, for the series `labels` names, is due a new exemplar (and if so, it is taken now). */
export function exemplarDue(histogram: object, labels: Readonly<Record<string, unknown>>, value: number, now = performance.now()): boolean {
  const clock = exemplarClocks.get(histogram);
  if (!clock) return true;
  const { bounds } = clock;
  let bucket = 0;
  while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
  const times = seriesTimes(clock, labels);
  if (now - (times[bucket] as number) < exemplarRefreshMs) return false;
  times[bucket] = now;
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
  exemplarClocks.set(histogram, { bounds: [...(histogram as unknown as { upperBounds: readonly number[] }).upperBounds], names: [...(config.labelNames ?? [])], series: new Map() });
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
 * Observes `value`, with the trace id `exemplarOf` reads from `trace` (a `traceparent` by default,
 * or a bare trace id with traceIdExemplar) when tracing is on and the bucket is due one
 * (exemplarDue; the histogram must come from exemplarHistogram). `trace` is parsed only then: most
 * observations keep no exemplar. A malformed one is observed without, its bucket's turn spent.
 */
export function observeTraced<T extends string>(histogram: Histogram<T>, labels: LabelValues<T>, value: number, trace: string | undefined,
  exemplarOf: (trace: string) => { trace_id: string } | undefined = traceExemplar): void {
  if (!trace || !tracingOn() || !exemplarDue(histogram, labels, value)) return histogram.observe(labels, value);
  const exemplar = exemplarOf(trace);
  if (!exemplar) return histogram.observe(labels, value);
  (histogram.observe as unknown as (data: { labels: LabelValues<T>; value: number; exemplarLabels: Record<string, string> }) => void)({ labels, value, exemplarLabels: exemplar });
}
