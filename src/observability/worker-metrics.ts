/**
 * The worker's Prometheus metrics: its calls to the engine (GenAI `gen_ai.client.operation.duration`:
 * the worker is the engine's client; `gen_ai.server.time_per_output_token` for the tokens it
 * serves), requests in flight, health checks, metrics scrapes that failed, and engine requests it
 * aborted (`orphaned`: the gateway's lease lapsed). One WorkerMetrics serves every worker of a
 * process (`llmux up`): each worker gets hooks bound to its `worker_id` (forWorker).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { exemplarHistogram, observeTraced } from './exemplars.js';

/** One engine call as it goes: created when it starts, ended once. */
export interface EngineCallMeter {
  /** A chunk of output arrived (the first one times the first token). */
  chunk(): void;
  /** The completion tokens of a successful call. */
  generated(tokens: number): void;
  /** `abortReason`: why the worker aborted it, when it did (cancel, orphaned, shutdown, stalled). */
  end(outcome: 'ok' | 'failed' | 'cancelled', abortReason?: string): void;
}

/** The hooks the worker actor calls (WorkerOptions.metrics). */
export interface WorkerMetricsHooks {
  /** `traceparent`: what the engine receives (the engine span's, with tracing on). */
  engineCall(call: { operation: string; model: string; provider: string; traceparent: string | undefined }): EngineCallMeter;
  healthCheck(ok: boolean): void;
  /** A scrape of the engine's metrics endpoint got no load signals (only for engines that have one). */
  scrapeFailed(): void;
}

const now = (): number => performance.now();

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #inFlight = new Map<string, () => number>();

  readonly engineDuration: Histogram<'gen_ai_operation_name' | 'gen_ai_request_model' | 'gen_ai_provider_name' | 'outcome'> = exemplarHistogram({
    name: 'gen_ai_client_operation_duration_seconds',
    help: "Duration of the worker's calls to its engine, from the request to the last byte (GenAI client operation duration), by operation, model, engine kind and outcome (ok, failed, cancelled).",
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_provider_name', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    registers: [this.registry],
  });

  readonly timePerOutputToken = new Histogram({
    name: 'gen_ai_server_time_per_output_token_seconds',
    help: 'Time per output token after the first, per successful generation (GenAI server time per output token), by operation and model.',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
    registers: [this.registry],
  });

  readonly firstToken = new Histogram({
    name: 'llmux_worker_engine_first_token_seconds',
    help: "Time from the worker's engine request to the first output it streamed back (the engine's queueing and prefill), by operation and model.",
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly inFlight = new Gauge({
    name: 'llmux_worker_in_flight',
    help: 'Requests the worker holds (accepted and not yet finished).',
    labelNames: ['worker_id'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [worker_id, read] of this.#inFlight) this.inFlight.set({ worker_id }, read());
    },
  });

  readonly healthChecks = new Counter({
    name: 'llmux_worker_health_checks_total',
    help: "The worker's checks of its engine's health endpoint (one per heartbeat), by result (ok, failed); two failures in a row make the worker unhealthy.",
    labelNames: ['worker_id', 'result'] as const,
    registers: [this.registry],
  });

  readonly scrapeErrors = new Counter({
    name: 'llmux_worker_engine_scrape_errors_total',
    help: "Scrapes of the engine's metrics endpoint (one per heartbeat) that gave no load signals: no answer, an error status, or nothing readable.",
    labelNames: ['worker_id'] as const,
    registers: [this.registry],
  });

  readonly aborts = new Counter({
    name: 'llmux_worker_engine_aborts_total',
    help: "Engine requests the worker aborted, by reason: cancel (the client left), orphaned (the gateway is gone: its lease lapsed, or a frame to it could not be sent), stalled (the engine went silent mid-answer), shutdown (the worker stopped).",
    labelNames: ['worker_id', 'reason'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'llmux_worker_' });
  }

  /** Reads `inFlight` at every scrape, as `worker_id`, until the returned function is called. */
  watch(workerId: string, inFlight: () => number): () => void {
    this.#inFlight.set(workerId, inFlight);
    return () => {
      this.#inFlight.delete(workerId);
      this.inFlight.remove({ worker_id: workerId });
    };
  }

  /** The hooks of one worker. */
  forWorker(workerId: string): WorkerMetricsHooks {
    return {
      engineCall: (call) => this.#meter(workerId, call),
      healthCheck: (ok) => this.healthChecks.inc({ worker_id: workerId, result: ok ? 'ok' : 'failed' }),
      scrapeFailed: () => this.scrapeErrors.inc({ worker_id: workerId }),
    };
  }

  #meter(workerId: string, call: Parameters<WorkerMetricsHooks['engineCall']>[0]): EngineCallMeter {
    const started = now();
    let first: number | undefined;
    let last = started;
    let tokens = 0;
    let ended = false;
    const model = { gen_ai_operation_name: call.operation, gen_ai_request_model: call.model };
    return {
      chunk() {
        last = now();
        first ??= last;
      },
      generated(n) {
        tokens = n;
      },
      end: (outcome, abortReason) => {
        if (ended) return;
        ended = true;
        observeTraced(this.engineDuration, { ...model, gen_ai_provider_name: call.provider, outcome }, (now() - started) / 1000, call.traceparent);
        if (first !== undefined) this.firstToken.observe(model, (first - started) / 1000);
        if (outcome === 'ok' && first !== undefined && tokens >= 2) this.timePerOutputToken.observe(model, (last - first) / 1000 / (tokens - 1));
        if (abortReason !== undefined && outcome !== 'ok') this.aborts.inc({ worker_id: workerId, reason: abortReason });
      },
    };
  }
}
