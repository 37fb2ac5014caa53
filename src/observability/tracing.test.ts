import { describe, expect, it } from 'vitest';
import { contextOf, parentContext } from './spans.js';
import { createContextKey, trace } from '@opentelemetry/api';
import { tracingConfigured, tracingOn } from './tracing.js';

describe('tracing configuration', () => {
  it('tracing - is off when no OTEL_* variable asks for traces', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' })).toBe(false);
    expect(tracingOn()).toBe(false);
  });

  it('tracing - is on with an OTLP endpoint or a trace exporter', () => {
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(tracingConfigured({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
  });

  it('tracing - OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none win', () => {
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'TRUE' })).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  });

  it('spans - reads a W3C traceparent as a remote parent, and ignores a malformed or all-zero one', () => {
    const parent = trace.getSpanContext(contextOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'));
    expect(parent).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true });
    for (const bad of [undefined, '', '00-0-0-00', `00-${'0'.repeat(32)}-b7ad6b7169203331-01`, '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']) {
      expect(trace.getSpanContext(contextOf(bad))).toBeUndefined();
    }
    expect(trace.getSpanContext(contextOf(`00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`))).toBeUndefined();
  });

  it('spans - a parent context holds its span as the API\'s own contexts do, and becomes one when a value is set', () => {
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
    const context = parentContext(span);
    expect(trace.getSpan(context)).toBe(span);
    const key = createContextKey('llmux test key');
    expect(context.getValue(key)).toBeUndefined();
    const more = context.setValue(key, 42);
    expect(trace.getSpan(more)).toBe(span);
    expect(more.getValue(key)).toBe(42);
    expect(trace.getSpan(context.deleteValue(key))).toBe(span);
    expect(trace.getSpan(trace.deleteSpan(context))).toBeUndefined();
    const other = trace.wrapSpanContext({ traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceFlags: 0 });
    expect(trace.getSpan(trace.setSpan(context, other))).toBe(other);
  });
});
