/**
 * One scrape's text from several registries, in the format the scraper asked for: Prometheus text
 * 0.0.4 by default, OpenMetrics 1.0 (the only one that carries exemplars) when its `Accept` names
 * `application/openmetrics-text`, as Prometheus's does when exemplar storage is on.
 *
 * prom-client renders OpenMetrics by renaming every counter of the registry in place (dropping its
 * `_total`), so a registry that served it once serves Prometheus text with the names changed. Here
 * each metric is rendered through a throwaway registry of the wanted format and a view of the
 * metric with the OpenMetrics name, and the metrics themselves are never touched.
 */
import { Registry } from 'prom-client';

/** A metric as a registry holds it (prom-client types it loosely: a name and a way to read it). */
type Metric = ReturnType<Registry['getMetricsAsArray']>[number];

export const prometheusContentType = Registry.PROMETHEUS_CONTENT_TYPE;
export const openMetricsContentType = Registry.OPENMETRICS_CONTENT_TYPE;

/** Whether an `Accept` header asks for OpenMetrics. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept);
}

export interface MetricsText {
  contentType: string;
  text: string;
}

interface Rendered {
  get(): Promise<{ name: string; type: string }>;
}

/** The counter as OpenMetrics names it: the family without `_total` (its samples get it back). */
function openMetricsView(metric: Metric): Rendered {
  const source = metric as unknown as { getForPromString?: () => Promise<{ name: string; type: string }>; get: () => Promise<{ name: string; type: string }> };
  return {
    async get() {
      const data = await (source.getForPromString ? source.getForPromString() : source.get());
      return data.type === 'counter' ? { ...data, name: data.name.replace(/_total$/, '') } : data;
    },
  };
}

/** Every metric of `registries`, once each (the same metric object in two registries is rendered once). */
export async function renderMetrics(registries: readonly Registry[], accept?: string): Promise<MetricsText> {
  const openMetrics = wantsOpenMetrics(accept);
  const seen = new Set<Metric>();
  const metrics: Metric[] = [];
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      if (seen.has(metric)) continue;
      seen.add(metric);
      metrics.push(metric);
    }
  }
  // getMetricsAsString is public in prom-client's JavaScript and missing from its types.
  const renderer = new (Registry as unknown as new (contentType: string) => { getMetricsAsString(metric: Metric | Rendered): Promise<string> })(
    openMetrics ? openMetricsContentType : prometheusContentType);
  const format = (metric: Metric | Rendered): Promise<string> => renderer.getMetricsAsString(metric);
  const parts = await Promise.all(metrics.map((m) => format(openMetrics ? openMetricsView(m) : m)));
  return openMetrics
    ? { contentType: openMetricsContentType, text: `${parts.join('\n')}\n# EOF\n` }
    : { contentType: prometheusContentType, text: `${parts.join('\n\n')}\n` };
}

/** Throws when two registries hold different metrics of one name: a scrape must not show a family twice. */
export function assertDistinctNames(registries: readonly Registry[]): void {
  const owner = new Map<string, Metric>();
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name } = metric;
      const other = owner.get(name);
      if (other && other !== metric) throw new Error(`two registries both have a metric named '${name}'`);
      owner.set(name, metric);
    }
  }
}
