/**
 * vLLM's OpenAI-compatible wire shapes, field for field, as the simulator writes them. vLLM builds
 * stream chunks with pydantic's `exclude_unset`, which is why fields come and go between chunks:
 * only the finishing chat chunk has `stop_reason`, the usage chunk has no `logprobs`, and so on.
 */
import { randomBytes } from 'node:crypto';
import type { SimOperation } from './sim-request.js';
import type { SimToolCall } from './tool-calls.js';

export type FinishReason = 'stop' | 'length';

export interface SimUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** What every chunk and body of one answer shares. */
export interface Generation {
  operation: SimOperation;
  id: string;
  created: number;
  /** The model name as requested: vLLM echoes it back. */
  model: string;
  /** With `stream_options.include_usage`, vLLM sets `usage: null` on every chunk but the last. */
  includeUsage: boolean;
  /** TGI's `parameters.details`: the last event carries finish reason and generated token count. */
  details: boolean;
  /** Whether the answer is tool calls rather than text (tool-calls.ts). */
  tools: boolean;
  /** A chat's `logprobs: true`: each token with its logprob (always -0.5; `top_logprobs` empty). */
  logprobs: boolean;
}

export function newGeneration(operation: SimOperation, model: string, includeUsage: boolean, details = false, tools = false, logprobs = false): Generation {
  const id = `${operation === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(16).toString('hex')}`;
  return { operation, id, created: Math.floor(Date.now() / 1000), model, includeUsage, details, tools, logprobs };
}

/** A chat `logprobs.content` entry for one token, as vLLM writes it. */
const logprobEntry = (token: string): Record<string, unknown> => ({ token, logprob: -0.5, bytes: [...Buffer.from(token)], top_logprobs: [] });

/** The `logprobs` of a chat choice holding `tokens`, or null when not asked for. */
const chatLogprobs = (g: Generation, tokens: readonly string[]): Record<string, unknown> | null =>
  (g.logprobs ? { content: tokens.map(logprobEntry) } : null);

export const usageOf = (promptTokens: number, completionTokens: number): SimUsage => ({
  prompt_tokens: promptTokens,
  completion_tokens: completionTokens,
  total_tokens: promptTokens + completionTokens,
});

const event = (body: unknown): string => `data: ${JSON.stringify(body)}\n\n`;

function chunkEvent(g: Generation, choice: object): string {
  const object = g.operation === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  return event({
    id: g.id,
    object,
    created: g.created,
    model: g.model,
    choices: [choice],
    ...(g.includeUsage ? { usage: null } : {}),
  });
}

/** The chat stream's first chunk: the role, with empty content, before any token. */
export function roleChunk(g: Generation): string {
  return chunkEvent(g, { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
}

/** One token; the last one carries the finish reason. */
export function tokenChunk(g: Generation, text: string, finish: FinishReason | null): string {
  if (g.operation === 'completion') {
    return chunkEvent(g, { index: 0, text, logprobs: null, finish_reason: finish, stop_reason: null });
  }
  const choice = { index: 0, delta: { content: text }, logprobs: chatLogprobs(g, [text]), finish_reason: finish };
  return chunkEvent(g, finish === null ? choice : { ...choice, stop_reason: null });
}

/** The chunk after the last token when include_usage is on: no choices, just usage. */
export function usageChunk(g: Generation, usage: SimUsage): string {
  const object = g.operation === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  return event({ id: g.id, object, created: g.created, model: g.model, choices: [], usage });
}

export const DONE_EVENT = 'data: [DONE]\n\n';

/** A whole non-streaming answer; vLLM dumps every field here, nulls included. */
export function fullResponse(g: Generation, text: string, finish: FinishReason, usage: SimUsage): Record<string, unknown> {
  const choice = g.operation === 'chat'
    ? {
        index: 0,
        message: { role: 'assistant', reasoning_content: null, content: text, tool_calls: [] },
        // The simulator's tokens are words, each with its leading space.
        logprobs: chatLogprobs(g, text.match(/\s?\S+/g) ?? []),
        finish_reason: finish,
        stop_reason: null,
      }
    : { index: 0, text, logprobs: null, finish_reason: finish, stop_reason: null, prompt_logprobs: null };
  return {
    id: g.id,
    object: g.operation === 'chat' ? 'chat.completion' : 'text_completion',
    created: g.created,
    model: g.model,
    choices: [choice],
    usage: { ...usage, prompt_tokens_details: null },
    ...(g.operation === 'chat' ? { prompt_logprobs: null } : {}),
    kv_transfer_params: null,
  };
}

/** A call's id as vLLM writes it. */
const toolCallId = (call: SimToolCall): string => `chatcmpl-tool-${call.idSuffix}`;

/**
 * A chat answer of tool calls, streamed as vLLM does: per call, a chunk with its id, type and name,
 * then one chunk per argument piece; the finish (`tool_calls`) on an empty-content chunk.
 */
export function toolCallChunks(g: Generation, calls: readonly SimToolCall[]): string[] {
  const chunk = (call: object): string => chunkEvent(g, { index: 0, delta: { tool_calls: [call] }, logprobs: null, finish_reason: null });
  return calls.flatMap((call, index) => [
    chunk({ id: toolCallId(call), type: 'function', index, function: { name: call.name } }),
    ...call.pieces.map((piece) => chunk({ index, function: { arguments: piece } })),
  ]);
}

export function toolCallsTail(g: Generation, usage: SimUsage): string {
  const finish = chunkEvent(g, { index: 0, delta: { content: '' }, logprobs: null, finish_reason: 'tool_calls', stop_reason: null });
  return finish + (g.includeUsage ? usageChunk(g, usage) : '') + DONE_EVENT;
}

/** A whole chat answer of tool calls: `content: null`, the calls whole, finish `tool_calls`. */
export function toolCallsResponse(g: Generation, calls: readonly SimToolCall[], usage: SimUsage): Record<string, unknown> {
  const body = fullResponse(g, '', 'stop', usage);
  const toolCalls = calls.map((call) => ({ id: toolCallId(call), type: 'function', function: { name: call.name, arguments: call.arguments } }));
  const message = { role: 'assistant', reasoning_content: null, content: null, tool_calls: toolCalls };
  return { ...body, choices: [{ index: 0, message, logprobs: null, finish_reason: 'tool_calls', stop_reason: null }] };
}

/** vLLM's current error body (the `object: "error"` wrapper-less form, vLLM ≥ 0.10.1). */
export function errorBody(message: string, type: string, code: number, param: string | null = null): Record<string, unknown> {
  return { error: { message, type, param, code } };
}

/** What vLLM's FastAPI app answers for an unknown path or a wrong method: not vLLM's error shape. */
export const notFoundBody = { detail: 'Not Found' } as const;
export const methodNotAllowedBody = { detail: 'Method Not Allowed' } as const;

/** GET /v1/models. */
export function modelList(models: readonly string[], maxModelLen: number): Record<string, unknown> {
  const created = Math.floor(Date.now() / 1000);
  return {
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created, owned_by: 'vllm', root: id, parent: null, max_model_len: maxModelLen })),
  };
}
