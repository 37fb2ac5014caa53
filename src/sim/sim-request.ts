/**
 * The boundary of the simulator: a generation request body checked once and turned into the typed
 * `SimRequest` the rest of the simulator trusts. Errors name the offending parameter the way vLLM's
 * own validation does; schema-level problems (not JSON, a missing field) carry `param: null`, as
 * vLLM's request-validation handler answers them.
 */
import { type Fault, faultIn } from './faults.js';
import { chatPrompt, completionPrompt, type SimPrompt } from './prompt.js';

export type SimOperation = 'chat' | 'completion';

export interface SimRequest {
  operation: SimOperation;
  /** The model name as the client sent it; absent means the first served name. */
  model: string | undefined;
  prompt: SimPrompt;
  /** The client's token limit; absent means "until the simulated end of sequence". */
  maxTokens: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  /** TGI's `parameters.details`. */
  details: boolean;
  fault: Fault;
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

export function chatPromptOf(body: Body): SimPrompt {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw new SimBadRequest('messages must be a non-empty list');
  if (!messages.every((m) => isObject(m) && typeof m.role === 'string')) {
    throw new SimBadRequest('every message must be an object with a string role');
  }
  return chatPrompt(messages as Body[]);
}

/** vLLM batches several prompts into one request; the simulator answers one prompt per request. */
function completionPromptOf(body: Body): SimPrompt {
  const prompt = body.prompt;
  if (absent(prompt)) throw new SimBadRequest('prompt is required');
  if (typeof prompt === 'string') {
    if (prompt === '') throw new SimBadRequest('prompt cannot be empty', 'prompt');
    return completionPrompt(prompt);
  }
  if (isTokenIds(prompt) && prompt.length > 0) return completionPrompt(prompt);
  if (Array.isArray(prompt) && prompt.length === 1) {
    const only: unknown = prompt[0];
    if (typeof only === 'string' && only !== '') return completionPrompt(only);
    if (isTokenIds(only) && only.length > 0) return completionPrompt(only);
  }
  if (Array.isArray(prompt) && prompt.length > 1 && prompt.every((p) => typeof p === 'string' || isTokenIds(p))) {
    throw new SimBadRequest('the simulator answers one prompt per request', 'prompt');
  }
  throw new SimBadRequest('prompt must be a non-empty string, a list of token ids, or a list of one of those', 'prompt');
}

export function parseSimRequest(operation: SimOperation, body: Body): SimRequest {
  const prompt = operation === 'chat' ? chatPromptOf(body) : completionPromptOf(body);
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
    fault: faultIn(prompt.text),
  };
}
