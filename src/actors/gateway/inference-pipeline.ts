/**
 * One inference pipeline, two sources. After the target is known (inference-target.ts), every
 * request goes through the same steps whether a function's workers or a route's backends serve
 * it: count the prompt, check it fits the context, admit it with the limiter, then hand it to the
 * source with a deadline, a logger that names the request and its trace, the metrics, and an end
 * callback that settles the reservation, writes the ledger record, ends the server span and logs
 * one line for the finished request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, type ErrorInfo } from '../../errors.js';
import type { OperationSpec } from '../../operations/index.js';
import type { GatewayMetrics } from '../../observability/gateway-metrics.js';
import { type Logger, requestLogFields } from '../../observability/logger.js';
import type { InferenceTrace } from '../../observability/spans.js';
import type { Principal } from '../../policy/principal.js';
import type { TokenCounter } from '../../tokenize/index.js';
import type { ApiKeyStore } from '../../policy/api-key-store.js';
import type { UsageLedger } from '../../ledger/usage-ledger.js';
import { admit, type AdmissionOptions, reservationFields } from './admission.js';
import type { InferenceTarget } from './inference-target.js';
import { contextLengthError, countPrompt, type PromptCount, requestedMaxTokens } from './prompt-tokens.js';
import { onRequestEnd } from './request-end.js';
import type { ValidatedRequest } from './request-schema.js';
import { SessionAccounting, type SessionEnd } from './session-accounting.js';
import { hopTimingOn, markHop } from '../../observability/hop-timing.js';

export interface PipelineDeps {
  metrics: GatewayMetrics;
  tokens: TokenCounter;
  log: Logger;
  admission: Omit<AdmissionOptions, 'log' | 'keys'> | undefined;
  keys: ApiKeyStore | undefined;
  ledger: UsageLedger | undefined;
  maxTokensCeiling: number | undefined;
  requestTimeoutMs: number;
  reply: (res: ServerResponse, operation: OperationSpec, error: ErrorInfo, headers?: Record<string, string>) => void;
}

export interface PipelineCall {
  req: IncomingMessage;
  res: ServerResponse;
  operation: OperationSpec;
  requestId: string;
  principal: Principal;
  validated: ValidatedRequest;
  target: InferenceTarget;
  trace: InferenceTrace;
  /** process.hrtime.bigint() at arrival. */
  arrivedAt: bigint;
  reservationId: string;
}

/** A request ready for its source. */
export interface Admitted {
  prompt: PromptCount;
  maxTokens: number | undefined;
  /** Set when the gateway capped the completion at what the rate limits reserved (the client gave no max_tokens). */
  budget?: { tokens: number; why: string };
  /** Headers every answer carries (rate limits), errors included. */
  responseHeaders: Record<string, string>;
  /** Epoch ms by which the request must be over. */
  deadline: number;
  /** Every line it writes names the request and its trace. */
  log: Logger;
  /** The server span's W3C context: what the source passes on (to routers and workers, or to a backend's client span). */
  traceparent: string;
  accounting: SessionAccounting;
  /** Called once, however the request ended. */
  onEnd: (end: SessionEnd) => void;
}

const millis = (since: bigint, until: bigint = process.hrtime.bigint()): number => Math.round(Number(until - since) / 1e4) / 100;

/**
 * Counting, the context check and admission. Answers the client itself and returns undefined when
 * the request goes no further (it cannot be counted, does not fit, is rate-limited, or the client
 * has already left).
 */
