/**
 * `POST /v1/messages` (Anthropic's Messages API), a second ingress dialect served as a chat
 * completion on every engine: `system` becomes the system message, content blocks become chat
 * content (`tool_use` blocks the assistant's tool calls, `tool_result` blocks tool turns), `tools`
 * and `tool_choice` chat's. The chat body is then what chat counts, checks and forwards; its deltas
 * come back as a `message` or its typed events (messages-render.ts). Anthropic's clients send their
 * key as `x-api-key` and read Anthropic's error shape, so this operation declares both.
 */
import { z } from 'zod';
import { invalidRequest, LlmuxError } from '../errors.js';
import { isObject } from '../protocol/guards.js';
import { chat } from './chat.js';
import { positiveInt } from './generation.js';
import { anthropicErrorBody, MessageAnswer, MessageStream } from './messages-render.js';
import type { OperationSpec } from './operation.js';

const toolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a tool name is 1 to 64 letters, digits, underscores or dashes');

/** A client tool; Anthropic's server tools (web search, code execution, …) have a `type` and no `input_schema`. */
const tool = z.looseObject({
  type: z.literal('custom', 'only client tools ({name, input_schema}) are supported, not server tools').optional(),
  name: toolName,
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()),
});

const toolChoice = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('tool'), name: toolName, disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal('none') }),
], { error: "tool_choice.type is 'auto', 'any', 'tool' or 'none'" });

const textBlock = z.looseObject({ type: z.literal('text', 'system blocks are text blocks'), text: z.string() });

export const messagesBodySchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: positiveInt,
  messages: z.array(z.looseObject({
    role: z.enum(['user', 'assistant'], "a message's role is 'user' or 'assistant' (the system prompt is 'system')"),
    content: z.union([z.string(), z.array(z.unknown()).min(1)]),
  })).min(1),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  stop_sequences: z.array(z.string()).max(16).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  // Chat has no top_k: OpenAI-style engines would drop it silently or refuse the request.
  top_k: z.never("'top_k' cannot be relayed to chat engines; use temperature or top_p").optional(),
  stream: z.boolean().optional(),
  tools: z.array(tool).max(128).optional(),
  tool_choice: toolChoice.optional(),
  metadata: z.strictObject({ user_id: z.string().max(256).nullish() }).optional(),
});

/** Fields llmux reads; any other is a 400 rather than silently dropped (the body is translated, not forwarded). */
const knownFields = new Set(Object.keys(messagesBodySchema.shape));

type ToolCall = { id: string; type: 'function'; function: { name: string; arguments: string } };
type Turn = { role: string; content: string | null; tool_calls?: ToolCall[]; tool_call_id?: string };

/** A tool_result's content: a string, or text blocks (an image in a result is not supported). */
function resultText(content: unknown, at: string): string | LlmuxError {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return invalidRequest(`${at}.content`, `'${at}.content' must be a string or text blocks`);
  let text = '';
  for (const [k, block] of content.entries()) {
    if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string') {
      return invalidRequest(`${at}.content.${k}`, `'${at}.content.${k}' must be a text block; other tool result content is not supported`);
    }
    text += block.text;
  }
  return text;
}

