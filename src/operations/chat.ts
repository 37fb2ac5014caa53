/** `POST /v1/chat/completions`: messages in, an assistant message out, streamed or whole. */
import { z } from 'zod';
import type { ChatMessage, Delta } from '../engine-adapters/adapter.js';
import { contentText } from '../tokenize/chat-template.js';
import { CompletionAccumulator, type GenerationStyle, generationFields, generationStream, maxTokensOf, positiveInt } from './generation.js';
import type { OperationSpec } from './operation.js';

const message = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
  name: z.string().nullish(),
});

export const chatBodySchema = z.looseObject({
  ...generationFields,
  messages: z.array(message).min(1),
  max_completion_tokens: positiveInt.nullish(),
});

/** Messages that make up the fallback affinity key: the system prompt and the first user turn. */
const leadingMessages = 2;

function chatDelta(d: Delta): Record<string, unknown> {
  const delta: Record<string, unknown> = {};
  if (d.role !== undefined) delta.role = d.role;
  // OpenAI's first chunk carries `content: ""` with the role; clients that concatenate expect a string.
  if (d.text !== undefined || d.role !== undefined) delta.content = d.text ?? '';
  if (d.reasoning !== undefined) delta.reasoning_content = d.reasoning;
  if (d.toolCalls !== undefined) delta.tool_calls = d.toolCalls;
  return delta;
}

const style: GenerationStyle = {
  chunkObject: 'chat.completion.chunk',
  wholeObject: 'chat.completion',
  chunkChoice: (d) => ({ index: d.index, delta: chatDelta(d), logprobs: null, finish_reason: d.finishReason ?? null }),
  wholeChoice(index, c) {
    const message: Record<string, unknown> = { role: c.role, content: c.text };
    if (c.reasoning) message.reasoning_content = c.reasoning;
    if (c.toolCalls.size > 0) message.tool_calls = [...c.toolCalls.values()];
    return { index, message, logprobs: null, finish_reason: c.finishReason };
  },
};

const messagesText = (body: Readonly<Record<string, unknown>>, count?: number): string =>
  (body.messages as Array<{ role: string; content?: unknown }>).slice(0, count).map((m) => `${m.role}\n${contentText(m.content)}\n`).join('');

export const chat: OperationSpec = {
  name: 'chat',
  path: '/v1/chat/completions',
  idPrefix: 'chatcmpl',
  promptField: 'messages',
  schema: chatBodySchema,
  prepare: (body) => body,
  work: { kind: 'generate', operation: 'chat' },
  async countPrompt(tokens, tokenizer, body) {
    const total = await tokens.countChat(tokenizer, body.messages as ChatMessage[]);
    return { total, longest: total, answers: 1 };
  },
  promptText: (body) => messagesText(body),
  affinityText: (body) => messagesText(body, leadingMessages),
  maxTokens: maxTokensOf,
  answer: () => new CompletionAccumulator(style),
  stream: generationStream(style),
};
