// llmux's OTLP protobuf encoder (otlp-trace-encoder.ts) against the SDK's serializer, which it
// stands in for: for any spans the SDK can finish (any names and attribute values, ASCII or not, long
// enough for lengths of two and three bytes, lone surrogates; events, links, statuses, remote and local parents; spans
// from several tracers and two providers), the bytes are the same.
import { type Attributes, type Link, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resources, tracing } from '@opentelemetry/sdk-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeTraceRequest } from '../src/observability/otlp-trace-encoder.js';

type ReadableSpan = tracing.ReadableSpan;

/** Two providers (two resources), each keeping what it finishes. */
const finished: ReadableSpan[] = [];
const keep: tracing.SpanProcessor = { onStart: () => undefined, onEnd: (s) => void finished.push(s), forceFlush: async () => undefined, shutdown: async () => undefined };
const providers = [
  new tracing.BasicTracerProvider({ spanProcessors: [keep], resource: resources.resourceFromAttributes({ 'service.name': 'llmux-gateway', 'host.name': 'h1' }) }),
  new tracing.BasicTracerProvider({ spanProcessors: [keep], resource: resources.resourceFromAttributes({ 'service.name': 'llmux-wörker', pid: 4242, ratio: 0.5 }) }),
];
const tracers = providers.flatMap((p) => [p.getTracer('llmux'), p.getTracer('llmux', '0.1.0'), p.getTracer('other', '2', { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' })]);

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ minLength: 120, maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 50 }),
  // Lone surrogates: both encoders must write U+FFFD for them.
  fc.constantFrom('\ud800', 'a\udc00b', `${'x'.repeat(130)}\udbff`));
const scalar = fc.oneof(text, fc.boolean(), fc.integer(), fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), fc.constantFrom(2 ** 62, -(2 ** 62), 2 ** 32, -1, 0),
  fc.double({ noNaN: false }));
const value = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(text, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(fc.integer(), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(fc.double(), { maxLength: 3 }) }, { weight: 1, arbitrary: fc.array(fc.boolean(), { maxLength: 3 }) });
const attributes: fc.Arbitrary<Attributes> = fc.dictionary(fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom('gen_ai.request.model', 'llmux.attempt', 'é')), value, { maxKeys: 12 });
const hex = (n: number) => fc.array(fc.constantFrom(...'0123456789abcdef'), { minLength: n, maxLength: n }).map((cs) => cs.join(''));
const context = fc.record({ traceId: hex(32), spanId: hex(16), traceFlags: fc.constantFrom(TraceFlags.NONE, TraceFlags.SAMPLED), isRemote: fc.boolean() })
  .filter((c) => !/^0+$/.test(c.traceId) && !/^0+$/.test(c.spanId));

const spanArb = fc.record({
  tracer: fc.nat(tracers.length - 1),
  name: text,
  kind: fc.constantFrom(SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER),
  parent: fc.option(context, { nil: undefined }),
  start: attributes,
  later: attributes,
  events: fc.array(fc.record({ name: text, attributes: fc.option(attributes, { nil: undefined }) }), { maxLength: 3 }),
  links: fc.array(fc.record({ context, attributes: fc.option(attributes, { nil: undefined }) }), { maxLength: 2 }),
  status: fc.oneof(fc.constant(undefined), fc.record({ code: fc.constantFrom(SpanStatusCode.UNSET, SpanStatusCode.OK, SpanStatusCode.ERROR), message: fc.option(text, { nil: undefined }) })),
  // A span of some kilobytes: its length takes three bytes.
  big: fc.boolean(),
});

type SpanSpec = typeof spanArb extends fc.Arbitrary<infer T> ? T : never;

function finish(specs: SpanSpec[]): ReadableSpan[] {
  finished.length = 0;
  for (const s of specs) {
    const parent = s.parent ? trace.setSpanContext(ROOT_CONTEXT, s.parent) : ROOT_CONTEXT;
    const span = tracers[s.tracer]!.startSpan(s.name, { kind: s.kind, attributes: s.start, links: s.links as Link[] }, parent);
    span.setAttributes(s.later);
    if (s.big) span.setAttribute('big', 'x'.repeat(20_000));
    for (const e of s.events) span.addEvent(e.name, e.attributes);
    if (s.status) span.setStatus(s.status.message === undefined ? { code: s.status.code } : { code: s.status.code, message: s.status.message });
    span.end();
  }
  return [...finished];
}

describe('otlp encoder', () => {
  it('otlp encoder - writes the same ExportTraceServiceRequest bytes as the SDK\'s protobuf serializer, for any finished spans', () => {
    fc.assert(fc.property(fc.array(spanArb, { minLength: 1, maxLength: 12 }), (specs) => {
      const spans = finish(specs);
      const ours = Buffer.from(encodeTraceRequest(spans));
      const sdk = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array);
      expect(ours.length).toBe(sdk.length);
      expect(ours.equals(sdk)).toBe(true);
    }), { numRuns: 300 });
  });

  it('otlp encoder - a batch of thousands of spans, past the first size guess, is still the same bytes', () => {
    const spans = finish(Array.from({ length: 3000 }, (_, i) => ({ tracer: i % tracers.length, name: `span ${i}`, kind: SpanKind.SERVER, parent: undefined,
      start: { 'gen_ai.request.model': 'demo/m', i }, later: { 'llmux.outcome': 'ok', text: 'ü'.repeat(i % 200) }, events: [], links: [], status: undefined, big: i % 500 === 0 })));
    expect(Buffer.from(encodeTraceRequest(spans)).equals(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array))).toBe(true);
  });
});
