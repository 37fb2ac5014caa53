/**
 * A request whose model a route serves (route.schema.ts): permission, which backend it may select
 * (`owned_by`, `engine` or `inference_server` in the body, the `x-owned-by` header, or the
 * `owned_by` query parameter, as llm-d's gateway takes them; the selector fields are removed before
 * the body goes to a provider that would reject them), prompt count, admission, then the backends
 * (route-proxy.ts), and the ledger record at the end: everything a function request gets.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, type ErrorInfo } from '../../errors.js';
import type { OperationSpec } from '../../operations/index.js';
import type { Logger } from '../../observability/logger.js';
import type { GatewayMetrics } from '../../observability/gateway-metrics.js';
import { mayDebug, mayUse, type Principal } from '../../policy/principal.js';
import { guessTokenizer, type TokenCounter } from '../../tokenize/index.js';
import type { Route } from '../../control/route.schema.js';
import { admit, reservationFields } from './admission.js';
import type { GatewayOptions } from './gateway.js';
import { countPrompt, requestedMaxTokens } from './prompt-tokens.js';
import { onRequestEnd } from './request-end.js';
import type { ValidatedRequest } from './request-schema.js';
import { type BackendAdapters, serveRoute } from './route-proxy.js';

const selectorFields = ['owned_by', 'engine', 'inference_server'] as const;

export function ownedBySelection(req: IncomingMessage, request: ValidatedRequest): string | undefined {
  let selected: string | undefined;
  for (const field of selectorFields) {
    const v = request.body[field];
    if (typeof v === 'string' && v !== '') selected ??= v;
    delete request.body[field];
  }
  const header = req.headers['x-owned-by'];
  if (!selected && typeof header === 'string' && header !== '') selected = header;
  if (!selected) {
    const query = new URL(req.url ?? '/', 'http://gateway').searchParams.get('owned_by');
    if (query) selected = query;
  }
  return selected;
}

export interface RouteContext {
  options: GatewayOptions;
  metrics: GatewayMetrics;
  tokens: TokenCounter;
  log: Logger;
  adapters: BackendAdapters;
  reply: (res: ServerResponse, operation: OperationSpec, error: ErrorInfo, headers?: Record<string, string>) => void;
  reservationId: string;
}

export interface RouteCall {
  req: IncomingMessage;
  res: ServerResponse;
  operation: OperationSpec;
  requestId: string;
  principal: Principal;
  route: Route;
  validated: ValidatedRequest;
  arrivedAt: bigint;
  onAnswer?: (answer: Record<string, unknown>) => void;
}

export async function serveRouteRequest(ctx: RouteContext, call: RouteCall): Promise<void> {
  const { options, reply, reservationId, log, metrics } = ctx;
  const { req, res, operation, requestId, principal, route, validated, arrivedAt, onAnswer } = call;
  if (!mayUse(principal, route.name)) {
    return void reply(res, operation, { code: ErrorCode.permissionDenied, retryable: false,
      message: `these credentials (tenant '${principal.tenant}') may not use route '${route.name}'` });
  }
  const ownedBy = ownedBySelection(req, validated);
  const plan = options.routes?.plan(route, ownedBy);
  if (!plan || plan.backends.length === 0) {
    return void reply(res, operation, { code: ownedBy ? ErrorCode.noEligibleCandidates : ErrorCode.noActiveBackend, retryable: !ownedBy,
      message: ownedBy ? `route '${route.name}' has no backend owned by '${ownedBy}'` : `route '${route.name}' names no backend that exists` });
  }
  // A route has no tokenizer setting: the model name's guess, and an engine's own count wins where it reports one.
  const prompt = await countPrompt(ctx.tokens, guessTokenizer(validated.model), validated).catch(() => ({ total: 0, longest: 0, answers: 1 }));
  const admission = options.admission
    ? await admit({ ...options.admission, log, metrics, ...(options.keys ? { keys: options.keys } : {}) }, {
      reservationId, principal, functionId: route.name, model: validated.model, llmConfig: {}, headers: req.headers,
      promptTokens: prompt.total, maxTokens: requestedMaxTokens(validated), answers: prompt.answers,
    })
    : undefined;
  if (admission && !admission.ok) return void reply(res, operation, admission.error, admission.headers);
  if (admission?.ok && admission.budget) validated.body.max_tokens = admission.budget.tokens;
  const recordEnd = onRequestEnd(
    { requestId, tenant: principal.tenant, keyId: principal.keyId, functionId: route.name, versionId: 'route', model: validated.model,
      start: new Date().toISOString(), ...reservationFields(admission, prompt.total, requestedMaxTokens(validated), prompt.answers) },
    admission?.ok && admission.reserved && options.admission ? { limiter: options.admission.limiter, reservationId } : undefined,
    options.ledger,
  );
  await serveRoute({
    plan, request: validated, requestId, clientModel: validated.model, promptTokens: prompt.total, res, log, adapters: ctx.adapters,
    headers: admission?.ok ? admission.headers : {}, debug: req.headers['x-llmux-debug'] === '1' && mayDebug(principal), ...(onAnswer ? { onAnswer } : {}),
    onEnd: (end) => {
      ctx.metrics.requests.inc({ route: operation.path, status: String(end.status) });
      ctx.metrics.duration.observe({ gen_ai_operation_name: operation.name, gen_ai_request_model: validated.model, status: String(end.status) },
        Number(process.hrtime.bigint() - arrivedAt) / 1e9);
      recordEnd(end);
    },
  });
}
