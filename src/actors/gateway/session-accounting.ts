/**
 * A request's accounting, whichever source serves it (a session over NATS, or a route): the request
 * and token metrics, and the end record (what the limiter settles and the ledger stores). It observes
 * the request; it never changes what the client gets.
 */
import type { OperationSpec } from '../../operations/index.js';
import type { GatewayMetrics } from '../../observability/gateway-metrics.js';
import type { AnswerUsage } from '../../operations/operation.js';
import type { ReconciledUsage } from './usage-reconcile.js';

/** How a request ended, for the limiter and the usage ledger. */
export interface SessionEnd {
  outcome: 'ok' | 'failed' | 'cancelled';
  /** The HTTP status sent; 499 when the client went away first. */
  status: number;
  workerId?: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
  finishReason?: string;
  errorCode?: string;
  /** Workers that carried the answer on after a break (mid-stream migrations). */
  migrations?: number;
}

/** The end record of a complete answer; `migrations`: how many workers carried it on after a break. */
export function completedEnd(usage: AnswerUsage, workerId: string | undefined, finishReason: string | undefined, migrations: number): SessionEnd {
  return {
    outcome: 'ok', status: 200, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
    ...(workerId ? { workerId } : {}),
    ...(usage.cachedTokens !== undefined ? { cachedTokens: usage.cachedTokens } : {}),
    ...(finishReason ? { finishReason } : {}),
    ...(migrations > 0 ? { migrations } : {}),
  };
}

const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;

export class SessionAccounting {
  constructor(
    readonly metrics: GatewayMetrics,
    readonly operation: OperationSpec,
    readonly clientModel: string,
    /** process.hrtime.bigint() at arrival. */
    readonly arrivedAt: bigint,
    /** The request's trace context: its trace id is the histograms' exemplar when tracing is on. */
    readonly traceparent?: string,
  ) {}

  /** process.hrtime.bigint() when a stream's first byte went to the client, once it has (a whole answer has no first token to time). */
  firstByteAt: bigint | undefined;

  firstByte(): void {
    if (this.firstByteAt !== undefined) return;
    this.firstByteAt = process.hrtime.bigint();
    this.metrics.observeTimeToFirstToken({ gen_ai_operation_name: this.operation.name, gen_ai_request_model: this.clientModel }, seconds(this.arrivedAt), this.traceparent);
  }

  cancelled(): void {
    this.metrics.cancellations.inc();
  }

  /** A complete answer: its tokens, and how far the engine's counts were from llmux's. */
  completed({ usage, differences }: ReconciledUsage): void {
    const model = this.clientModel;
    const { metrics } = this;
    metrics.tokens.inc({ gen_ai_token_type: 'input', gen_ai_request_model: model }, usage.promptTokens);
    metrics.tokens.inc({ gen_ai_token_type: 'output', gen_ai_request_model: model }, usage.completionTokens);
    if (differences.prompt !== undefined) metrics.tokenCountDifference.observe({ gen_ai_token_type: 'input', gen_ai_request_model: model }, differences.prompt);
    if (differences.completion !== undefined) metrics.tokenCountDifference.observe({ gen_ai_token_type: 'output', gen_ai_request_model: model }, differences.completion);
    this.answered(200);
  }

  /** The status the client got, and how long the request took. */
  answered(status: number): void {
    this.metrics.requests.inc({ route: this.operation.path, status: String(status) });
    this.metrics.observeDuration({ gen_ai_operation_name: this.operation.name, gen_ai_request_model: this.clientModel, status: String(status) }, seconds(this.arrivedAt), this.traceparent);
  }

  /** A stream carried on by another worker after a break, by why it broke. */
  migrated(code: string): void {
    this.metrics.migrations.inc({ gen_ai_request_model: this.clientModel, error_code: code });
  }
}
