/**
 * Finished spans as an OTLP `ExportTraceServiceRequest` in protobuf, byte for byte what the SDK's
 * `ProtobufTraceSerializer` writes (props/otlp-encoder.test.ts checks it on random spans), in one
 * pass instead of its two (a size estimate, then the write). Measured in `llmux up` under load, the
 * SDK's serializer took 10–20 µs a span, the largest part of what tracing cost (docs/benchmarks.md, "Tracing at 100 % sampling").
 *
 * Field numbers: opentelemetry/proto trace/v1/trace.proto, common/v1/common.proto,
 * resource/v1/resource.proto.
 */
import type { Attributes, AttributeValue, HrTime, SpanContext } from '@opentelemetry/api';
import type { tracing } from '@opentelemetry/sdk-node';
import { ProtobufWriter, Wire } from './protobuf-writer.js';

type ReadableSpan = tracing.ReadableSpan;
type Resource = ReadableSpan['resource'];
type Scope = ReadableSpan['instrumentationScope'];

/** Span flags: the W3C trace flags, and whether the parent was remote (trace.proto SpanFlags). */
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;
const flagsOf = (traceFlags: number, isRemote: boolean | undefined): number => (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);

const INT64_MIN = -(2 ** 63);
const INT64_MAX = 2 ** 63;

/** An AnyValue's body (common.proto): what the SDK's attribute sanitizer lets through, and nested lists and maps. */
function anyValue(w: ProtobufWriter, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.tag(1, Wire.bytes);
      return w.string(value);
    case 'boolean':
      w.tag(2, Wire.varint);
      return w.uint32(value ? 1 : 0);
    case 'number':
      if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_MAX) {
        w.tag(3, Wire.varint);
        return w.int64(value);
      }
      w.tag(4, Wire.fixed64);
      return w.double(value);
    case 'object':
      if (value === null) return;
      if (value instanceof Uint8Array) {
        w.tag(7, Wire.bytes);
        return w.bytes(value);
      }
      if (Array.isArray(value)) {
        w.tag(5, Wire.bytes);
        const list = w.begin();
        for (const item of value as unknown[]) {
          w.tag(1, Wire.bytes);
          const at = w.begin();
          anyValue(w, item);
          w.end(at);
        }
        return w.end(list);
      }
      w.tag(6, Wire.bytes);
      {
        const map = w.begin();
        keyValues(w, value as Record<string, unknown>, 1);
        w.end(map);
      }
      return;
    default:
      // undefined, functions, symbols, bigints: an empty AnyValue, as the SDK writes them.
      return;
  }
}

/** Each own property of `attributes` as a KeyValue in repeated field `field`. */
function keyValues(w: ProtobufWriter, attributes: Record<string, unknown> | Attributes, field: number): void {
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    w.tag(field, Wire.bytes);
    const kv = w.begin();
    w.tag(1, Wire.bytes);
    w.string(key);
    w.tag(2, Wire.bytes);
    const value = w.begin();
    anyValue(w, (attributes as Record<string, AttributeValue | unknown>)[key]);
    w.end(value);
    w.end(kv);
  }
}

function time(w: ProtobufWriter, field: number, t: HrTime): void {
  w.tag(field, Wire.fixed64);
  w.hrTime(t);
}

function spanIds(w: ProtobufWriter, context: SpanContext): void {
  w.tag(1, Wire.bytes);
  w.hex(context.traceId);
  w.tag(2, Wire.bytes);
  w.hex(context.spanId);
  const traceState = context.traceState?.serialize();
  if (traceState) {
    w.tag(3, Wire.bytes);
    w.string(traceState);
  }
}

