// docs/observability.md lists every metric every role registers, and names none that does not exist.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../src/observability/gateway-metrics.js';
import { LimiterMetrics } from '../src/observability/limiter-metrics.js';
import { RouterMetrics } from '../src/observability/router-metrics.js';
import { WorkerMetrics } from '../src/observability/worker-metrics.js';

const doc = readFileSync(new URL('../docs/observability.md', import.meta.url), 'utf8');
const metricsSection = doc.slice(doc.indexOf('\n## Metrics'));
const registries = {
  gateway: new GatewayMetrics({ defaultMetrics: false }).registry,
  router: new RouterMetrics({ defaultMetrics: false }).registry,
  worker: new WorkerMetrics({ defaultMetrics: false }).registry,
  limiter: new LimiterMetrics({ defaultMetrics: false }).registry,
};

/** The rows of the metrics table under `### <Role>`: metric name and type. */
function documented(role: string): Map<string, string> {
  const start = metricsSection.indexOf(`\n### ${role[0]?.toUpperCase()}${role.slice(1)}\n`);
  const end = metricsSection.indexOf('\n### ', start + 1);
  const rows = new Map<string, string>();
  for (const m of metricsSection.slice(start, end).matchAll(/^\| `([a-z_:0-9]+)` \| (\w+) \|/gm)) rows.set(m[1] as string, m[2] as string);
  return rows;
}

describe('metrics docs', () => {
  for (const [role, registry] of Object.entries(registries)) {
    it(`metrics docs - the ${role} table lists every ${role} metric with its type, and nothing else`, () => {
      const rows = documented(role);
      const registered = new Map(registry.getMetricsAsArray().map((m) => [m.name, String(m.type)]));
      expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(registered));
    });
  }
});
