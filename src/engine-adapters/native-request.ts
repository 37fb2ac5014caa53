/** For engines whose native endpoint takes text, not OpenAI messages: the prompt and the sampling fields. */
import { invalidRequest } from '../errors.js';
import { contentText, renderChatMl } from '../tokenize/chat-template.js';
import type { ChatMessage, ChatPromptRenderer, EngineEvent, EngineRequest } from './adapter.js';

/**
 * The prompt text: the chat rendered by the model's template (ChatML by default), or the completion
 * prompt. With vLLM's `continue_final_message` (a prefill, or a migrated answer: continuation.ts)
 * the final assistant message stays open: the chat before it, rendered up to the assistant's turn,
 * then that message's text.
 */
export function promptText(request: EngineRequest, render: ChatPromptRenderer = renderChatMl): string {
  const { body } = request;
  if (request.operation === 'chat') {
    const messages = body.messages as ChatMessage[];
    if (body.continue_final_message !== true) return render(messages);
    const last = messages.at(-1);
    if (last?.role !== 'assistant') throw invalidRequest('continue_final_message', 'continue_final_message needs a final assistant message to continue');
    return render(messages.slice(0, -1)) + contentText(last.content);
  }
  const prompt = body.prompt;
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0];
  throw invalidRequest('prompt', 'this engine takes one text prompt per request (not token ids or a list of prompts)');
}

/** The completion budget: max_completion_tokens, else max_tokens. */
export function maxTokensOf(request: EngineRequest): number | undefined {
  const v = request.body.max_completion_tokens ?? request.body.max_tokens;
  return typeof v === 'number' ? v : undefined;
}

/** OpenAI's `stop` as a list. */
export function stopList(request: EngineRequest): string[] | undefined {
  const stop = request.body.stop;
  if (typeof stop === 'string') return [stop];
  if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) return stop as string[];
  return undefined;
}

/** Copies the fields that are set, skipping undefined ones. */
export function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null));
}

/** `authorization: Bearer <key>` when the engine has a key. */
export const bearerAuth = (apiKey: string | undefined): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {});

/** The deltas of one choice: the assistant role on the first chat delta, then text and the finish reason. */
export class ChoiceDeltas {
  #first: boolean;

  constructor(chat: boolean) {
    this.#first = chat;
  }

  push(out: EngineEvent[], text: string, finishReason?: string): void {
    if (text === '' && finishReason === undefined && !this.#first) return;
    out.push({ type: 'delta', delta: { index: 0, ...(this.#first ? { role: 'assistant' } : {}), ...(text ? { text } : {}), ...(finishReason ? { finishReason } : {}) } });
    this.#first = false;
  }
}

/**
 * The JSON schema an answer must follow under OpenAI's `response_format`: the given schema for
 * `json_schema`, any object for `json_object` (JSON mode); undefined for text.
 */
export function responseSchema(request: EngineRequest): Record<string, unknown> | undefined {
  const format = request.body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | null | undefined;
  if (format?.type === 'json_object') return { type: 'object' };
  if (format?.type !== 'json_schema') return undefined;
  const schema = format.json_schema?.schema;
  return typeof schema === 'object' && schema !== null ? (schema as Record<string, unknown>) : { type: 'object' };
}