function span(w: ProtobufWriter, s: ReadableSpan): void {
  const context = s.spanContext();
  spanIds(w, context);
  const parent = s.parentSpanContext;
  if (parent?.spanId) {
    w.tag(4, Wire.bytes);
    w.hex(parent.spanId);
  }
  w.tag(5, Wire.bytes);
  w.string(s.name);
  // The API's kinds start at INTERNAL = 0; the proto's at UNSPECIFIED = 0.
  if (s.kind != null) {
    w.tag(6, Wire.varint);
    w.uint32(s.kind + 1);
  }
  time(w, 7, s.startTime);
  time(w, 8, s.endTime);
  if (s.attributes) keyValues(w, s.attributes, 9);
  w.tag(10, Wire.varint);
  w.uint32(s.droppedAttributesCount);
  for (const event of s.events) {
    w.tag(11, Wire.bytes);
    const at = w.begin();
    time(w, 1, event.time);
    w.tag(2, Wire.bytes);
    w.string(event.name);
    if (event.attributes) keyValues(w, event.attributes, 3);
    w.tag(4, Wire.varint);
    w.uint32(event.droppedAttributesCount || 0);
    w.end(at);
  }
  w.tag(12, Wire.varint);
  w.uint32(s.droppedEventsCount);
  for (const link of s.links) {
    w.tag(13, Wire.bytes);
    const at = w.begin();
    spanIds(w, link.context);
    if (link.attributes) keyValues(w, link.attributes, 4);
    w.tag(5, Wire.varint);
    w.uint32(link.droppedAttributesCount || 0);
    w.tag(6, Wire.fixed32);
    w.fixed32(flagsOf(link.context.traceFlags, link.context.isRemote));
    w.end(at);
  }
  w.tag(14, Wire.varint);
  w.uint32(s.droppedLinksCount);
  w.tag(15, Wire.bytes);
  const status = w.begin();
  if (s.status.message) {
    w.tag(2, Wire.bytes);
    w.string(s.status.message);
  }
  w.tag(3, Wire.varint);
  w.uint32(s.status.code);
  w.end(status);
  w.tag(16, Wire.fixed32);
  w.fixed32(flagsOf(context.traceFlags, parent?.isRemote));
}

function scopeSpans(w: ProtobufWriter, scope: Scope, spans: readonly ReadableSpan[]): void {
  w.tag(1, Wire.bytes);
  const at = w.begin();
  w.tag(1, Wire.bytes);
  w.string(scope.name);
  if (scope.version) {
    w.tag(2, Wire.bytes);
    w.string(scope.version);
  }
  const { attributes, droppedAttributesCount } = scope as Scope & { attributes?: Attributes; droppedAttributesCount?: number };
  if (attributes) keyValues(w, attributes, 3);
  if (droppedAttributesCount) {
    w.tag(4, Wire.varint);
    w.uint32(droppedAttributesCount);
  }
  w.end(at);
  for (const s of spans) {
    w.tag(2, Wire.bytes);
    const one = w.begin();
    span(w, s);
    w.end(one);
  }
  if (scope.schemaUrl) {
    w.tag(3, Wire.bytes);
    w.string(scope.schemaUrl);
  }
}

function resourceSpans(w: ProtobufWriter, resource: Resource, scopes: Map<Scope, ReadableSpan[]>): void {
  w.tag(1, Wire.bytes);
  const at = w.begin();
  keyValues(w, resource.attributes, 1);
  w.tag(2, Wire.varint);
  w.uint32(0);
  w.end(at);
  for (const [scope, spans] of scopes) {
    w.tag(2, Wire.bytes);
    const one = w.begin();
    scopeSpans(w, scope, spans);
    w.end(one);
  }
  if (resource.schemaUrl) {
    w.tag(3, Wire.bytes);
    w.string(resource.schemaUrl);
  }
}

/** Bytes a span took in the last request encoded: the next request's first guess at its size. */
let bytesPerSpan = 512;

/** `spans` as one ExportTraceServiceRequest, grouped by resource and then scope, in the order first seen. */
export function encodeTraceRequest(spans: readonly ReadableSpan[]): Uint8Array {
  const byResource = new Map<Resource, Map<Scope, ReadableSpan[]>>();
  for (const s of spans) {
    let scopes = byResource.get(s.resource);
    if (!scopes) byResource.set(s.resource, (scopes = new Map()));
    const same = scopes.get(s.instrumentationScope);
    if (same) same.push(s);
    else scopes.set(s.instrumentationScope, [s]);
  }
  const w = new ProtobufWriter(Math.ceil(spans.length * bytesPerSpan * 1.25) + 1024);
  for (const [resource, scopes] of byResource) {
    w.tag(1, Wire.bytes);
    const at = w.begin();
    resourceSpans(w, resource, scopes);
    w.end(at);
  }
  if (spans.length > 0) bytesPerSpan = Math.max(64, Math.ceil(w.pos / spans.length));
  return w.finish();
}