/** One Anthropic message as chat turns: a user message's tool results come first, as tool turns, then its text. */
function turnsOf(role: 'user' | 'assistant', content: string | unknown[], at: string): Turn[] | LlmuxError {
  if (typeof content === 'string') return [{ role, content }];
  let text = '';
  const calls: ToolCall[] = [];
  const results: Turn[] = [];
  for (const [j, raw] of content.entries()) {
    const where = `${at}.content.${j}`;
    if (!isObject(raw)) return invalidRequest(where, `'${where}' must be a content block`);
    if (raw.type === 'text') {
      if (typeof raw.text !== 'string') return invalidRequest(`${where}.text`, `'${where}.text' must be a string`);
      text += raw.text;
    } else if (raw.type === 'tool_use' && role === 'assistant') {
      if (typeof raw.id !== 'string' || raw.id === '') return invalidRequest(`${where}.id`, `'${where}.id' must be a non-empty string`);
      if (!toolName.safeParse(raw.name).success) return invalidRequest(`${where}.name`, `'${where}.name' must be a tool name`);
      if (!isObject(raw.input)) return invalidRequest(`${where}.input`, `'${where}.input' must be an object`);
      calls.push({ id: raw.id, type: 'function', function: { name: raw.name as string, arguments: JSON.stringify(raw.input) } });
    } else if (raw.type === 'tool_result' && role === 'user') {
      if (typeof raw.tool_use_id !== 'string' || raw.tool_use_id === '') return invalidRequest(`${where}.tool_use_id`, `'${where}.tool_use_id' must be a non-empty string`);
      const result = resultText(raw.content, where);
      if (result instanceof LlmuxError) return result;
      results.push({ role: 'tool', tool_call_id: raw.tool_use_id, content: raw.is_error === true ? `Error: ${result}` : result });
    } else {
      const kinds = role === 'assistant' ? "'text' and 'tool_use'" : "'text' and 'tool_result'";
      return invalidRequest(`${where}.type`, `'${where}.type' ${JSON.stringify(raw.type)} is not supported in a${role === 'user' ? '' : 'n'} ${role} message (images and documents are not); blocks are ${kinds}`);
    }
  }
  if (role === 'assistant') return [{ role, content: text === '' && calls.length > 0 ? null : text, ...(calls.length > 0 ? { tool_calls: calls } : {}) }];
  return [...results, ...(text !== '' || results.length === 0 ? [{ role, content: text }] : [])];
}

type Parsed = z.infer<typeof messagesBodySchema>;

function chatChoice(choice: NonNullable<Parsed['tool_choice']>): unknown {
  switch (choice.type) {
    case 'auto': return 'auto';
    case 'any': return 'required';
    case 'none': return 'none';
    case 'tool': return { type: 'function', function: { name: choice.name } };
  }
}

/** The Messages body as the chat body the engine gets (with model and stream, which the gateway takes off), or the 400 naming the field. */
function toChat(body: Record<string, unknown>): Record<string, unknown> | LlmuxError {
  const unknown = Object.keys(body).find((k) => !knownFields.has(k));
  if (unknown !== undefined) return invalidRequest(unknown, `'${unknown}' is not supported on /v1/messages`);
  const b = body as Parsed;
  const system = typeof b.system === 'string' ? b.system : b.system?.map((block) => block.text).join('');
  const messages: Turn[] = system ? [{ role: 'system', content: system }] : [];
  for (const [i, m] of b.messages.entries()) {
    const turns = turnsOf(m.role, m.content, `messages.${i}`);
    if (turns instanceof LlmuxError) return turns;
    messages.push(...turns);
  }
  const noParallel = b.tool_choice && 'disable_parallel_tool_use' in b.tool_choice && b.tool_choice.disable_parallel_tool_use === true;
  const chatBody: Record<string, unknown> = {
    model: b.model,
    ...(b.stream !== undefined ? { stream: b.stream } : {}),
    messages,
    max_tokens: b.max_tokens,
    ...(b.temperature !== undefined ? { temperature: b.temperature } : {}),
    ...(b.top_p !== undefined ? { top_p: b.top_p } : {}),
    ...(b.stop_sequences && b.stop_sequences.length > 0 ? { stop: b.stop_sequences } : {}),
    ...(b.tools && b.tools.length > 0
      ? { tools: b.tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.input_schema } })) }
      : {}),
    ...(b.tool_choice ? { tool_choice: chatChoice(b.tool_choice) } : {}),
    ...(noParallel ? { parallel_tool_calls: false } : {}),
  };
  // Chat's own checks (a tool choice needs tools, a named one among them) on the translated body: the fields keep their names.
  return chat.prepare(chatBody);
}

export const messages: OperationSpec = {
  name: 'messages',
  path: '/v1/messages',
  idPrefix: 'msg',
  promptField: 'messages',
  schema: messagesBodySchema,
  prepare: toChat,
  work: { kind: 'generate', operation: 'chat' },
  // After prepare the body is a chat body: counted, routed and budgeted as chat.
  countPrompt: (tokens, tokenizer, body) => chat.countPrompt(tokens, tokenizer, body),
  promptText: (body) => chat.promptText(body),
  affinityText: (body) => chat.affinityText(body),
  maxTokens: (body) => chat.maxTokens(body),
  answer: () => new MessageAnswer(),
  openStream: () => new MessageStream(),
  errorBody: anthropicErrorBody,
  keyHeader: 'x-api-key',
};
