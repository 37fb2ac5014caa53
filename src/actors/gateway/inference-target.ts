/**
 * The first step of the inference pipeline after validation: what serves the model the client
 * named. Either a function (workers over NATS, reached through routers) or a route (backends the
 * gateway calls itself). Both come back in one shape. Everything after this (counting, the context
 * check, admission, the ledger record, the deadline, metrics and traces) is the same for both
 * (inference-pipeline.ts); only the source differs.
 */
import type { IncomingMessage } from 'node:http';
import { ErrorCode, type ErrorInfo, LlmuxError } from '../../errors.js';
import type { OperationSpec } from '../../operations/index.js';
import type { FunctionCatalog } from '../../control/function-catalog.js';
import type { LlmConfig } from '../../control/function.schema.js';
import type { RoutePlan, RouteTable } from '../../control/route-table.js';
import { mayUse, type Principal } from '../../policy/principal.js';
import { guessTokenizer } from '../../tokenize/index.js';
import { parseModelAddress } from './model-address.js';
import type { ValidatedRequest } from './request-schema.js';
import { requestedMethod } from './routing-hints.js';
import type { RoutingMethod } from '../router/routing-request.js';

interface TargetBase {
  /** The ledger's and the limiter's function id: the function's id, or the route's name. */
  functionId: string;
  /** The model name as the limits and the ledger know it. */
  model: string;
  versionId: string;
  llmConfig: LlmConfig;
  tokenizer: string;
}

export type InferenceTarget =
  | TargetBase & { source: 'function'; override: RoutingMethod | undefined }
  | TargetBase & { source: 'route'; plan: RoutePlan };

export interface TargetContext {
  catalog: FunctionCatalog;
  routes: RouteTable | undefined;
}

const selectorFields = ['owned_by', 'engine', 'inference_server'] as const;

/**
 * Which of a route's backends the request selects, if any: `owned_by`, `engine` or
 * `inference_server` in the body, the `x-owned-by` header, or the `owned_by` query parameter, as
 * llm-d's gateway takes them. The selector fields are removed from the body, as a provider would
 * reject them.
 */
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

/** The function or route that serves this request, or the error the client gets. */
export function resolveTarget(ctx: TargetContext, req: IncomingMessage, operation: OperationSpec, validated: ValidatedRequest,
  principal: Principal): InferenceTarget | ErrorInfo {
  const route = ctx.routes?.match(validated.model, operation.path);
  if (route) {
    if (!mayUse(principal, route.name)) {
      return { code: ErrorCode.permissionDenied, retryable: false, message: `these credentials (tenant '${principal.tenant}') may not use route '${route.name}'` };
    }
    const ownedBy = ownedBySelection(req, validated);
    const plan = ctx.routes?.plan(route, ownedBy);
    if (!plan || plan.backends.length === 0) {
      return { code: ownedBy ? ErrorCode.noEligibleCandidates : ErrorCode.noActiveBackend, retryable: !ownedBy,
        message: ownedBy ? `route '${route.name}' has no backend owned by '${ownedBy}'` : `route '${route.name}' names no backend that exists` };
    }
    const llmConfig: LlmConfig = route.contextLength !== undefined ? { contextLength: route.contextLength } : {};
    // Without a tokenizer setting, the model name's guess; an engine's own count wins where it reports one.
    return { source: 'route', plan, functionId: route.name, model: validated.model, versionId: 'route', llmConfig,
      tokenizer: route.tokenizer ?? guessTokenizer(validated.model) };
  }
  const address = parseModelAddress(validated.model);
  if (!address) {
    return { code: ErrorCode.noEligibleCandidates, retryable: false, param: 'model',
      message: `model '${validated.model}' is not of the form <function-id>/<model-name>; GET /v1/models lists them` };
  }
  const resolved = ctx.catalog.resolve(address.functionId, address.model);
  if (!resolved) {
    return { code: ErrorCode.noEligibleCandidates, retryable: false, param: 'model',
      message: `model '${validated.model}' is not registered; GET /v1/models lists them` };
  }
  if (!mayUse(principal, address.functionId)) {
    return { code: ErrorCode.permissionDenied, retryable: false,
      message: `these credentials (tenant '${principal.tenant}') may not use function '${address.functionId}'` };
  }
  const { llmConfig } = resolved.model;
  const uris = llmConfig.uris;
  if (uris && !uris.includes(operation.path)) {
    return { code: ErrorCode.unsupportedUri, retryable: false,
      message: `model '${validated.model}' does not serve ${operation.path} (it serves ${uris.join(', ')})` };
  }
  const override = requestedMethod(req.headers, llmConfig, validated.model);
  if (override instanceof LlmuxError) return override.toInfo();
  return { source: 'function', override, functionId: address.functionId, model: address.model, versionId: resolved.version.versionId, llmConfig,
    tokenizer: llmConfig.tokenizer ?? guessTokenizer(address.model) };
}

export const isTarget = (t: InferenceTarget | ErrorInfo): t is InferenceTarget => 'source' in t;
