/** `POST /v1/chat/completions`: messages in, an assistant message out, streamed or whole. */
import { z } from 'zod';
import type { ChatMessage, Delta } from '../engine-adapters/adapter.js';
import { invalidRequest, type LlmuxError } from '../errors.js';
import { contentText } from '../tokenize/chat-template.js';
import { CompletionAccumulator, type GenerationStyle, generationFields, generationStream, maxTokensOf, positiveInt } from './generation.js';
import type { OperationSpec } from './operation.js';

const message = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
  name: z.string().nullish(),
});

/** OpenAI's function names: what every engine's tool parser and Anthropic's `tools` accept. */
const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a function name is 1 to 64 letters, digits, underscores or dashes');

const tool = z.looseObject({
  type: z.literal('function', "the only tool type is 'function'"),
  function: z.looseObject({
    name: functionName,
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: functionName }) }),
], "tool_choice is 'none', 'auto', 'required' or {type: 'function', function: {name}}");

const responseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({ name: z.string().min(1).max(64), schema: z.record(z.string(), z.unknown()).nullish(), strict: z.boolean().nullish() }),
  }),
], { error: "response_format.type is 'text', 'json_object' or 'json_schema'" });

export const chatBodySchema = z.looseObject({
  ...generationFields,
  messages: z.array(message).min(1),
  max_completion_tokens: positiveInt.nullish(),
  tools: z.array(tool).max(128).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormat.nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
});

/** What the schema cannot say field by field: top_logprobs needs logprobs, a tool choice needs tools, and a named one must be among them. */
function checkToolChoice(body: Record<string, unknown>): Record<string, unknown> | LlmuxError {
  if (typeof body.top_logprobs === 'number' && body.top_logprobs > 0 && body.logprobs !== true) return invalidRequest('top_logprobs', "'top_logprobs' needs 'logprobs': true");
  const choice = body.tool_choice;
  if (choice === undefined || choice === null) return body;
  const tools = (body.tools ?? []) as Array<{ function: { name: string } }>;
  if (tools.length === 0 && choice !== 'none') return invalidRequest('tool_choice', "'tool_choice' needs 'tools': there is no tool to choose");
  if (typeof choice === 'object') {
    const name = (choice as { function: { name: string } }).function.name;
    if (!tools.some((t) => t.function.name === name)) return invalidRequest('tool_choice', `'tool_choice' names the function '${name}', which is not in 'tools'`);
  }
  return body;
}

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
  chunkChoice: (d) => ({ index: d.index, delta: chatDelta(d), logprobs: d.logprobs ? { content: d.logprobs, refusal: null } : null, finish_reason: d.finishReason ?? null }),
  wholeChoice(index, c) {
    // As OpenAI: an answer of tool calls alone has `content: null`.
    const message: Record<string, unknown> = { role: c.role, content: c.text === '' && c.toolCalls.size > 0 ? null : c.text };
    if (c.reasoning) message.reasoning_content = c.reasoning;
    if (c.toolCalls.size > 0) message.tool_calls = [...c.toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
    return { index, message, logprobs: c.logprobs.length > 0 ? { content: c.logprobs, refusal: null } : null, finish_reason: c.finishReason };
  },
};

/**
 * What a chat template renders of tools beyond the message contents the chat count sees: the tool
 * definitions (templates put them in the prompt as JSON) and each assistant call's name and
 * arguments, counted as text so limits and the context check do not take a prompt full of schemas
 * for a short one.
 */
function toolTexts(body: Readonly<Record<string, unknown>>): string[] {
  const texts: string[] = [];
  if (Array.isArray(body.tools) && body.tools.length > 0) texts.push(JSON.stringify(body.tools));
  for (const m of body.messages as Array<{ tool_calls?: unknown }>) {
    if (!Array.isArray(m.tool_calls)) continue;
    for (const call of m.tool_calls as Array<{ function?: { name?: unknown; arguments?: unknown } } | null>) {
      const fn = call?.function;
      if (fn) texts.push(`${typeof fn.name === 'string' ? fn.name : ''} ${typeof fn.arguments === 'string' ? fn.arguments : ''}`);
    }
  }
  return texts;
}

const messagesText = (body: Readonly<Record<string, unknown>>, count?: number): string =>
  (body.messages as Array<{ role: string; content?: unknown }>).slice(0, count).map((m) => `${m.role}\n${contentText(m.content)}\n`).join('');

export const chat: OperationSpec = {
  name: 'chat',
  path: '/v1/chat/completions',
  idPrefix: 'chatcmpl',
  promptField: 'messages',
  schema: chatBodySchema,
  prepare: checkToolChoice,
  work: { kind: 'generate', operation: 'chat' },
  async countPrompt(tokens, tokenizer, body) {
    const messages = await tokens.countChat(tokenizer, body.messages as ChatMessage[]);
    const extra = toolTexts(body);
    const total = messages + (extra.length > 0 ? (await tokens.countTexts(tokenizer, extra)).reduce((a, b) => a + b, 0) : 0);
    return { total, longest: total, answers: 1 };
  },
  promptText: (body) => messagesText(body),
  affinityText: (body) => messagesText(body, leadingMessages),
  maxTokens: maxTokensOf,
  answer: () => new CompletionAccumulator(style),
  stream: generationStream(style),
};
