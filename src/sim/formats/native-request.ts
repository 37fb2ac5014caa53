/** Turning the native (non-OpenAI) request bodies into the simulator's SimRequest. */
import { continuedText } from '../continuation.js';
import { directivesIn } from '../faults.js';
import { chatPrompt, completionPrompt, type SimPrompt } from '../prompt.js';
import { type ChatContinuation, chatPromptOf, isObject, positiveInteger, SimBadRequest, type SimOperation, type SimRequest } from '../sim-request.js';
import type { SimToolCall } from '../tool-calls.js';
import type { Body } from './sim-format.js';

export interface NativeFields {
  operation: SimOperation;
  prompt: SimPrompt;
  model?: string | undefined;
  maxTokens: number | undefined;
  stream: boolean;
  details?: boolean;
  toolCalls?: SimToolCall[];
}

export function nativeRequest(f: NativeFields): SimRequest {
  return {
    operation: f.operation, model: f.model, prompt: f.prompt, maxTokens: f.maxTokens, stream: f.stream,
    includeUsage: false, details: f.details ?? false, ...directivesIn(f.prompt.text), toolCalls: f.toolCalls ?? [], logprobs: false,
  };
}

/**
 * A required non-empty string field holding the prompt text; a continuation when it ends with an
 * answer to what comes before it (continuation.ts), unless the engine wraps the prompt in a
 * template (`continues: false`).
 */
export function textPrompt(body: Body, field: string, continues = true): SimPrompt {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw new SimBadRequest(`${field} must be a non-empty string`, field);
  return continues ? continuedText(value) : completionPrompt(value);
}

/** `messages` (plus Anthropic's top-level `system`) as a chat prompt. */
export function messagesPrompt(body: Body, continuation: ChatContinuation, system?: unknown): SimPrompt {
  if (typeof system === 'string' && system !== '') {
    const messages = body.messages;
    if (!Array.isArray(messages)) throw new SimBadRequest('messages must be a list', 'messages');
    return chatPrompt([{ role: 'system', content: system }, ...(messages as Body[])]);
  }
  return chatPromptOf(body, continuation);
}

/** A positive integer inside a nested object (`parameters.max_new_tokens`, `options.num_predict`). */
export function nestedInteger(body: Body, object: string, field: string): number | undefined {
  const inner = body[object];
  if (inner === undefined || inner === null) return undefined;
  if (!isObject(inner)) throw new SimBadRequest(`${object} must be an object`, object);
  return positiveInteger(inner, field);
}

export function optionalBoolean(body: Body, field: string, otherwise: boolean): boolean {
  const v = body[field];
  if (v === undefined || v === null) return otherwise;
  if (typeof v !== 'boolean') throw new SimBadRequest(`${field} must be a boolean`, field);
  return v;
}