export async function admitInference(deps: PipelineDeps, call: PipelineCall): Promise<Admitted | undefined> {
  const { res, operation, validated, target, trace, principal, requestId } = call;
  const log = deps.log.child(requestLogFields(requestId, trace.traceparent));
  const fail = (error: ErrorInfo, headers?: Record<string, string>): undefined => void deps.reply(res, operation, error, headers);
  const countStarted = process.hrtime.bigint();
  let prompt: PromptCount;
  try {
    prompt = await trace.counting(() => countPrompt(deps.tokens, target.tokenizer, validated));
  } catch (error) {
    if (error instanceof Error && error.name === 'ChatTemplateError') {
      return fail({ code: ErrorCode.invalidRequest, retryable: false, param: 'messages', message: error.message });
    }
    log.error({ err: error, tokenizer: target.tokenizer, model: validated.model }, 'prompt token counting failed');
    return fail({ code: ErrorCode.internalError, retryable: false,
      message: `cannot count prompt tokens with tokenizer '${target.tokenizer}' (model '${validated.model}'): ${error instanceof Error ? error.message : String(error)}` });
  }
  deps.metrics.promptCounting.observe(Number(process.hrtime.bigint() - countStarted) / 1e9);
  if (hopTimingOn) markHop(res, 'g.counted');
  const maxTokens = requestedMaxTokens(validated);
  const tooLong = contextLengthError(prompt, maxTokens, target.llmConfig.contextLength, validated, deps.maxTokensCeiling);
  if (tooLong) return fail(tooLong.toInfo());
  if (res.destroyed) return undefined; // the client left while its body was being read: nothing to start
  const admission = deps.admission
    ? await admit({ ...deps.admission as Omit<AdmissionOptions, 'log' | 'keys'>, limiter: trace.limiter(deps.admission.limiter), log, metrics: deps.metrics,
      ...(deps.keys ? { keys: deps.keys } : {}) }, {
      reservationId: call.reservationId, principal, functionId: target.functionId, model: target.model, llmConfig: target.llmConfig,
      headers: call.req.headers, promptTokens: prompt.total, maxTokens, answers: prompt.answers,
    })
    : undefined;
  if (admission && !admission.ok) return fail(admission.error, admission.headers);
  const budget = admission?.ok ? admission.budget : undefined;
  // The engine is held to the completion budget the limits reserved, so the stream cannot exceed it.
  if (budget) validated.body.max_tokens = budget.tokens;
  const accounting = new SessionAccounting(deps.metrics, operation, validated.model, call.arrivedAt, trace.traceparent);
  const record = onRequestEnd(
    { requestId, tenant: principal.tenant, keyId: principal.keyId, functionId: target.functionId, versionId: target.versionId,
      model: target.model, start: new Date().toISOString(), ...reservationFields(admission, prompt.total, maxTokens, prompt.answers) },
    admission?.ok && admission.reserved && deps.admission ? { limiter: deps.admission.limiter, reservationId: call.reservationId } : undefined,
    deps.ledger,
  );
  const onEnd = trace.ending((end: SessionEnd) => {
    record(end);
    const finished = process.hrtime.bigint();
    log.info({
      outcome: end.outcome, status: end.status, source: target.source, function: target.functionId, model: validated.model, tenant: principal.tenant,
      prompt_tokens: end.promptTokens, completion_tokens: end.completionTokens, ...(end.cachedTokens ? { cached_tokens: end.cachedTokens } : {}),
      ...(end.workerId ? { worker: end.workerId } : {}), ...(end.finishReason ? { finish_reason: end.finishReason } : {}),
      ...(end.errorCode ? { error_code: end.errorCode } : {}), ...(end.migrations ? { migrations: end.migrations } : {}),
      duration_ms: millis(call.arrivedAt, finished), ...(accounting.firstByteAt !== undefined ? { ttft_ms: millis(call.arrivedAt, accounting.firstByteAt) } : {}),
    }, 'request finished');
  });
  // The client left while its tokens were being reserved: nothing to start, the reservation goes back.
  if (res.destroyed) {
    onEnd({ outcome: 'cancelled', status: 499, promptTokens: 0, completionTokens: 0 });
    return undefined;
  }
  return {
    prompt, maxTokens, ...(budget ? { budget } : {}), responseHeaders: admission?.ok ? admission.headers : {},
    deadline: Date.now() + deps.requestTimeoutMs, log, traceparent: trace.traceparent, accounting, onEnd,
  };
}
