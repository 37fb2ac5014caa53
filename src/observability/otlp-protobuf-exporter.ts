/**
 * The OTLP/HTTP protobuf span exporter, built as the SDK builds its own (`OTLPTraceExporter` of
 * `@opentelemetry/exporter-trace-otlp-proto`): the SDK's HTTP delegate, so every
 * `OTEL_EXPORTER_OTLP_*` setting (endpoint, headers, timeout, compression, retries) means what it
 * means there, with llmux's one-pass encoder (otlp-trace-encoder.ts) in place of the SDK's serializer.
 */
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { ProtobufTraceSerializer, TraceExporterMetricsHelper } from '@opentelemetry/otlp-transformer';
import type { tracing } from '@opentelemetry/sdk-node';
import { encodeTraceRequest } from './otlp-trace-encoder.js';

type ReadableSpan = tracing.ReadableSpan;

/** The protocol the SDK would export traces with, read as it reads it. */
function tracesProtocol(env: NodeJS.ProcessEnv = process.env): string {
  return env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() || env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/protobuf';
}

/**
 * Whether the environment asks for exactly what this exporter does: the OTLP exporter alone
 * (`OTEL_TRACES_EXPORTER` unset or `otlp`) over http/protobuf. Anything else (http/json, grpc,
 * zipkin, console, several exporters) is left to the SDK.
 */
export function usesOtlpProtobuf(env: NodeJS.ProcessEnv = process.env): boolean {
  const exporters = [...new Set((env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim()).filter((e) => e && e !== 'null'))];
  return (exporters.length === 0 || (exporters.length === 1 && exporters[0] === 'otlp')) && tracesProtocol(env) === 'http/protobuf';
}

export function otlpProtobufSpanExporter(): OTLPExporterBase<ReadableSpan[]> {
  const serializer = { serializeRequest: encodeTraceRequest, deserializeResponse: (data: Uint8Array) => ProtobufTraceSerializer.deserializeResponse(data) };
  const options = convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' });
  return new OTLPExporterBase(createOtlpHttpExportDelegate(options, serializer, 'otlp_http_span_exporter', TraceExporterMetricsHelper, undefined));
}
