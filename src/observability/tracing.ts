/**
 * OpenTelemetry tracing for one process, configured by the standard `OTEL_*` variables only
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL` `http/protobuf` | `http/json` | `grpc`,
 * `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, `OTEL_SDK_DISABLED`, ...),
 * which `@opentelemetry/sdk-node` reads itself. With none of them set, tracing is off: the SDK is
 * never loaded and every span helper (spans.ts) returns after one boolean test.
 */
import { type Context, type ContextManager, ROOT_CONTEXT } from '@opentelemetry/api';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import { otlpProtobufSpanExporter, usesOtlpProtobuf } from './otlp-protobuf-exporter.js';
import { resourceDetectors } from './resource-detectors.js';

/** Whether the environment asks for traces: an OTLP endpoint or a trace exporter, and the SDK not disabled. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || exporter);
}

/** A context manager that keeps no context: `with` just calls. */
const noAsyncContext: ContextManager = {
  active: (): Context => ROOT_CONTEXT,
  with: (_context, fn, thisArg, ...args) => fn.call(thisArg, ...args),
  bind: (_context, target) => target,
  enable() {
    return this;
  },
  disable() {
    return this;
  },
};

let sdk: NodeSDK | undefined;
let on = false;

/** True once startTracing ran with tracing configured: span helpers test this first. */
export function tracingOn(): boolean {
  return on;
}

/**
 * Starts tracing once per process when the environment asks for it; `role` names the service when
 * `OTEL_SERVICE_NAME` does not (`llmux-gateway`, `llmux-worker`, ...). Metrics and logs stay with
 * prom-client and pino unless their own `OTEL_*_EXPORTER` variable is set.
 */
export async function startTracing(role: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (on || !tracingConfigured(env)) return on;
  const { NodeSDK, resources } = await import('@opentelemetry/sdk-node');
  sdk = new NodeSDK({
    resourceDetectors: resourceDetectors(resources, env),
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: `llmux-${role}` }),
    ...(env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
    ...(env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
    instrumentations: [],
    // Every span names its parent explicitly (spans.ts), so no async context is needed; the default
    // AsyncLocalStorage context manager would put a hook on every promise in the process.
    contextManager: noAsyncContext,
    // http/protobuf (OTLP's default) goes through llmux's encoder, behind the SDK's batch processor
    // (OTEL_BSP_*) and HTTP delegate; other protocols and exporters are the SDK's own.
    ...(usesOtlpProtobuf(env) ? { traceExporter: otlpProtobufSpanExporter() } : {}),
  });
  sdk.start();
  on = true;
  return true;
}

/** Exports what is buffered and stops; a no-op when tracing is off. */
export async function stopTracing(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  on = false;
  await running?.shutdown().catch(() => undefined);
}
