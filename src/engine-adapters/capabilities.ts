/**
 * What an engine can serve, decided here and nowhere else: a request an engine cannot do (embeddings
 * from TGI, a chat from TEI) is a 400 `unsupported` naming the engine kind, so the client knows to
 * ask another model, and no code outside src/engine-adapters/ needs to know which engine does what.
 */
import { ErrorCode, LlmuxError } from '../errors.js';
import type { EmbeddingRequest, Embeddings, EngineAdapter, EngineCapability, EngineRequest, RequestFeature } from './adapter.js';

export function unsupported(kind: string, what: string): LlmuxError {
  return new LlmuxError({ code: ErrorCode.unsupported, retryable: false, message: `the ${kind} engine serving this model does not serve ${what}` });
}

export function serves(adapter: EngineAdapter, capability: EngineCapability): boolean {
  return (adapter.serves ?? ['generate']).includes(capability);
}

/** The engine's embeddings, or the `unsupported` error when it has none. */
export function embedWith(adapter: EngineAdapter, request: EmbeddingRequest, signal: AbortSignal): Promise<Embeddings> {
  if (!adapter.embed) return Promise.reject(unsupported(adapter.kind, 'embeddings'));
  return adapter.embed(request, signal);
}

/** Every feature: what an engine with an OpenAI-compatible server takes as the client sent it. */
export const allRequestFeatures: readonly RequestFeature[] = ['tools', 'forced-tool-choice', 'response_format', 'seed', 'logprobs'];

const present = (v: unknown): boolean => v !== undefined && v !== null;

/** The features a generation request asks for, each with the body field that asks (validated at the gateway). */
export function featuresAsked(body: Readonly<Record<string, unknown>>): { feature: RequestFeature; field: string }[] {
  const asked: { feature: RequestFeature; field: string }[] = [];
  const choice = body.tool_choice;
  const tools = Array.isArray(body.tools) && body.tools.length > 0;
  if (tools && choice !== 'none') asked.push({ feature: 'tools', field: 'tools' });
  if (tools && (choice === 'required' || (typeof choice === 'object' && choice !== null))) asked.push({ feature: 'forced-tool-choice', field: 'tool_choice' });
  const format = (body.response_format as { type?: unknown } | null | undefined)?.type;
  if (format !== undefined && format !== 'text') asked.push({ feature: 'response_format', field: 'response_format' });
  if (present(body.seed)) asked.push({ feature: 'seed', field: 'seed' });
  if (body.logprobs === true) asked.push({ feature: 'logprobs', field: 'logprobs' });
  return asked;
}

const featureNames: Record<RequestFeature, string> = {
  tools: 'tool calls',
  'forced-tool-choice': 'a forced tool choice',
  response_format: 'structured output',
  seed: 'a sampling seed',
  logprobs: 'token logprobs',
};

/** The 400 for the first feature `request` asks for that an engine taking only `features` lacks, if any. */
export function unsupportedFeature(kind: string, features: readonly RequestFeature[], request: EngineRequest): LlmuxError | undefined {
  const missing = featuresAsked(request.body).find((a) => !features.includes(a.feature));
  if (!missing) return undefined;
  const value = JSON.stringify(request.body[missing.field]);
  const shown = missing.feature === 'tools' ? `'${missing.field}'` : `'${missing.field}': ${value.length > 80 ? `${value.slice(0, 80)}…` : value}`;
  return new LlmuxError({
    code: ErrorCode.unsupported, retryable: false, param: missing.field,
    message: `the ${kind} engine serving this model does not serve ${featureNames[missing.feature]} (${shown})`,
  });
}
