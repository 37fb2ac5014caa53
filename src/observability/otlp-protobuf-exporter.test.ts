import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { tracing } from '@opentelemetry/sdk-node';
import { afterEach, describe, expect, it } from 'vitest';
import { otlpProtobufSpanExporter, usesOtlpProtobuf } from './otlp-protobuf-exporter.js';

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_') && !(k in saved)) delete process.env[k];
});

describe('otlp protobuf exporter', () => {
  it('otlp protobuf exporter - taken for the OTLP exporter over http/protobuf only, as the SDK reads the protocol', () => {
    expect(usesOtlpProtobuf({})).toBe(true);
    expect(usesOtlpProtobuf({ OTEL_TRACES_EXPORTER: ' otlp ', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })).toBe(true);
    expect(usesOtlpProtobuf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBe(false);
    expect(usesOtlpProtobuf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toBe(false);
    // The traces-specific variable wins over the general one, both ways.
    expect(usesOtlpProtobuf({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' })).toBe(true);
    expect(usesOtlpProtobuf({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toBe(false);
    expect(usesOtlpProtobuf({ OTEL_TRACES_EXPORTER: 'otlp,console' })).toBe(false);
    expect(usesOtlpProtobuf({ OTEL_TRACES_EXPORTER: 'zipkin' })).toBe(false);
  });

  it('otlp protobuf exporter - posts the spans to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces with the configured headers, as the SDK\'s bytes', async () => {
    const received: Array<{ url?: string; headers: IncomingHttpHeaders; body: Buffer }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-tenant=blue';
      const exporter = otlpProtobufSpanExporter();
      const spans: tracing.ReadableSpan[] = [];
      const provider = new tracing.BasicTracerProvider({ spanProcessors: [{ onStart: () => undefined, onEnd: (s) => void spans.push(s), forceFlush: async () => undefined, shutdown: async () => undefined }] });
      const tracer = provider.getTracer('llmux');
      for (let i = 0; i < 3; i++) tracer.startSpan(`chat demo/m ${i}`, { kind: SpanKind.SERVER, attributes: { 'gen_ai.request.model': 'demo/m' } }).end();
      const result = await new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(spans, resolve));
      expect(result.error).toBeUndefined();
      expect(result.code).toBe(0);
      expect(received).toHaveLength(1);
      const [one] = received;
      expect(one?.url).toBe('/v1/traces');
      expect(one?.headers['content-type']).toBe('application/x-protobuf');
      expect(one?.headers['x-tenant']).toBe('blue');
      expect(one?.body.equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array))).toBe(true);
      await exporter.shutdown();
    } finally {
      server.close();
    }
  });
});
