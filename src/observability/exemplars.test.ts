import { afterAll, describe, expect, it } from 'vitest';
import { traceExemplar, traceIdExemplar } from './exemplars.js';
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
});
