/**
 * The boundary of the simulator: a generation request body checked once and turned into the typed
 * `SimRequest` the rest of the simulator trusts. Errors name the offending parameter the way vLLM's
 * own validation does; schema-level problems (not JSON, a missing field) carry `param: null`, as
 * vLLM's request-validation handler answers them.
 */
import { continuedChat, continuedText } from './continuation.js';
import { directivesIn, type Fault } from './faults.js';
import { chatPrompt, completionPrompt, contentText, type SimPrompt } from './prompt.js';
import { openAiToolChoice, openAiToolNames, plannedToolCalls, type SimToolCall } from './tool-calls.js';

export type SimOperation = 'chat' | 'completion';

/**
 * How an engine treats a chat's final assistant message: continues it when asked with vLLM's
 * `continue_final_message` (vLLM, SGLang), continues a trailing one by itself (llama.cpp, Ollama),
 * or answers it with a new turn.
 */
export type ChatContinuation = 'continue-final-message' | 'trailing-assistant' | 'none';

export interface SimRequest {
  operation: SimOperation;
  /** The model name as the client sent it; absent means the first served name. */
  model: string | undefined;
  prompt: SimPrompt;
  /** The client's token limit (a continuation's: what remains of it); absent means "until the simulated end of sequence". */
  maxTokens: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  /** TGI's `parameters.details`. */
  details: boolean;
  fault: Fault;
  /** Extra time before the first token, from [[sim:prefill-ms:M]]. */
  prefillMs: number;
  /** The calls the answer makes instead of text (tool-calls.ts); empty for a text answer. */
  toolCalls: SimToolCall[];
  /** A chat's `logprobs: true` (OpenAI formats). */
  logprobs: boolean;
}

/** A request the simulator refuses with HTTP 400. */
export class SimBadRequest extends Error {
  override readonly name = 'SimBadRequest';
  readonly code = 'bad_request';
  constructor(message: string, readonly param: string | null = null) {
    super(message);
  }
}

type Body = Record<string, unknown>;

export const isObject = (value: unknown): value is Body => typeof value === 'object' && value !== null && !Array.isArray(value);
const isTokenIds = (value: unknown): value is number[] => Array.isArray(value) && value.every((v) => Number.isInteger(v));
const absent = (value: unknown): boolean => value === undefined || value === null;

/** Parses a request body's text; the JSON must be an object. */
export function parseJsonBody(text: string): Body {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SimBadRequest('the request body is not valid JSON');
  }
  if (!isObject(parsed)) throw new SimBadRequest('the request body must be a JSON object');
  return parsed;
}

export function positiveInteger(body: Body, param: string): number | undefined {
  const value = body[param];
  if (absent(value)) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new SimBadRequest(`${param} must be a positive integer, got ${JSON.stringify(value)}`, param);
  }
  return value;
}

/** The chat's prompt; a continuation (continuation.ts) when the engine continues its final assistant message. */
export function chatPromptOf(body: Body, continuation: ChatContinuation): SimPrompt {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw new SimBadRequest('messages must be a non-empty list');
  if (!messages.every((m) => isObject(m) && typeof m.role === 'string')) {
    throw new SimBadRequest('every message must be an object with a string role');
  }
  const all = messages as Array<Body & { role: string }>;
  const last = all.at(-1)!;
  const assistantLast = last.role === 'assistant';
  switch (continuation) {
    case 'continue-final-message':
      if (body.continue_final_message !== true) return chatPrompt(all);
      if (body.add_generation_prompt === true) throw new SimBadRequest('Cannot set both `continue_final_message` and `add_generation_prompt` to True.');
      if (!assistantLast) throw new SimBadRequest('continue_final_message is set but the final message is not from the assistant, so there is nothing to continue.');
      break;
    case 'trailing-assistant':
      if (!assistantLast) return chatPrompt(all);
      if (all.at(-2)?.role === 'assistant') throw new SimBadRequest('Cannot have 2 or more assistant messages at the end of the list.');
      break;
    case 'none':
      return chatPrompt(all);
  }
  // The continued assistant turn takes the place of the generation prompt: no per-message count for it.
  return continuedChat(chatPrompt(all.slice(0, -1)), contentText(last.content));
}

/** vLLM batches several prompts into one request; the simulator answers one prompt per request. */
function completionPromptOf(body: Body): SimPrompt {
  const prompt = body.prompt;
  if (absent(prompt)) throw new SimBadRequest('prompt is required');
  if (typeof prompt === 'string') {
    if (prompt === '') throw new SimBadRequest('prompt cannot be empty', 'prompt');
    return continuedText(prompt);
  }
  if (isTokenIds(prompt) && prompt.length > 0) return completionPrompt(prompt);
  if (Array.isArray(prompt) && prompt.length === 1) {
    const only: unknown = prompt[0];
    if (typeof only === 'string' && only !== '') return continuedText(only);
    if (isTokenIds(only) && only.length > 0) return completionPrompt(only);
  }
  if (Array.isArray(prompt) && prompt.length > 1 && prompt.every((p) => typeof p === 'string' || isTokenIds(p))) {
    throw new SimBadRequest('the simulator answers one prompt per request', 'prompt');
  }
  throw new SimBadRequest('prompt must be a non-empty string, a list of token ids, or a list of one of those', 'prompt');
}

export function parseSimRequest(operation: SimOperation, body: Body, chat: ChatContinuation): SimRequest {
  const prompt = operation === 'chat' ? chatPromptOf(body, chat) : completionPromptOf(body);
  if (!absent(body.model) && typeof body.model !== 'string') throw new SimBadRequest('model must be a string', 'model');
  if (!absent(body.stream) && typeof body.stream !== 'boolean') throw new SimBadRequest('stream must be a boolean', 'stream');
  const stream = body.stream === true;
  if (!absent(body.stream_options) && !stream) {
    throw new SimBadRequest('Stream options can only be defined when `stream=True`.', 'stream_options');
  }
  if (!absent(body.n) && body.n !== 1) throw new SimBadRequest('the simulator supports n=1 only', 'n');
  // As in vLLM, chat's max_completion_tokens takes precedence over the older max_tokens.
  const maxCompletionTokens = operation === 'chat' ? positiveInteger(body, 'max_completion_tokens') : undefined;
  const maxTokens = positiveInteger(body, 'max_tokens');
  const streamOptions = body.stream_options;
  return {
    operation,
    model: typeof body.model === 'string' ? body.model : undefined,
    prompt,
    maxTokens: maxCompletionTokens ?? maxTokens,
    stream,
    includeUsage: stream && isObject(streamOptions) && streamOptions.include_usage === true,
    details: false,
    ...directivesIn(prompt.text),
    toolCalls: operation === 'chat' ? plannedToolCalls(prompt.text, openAiToolNames(body.tools), openAiToolChoice(body.tool_choice)) : [],
    logprobs: operation === 'chat' && body.logprobs === true,
  };
}
