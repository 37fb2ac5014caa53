import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { exemplarHistogram } from './exemplars.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { assertDistinctNames, openMetricsContentType, prometheusContentType, renderMetrics, wantsOpenMetrics } from './metrics-text.js';

const traceId = '0af7651916cd43dd8448eb211c80319c';

function registryWithOne(): { registry: Registry; counter: Counter<'route'> } {
  const registry = new Registry();
  const counter = new Counter({ name: 'demo_requests_total', help: 'Demo.', labelNames: ['route'] as const, registers: [registry] });
  const histogram = exemplarHistogram({ name: 'demo_duration_seconds', help: 'Demo.', labelNames: ['route'] as const, buckets: [0.1, 1], registers: [registry] });
  counter.inc({ route: 'chat' });
  // An observation with an exemplar, as observeTraced makes one with tracing on.
  (histogram.observe as unknown as (data: { labels: { route: string }; value: number; exemplarLabels: { trace_id: string } }) => void)(
    { labels: { route: 'chat' }, value: 0.05, exemplarLabels: { trace_id: traceId } });
  histogram.observe({ route: 'chat' }, 0.5);
  histogram.observe(2);
  return { registry, counter };
}

describe('metrics text', () => {
  it('metrics text - asks for OpenMetrics only when the Accept header names it', () => {
    expect(wantsOpenMetrics(undefined)).toBe(false);
    expect(wantsOpenMetrics('text/plain')).toBe(false);
    expect(wantsOpenMetrics('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')).toBe(true);
  });

  it('metrics text - renders exemplars in OpenMetrics only, and counters keep their _total in Prometheus text after an OpenMetrics scrape', async () => {
    const { registry } = registryWithOne();
    const open = await renderMetrics([registry], 'application/openmetrics-text');
    expect(open.contentType).toBe(openMetricsContentType);
    expect(open.text).toContain('# TYPE demo_requests counter');
    expect(open.text).toContain('demo_requests_total{route="chat"} 1');
    expect(open.text).toMatch(new RegExp(`demo_duration_seconds_bucket\\{le="0.1",route="chat"\\} 1 # \\{trace_id="${traceId}"\\} 0.05 \\d`));
    expect(open.text.endsWith('# EOF\n')).toBe(true);
    const prom = await renderMetrics([registry], 'text/plain');
    expect(prom.contentType).toBe(prometheusContentType);
    expect(prom.text).toContain('# TYPE demo_requests_total counter');
    expect(prom.text).toContain('demo_requests_total{route="chat"} 1');
    expect(prom.text).not.toContain('trace_id');
    expect(prom.text).toContain('demo_duration_seconds_count 1');
    expect(prom.text).toContain('demo_duration_seconds_count{route="chat"} 2');
  });

  it('metrics text - refuses two registries with different metrics of one name', () => {
    expect(() => assertDistinctNames([registryWithOne().registry, registryWithOne().registry])).toThrow(/demo_requests_total/);
  });

  it('gateway metrics - serves included registries with its own, through registry.metrics() and render()', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.include(registryWithOne().registry);
    metrics.duration.observe({ gen_ai_operation_name: 'chat', gen_ai_request_model: 'demo/m', status: '200' }, 0.2);
    const text = await metrics.registry.metrics();
    expect(text).toContain('demo_requests_total{route="chat"} 1');
    expect(text).toContain('gen_ai_server_request_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_request_model="demo/m",status="200"} 1');
    const open = await metrics.render('application/openmetrics-text');
    expect(open.text).toContain(`# {trace_id="${traceId}"}`);
    expect(() => metrics.include(new GatewayMetrics({ defaultMetrics: false }).registry)).toThrow(/already|two registries/);
  });
});
