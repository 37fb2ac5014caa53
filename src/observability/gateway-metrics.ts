/**
 * The gateway's Prometheus metrics, named after the OpenTelemetry GenAI conventions where they
 * exist (dots become underscores in Prometheus), plus llmux's own.
 *
 * `llmux up` runs every role in one process and scrapes them through the gateway: `include` adds
 * the router's, workers' and limiter's registries to what `registry.metrics()` returns.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, type LabelValues, Registry, collectDefaultMetrics } from 'prom-client';
import { exemplarHistogram, observeTraced } from './exemplars.js';
import { assertDistinctNames, type MetricsText, renderMetrics } from './metrics-text.js';

type DurationLabels = LabelValues<'gen_ai_operation_name' | 'gen_ai_request_model' | 'status'>;
type FirstTokenLabels = LabelValues<'gen_ai_operation_name' | 'gen_ai_request_model'>;

export class GatewayMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'llmux_gateway_requests_total',
    help: 'HTTP requests answered by the gateway, by route and status code.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });

  /** Keeps exemplars (observeDuration); `observe(labels, value)` still works. */
  readonly duration = exemplarHistogram({
    name: 'gen_ai_server_request_duration_seconds',
    help: 'Time from request arrival to the last byte of the answer.',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  /** Keeps exemplars (observeTimeToFirstToken); `observe(labels, value)` still works. */
  readonly timeToFirstToken = exemplarHistogram({
    name: 'gen_ai_server_time_to_first_token_seconds',
    help: 'Time from request arrival to the first output token sent to the client.',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: 'gen_ai_client_token_usage_total',
    help: 'Tokens used, by type (input = prompt, output = completion).',
    labelNames: ['gen_ai_token_type', 'gen_ai_request_model'] as const,
    registers: [this.registry],
  });

  readonly tokenCountDifference = new Histogram({
    name: 'llmux_token_count_difference',
    help: "The engine's reported token count minus llmux's own count, per request, by type (input = prompt, output = completion); only where the engine reported one.",
    labelNames: ['gen_ai_token_type', 'gen_ai_request_model'] as const,
    buckets: [-100, -20, -5, -2, -1, 0, 1, 2, 5, 20, 100],
    registers: [this.registry],
  });

  readonly promptCounting = new Histogram({
    name: 'llmux_gateway_prompt_count_seconds',
    help: 'Time to count a request\'s prompt tokens before admission.',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [this.registry],
  });

  readonly cancellations = new Counter({
    name: 'llmux_gateway_client_disconnects_total',
    help: 'Requests whose client went away before the answer was complete (a cancel was sent to the worker).',
    registers: [this.registry],
  });

  readonly migrations = new Counter({
    name: 'llmux_gateway_stream_migrations_total',
    help: 'Streams carried on by another worker after their worker or engine failed mid-answer, by the failure.',
    labelNames: ['gen_ai_request_model', 'error_code'] as const,
    registers: [this.registry],
  });

  readonly workerLosses = new Counter({
    name: 'llmux_gateway_worker_silent_total',
    help: 'Requests whose worker sent no frame, not even a keepalive, within the liveness timeout (it died, froze or lost NATS).',
    registers: [this.registry],
  });

  readonly slowClients = new Counter({
    name: 'llmux_gateway_slow_client_cancels_total',
    help: 'Streams cancelled because their client stopped reading (stalled past --client-stall-ms, or too many bytes unread).',
    registers: [this.registry],
  });

  readonly clientBuffered = new Gauge({
    name: 'llmux_gateway_client_buffered_bytes',
    help: 'Bytes written for streaming clients and not yet taken by their sockets, all sessions together (sampled every sweep).',
    registers: [this.registry],
  });

  readonly ledgerSetAside = new Counter({
    name: 'llmux_gateway_usage_records_set_aside_total',
    help: 'Usage records that can never be stored (a subject or size nats-server refuses, or endless failures while others land): kept out of the outbox and logged.',
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'llmux_gateway_rate_limited_total',
    help: 'Requests refused with 429, by the kind of limit hit (requests, tokens, prompt, completion) and its scope (key, tenant, model, header).',
    labelNames: ['limit', 'scope'] as const,
    registers: [this.registry],
  });

  readonly limiterUnavailable = new Counter({
    name: 'llmux_gateway_limiter_unavailable_total',
    help: 'Reservations the limiter did not answer in time, by what the gateway did (admitted: fail-open; refused: fail-closed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly admission = new Histogram({
    name: 'llmux_gateway_admission_seconds',
    help: 'Time to reserve a request\'s tokens with the limiter (only requests some limit applies to).',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1],
    registers: [this.registry],
  });

  readonly #included: Registry[] = [];
  /** Metrics from other threads of the process (prom-client JSON), merged at each scrape. */
  readonly #remote: Array<() => Promise<unknown[]>> = [];

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'llmux_gateway_' });
    const own = this.registry;
    // What the gateway's GET /metrics serves: its own metrics and every included registry's.
    own.metrics = async () => (await renderMetrics([own, ...this.#included, ...await this.#remoteRegistries()])).text;
  }

  /** Serves `registry`'s metrics with the gateway's (the other roles of an `llmux up` process); a name both have throws. */
  include(registry: Registry): void {
    assertDistinctNames([this.registry, ...this.#included, registry]);
    this.#included.push(registry);
  }

  /**
   * Serves metrics another thread of the process holds (`source` gives its registries' JSON, e.g.
   * a worker thread's, thread-host.ts): sources are merged per scrape (counters and gauges summed
   * by labels, histograms bucket by bucket), without exemplars.
   */
  includeRemote(source: () => Promise<unknown[]>): void {
    this.#remote.push(source);
  }

  async #remoteRegistries(): Promise<Registry[]> {
    if (this.#remote.length === 0) return [];
    const parts = await Promise.all(this.#remote.map((source) => source()));
    return [AggregatorRegistry.aggregate(parts as Parameters<typeof AggregatorRegistry.aggregate>[0])];
  }

  /** Every metric, in the format `accept` asks for: OpenMetrics (with exemplars) or Prometheus text. */
  async render(accept: string | undefined): Promise<MetricsText> {
    return renderMetrics([this.registry, ...this.#included, ...await this.#remoteRegistries()], accept);
  }

  /** A request's duration, with its trace id as the exemplar when tracing is on. */
  observeDuration(labels: DurationLabels, seconds: number, traceparent: string | undefined): void {
    observeTraced(this.duration, labels, seconds, traceparent);
  }

  /** A request's time to first token, with its trace id as the exemplar when tracing is on. */
  observeTimeToFirstToken(labels: FirstTokenLabels, seconds: number, traceparent: string | undefined): void {
    observeTraced(this.timeToFirstToken, labels, seconds, traceparent);
  }
}
