import { afterAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { exemplarDue, exemplarHistogram, exemplarRefreshMs, observeTraced, traceExemplar, traceIdExemplar } from './exemplars.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { startTracing, stopTracing } from './tracing.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
const labels = { gen_ai_operation_name: 'chat', gen_ai_request_model: 'demo/m', status: '200' };

afterAll(() => stopTracing());

describe('exemplars', () => {
  it('exemplars - none while tracing is off: a trace id nobody exported would link nowhere', async () => {
    expect(traceExemplar(traceparent)).toBeUndefined();
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.observeDuration(labels, 0.3, traceparent);
    const { text } = await metrics.render('application/openmetrics-text');
    expect(text).toContain('gen_ai_server_request_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_request_model="demo/m",status="200"} 1');
    expect(text).not.toContain('trace_id');
  });

  it('exemplars - with tracing on, the gateway\'s duration and first-token histograms keep the request\'s trace id', async () => {
    expect(await startTracing('test', { OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(traceExemplar(traceparent)).toEqual({ trace_id: traceId });
    expect(traceExemplar('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(traceExemplar('garbage')).toBeUndefined();
    expect(traceIdExemplar(traceId)).toEqual({ trace_id: traceId });
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.observeDuration(labels, 0.3, traceparent);
    metrics.observeTimeToFirstToken({ gen_ai_operation_name: 'chat', gen_ai_request_model: 'demo/m' }, 0.02, traceparent);
    const open = (await metrics.render('application/openmetrics-text')).text;
    expect(open).toMatch(new RegExp(`^gen_ai_server_request_duration_seconds_bucket\\{le="0.5",[^}]*\\} 1 # \\{trace_id="${traceId}"\\} 0.3 `, 'm'));
    expect(open).toMatch(new RegExp(`^gen_ai_server_time_to_first_token_seconds_bucket\\{le="0.025",[^}]*\\} 1 # \\{trace_id="${traceId}"\\} 0.02 `, 'm'));
    expect((await metrics.render(undefined)).text).not.toContain('trace_id');
  });

  it('exemplars - a bucket of a series takes a new exemplar at most once a refresh period; other buckets and series have their own', async () => {
    const registry = new Registry();
    const histogram = exemplarHistogram({ name: 'demo_exemplar_seconds', help: 'demo', labelNames: ['model'], buckets: [0.1, 1], registers: [registry] });
    const t = 1_000_000;
    expect(exemplarDue(histogram, { model: 'a' }, 0.05, t)).toBe(true);
    expect(exemplarDue(histogram, { model: 'a' }, 0.07, t + exemplarRefreshMs - 1)).toBe(false);
    // Another bucket (and +Inf), another series: each due its own.
    expect(exemplarDue(histogram, { model: 'a' }, 0.5, t + 1)).toBe(true);
    expect(exemplarDue(histogram, { model: 'a' }, 5, t + 1)).toBe(true);
    expect(exemplarDue(histogram, { model: 'b' }, 0.05, t + 1)).toBe(true);
    expect(exemplarDue(histogram, { model: 'a' }, 0.05, t + exemplarRefreshMs)).toBe(true);

    // Through observeTraced: the second request in the same bucket within the period is counted, its trace id not kept.
    const other = 'a'.repeat(32);
    observeTraced(histogram, { model: 'c' }, 0.05, traceparent);
    observeTraced(histogram, { model: 'c' }, 0.06, `00-${other}-00f067aa0ba902b7-01`);
    // A bare trace id, read by traceIdExemplar; and a malformed traceparent: counted, no exemplar.
    observeTraced(histogram, { model: 'd' }, 0.5, other, traceIdExemplar);
    observeTraced(histogram, { model: 'e' }, 0.5, 'garbage');
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    const open = await registry.metrics();
    expect(open).toMatch(new RegExp(`^demo_exemplar_seconds_bucket\\{le="0.1",model="c"\\} 2 # \\{trace_id="${traceId}"\\} 0.05 `, 'm'));
    expect(open).toMatch(new RegExp(`^demo_exemplar_seconds_bucket\\{le="1",model="d"\\} 1 # \\{trace_id="${other}"\\} 0.5 `, 'm'));
    expect(open).toMatch(/^demo_exemplar_seconds_bucket\{le="1",model="e"\} 1$/m);
    expect(open.split('\n').filter((line) => line.includes(other))).toHaveLength(1);
  });
});
