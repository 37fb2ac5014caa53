/**
 * `POST /v1/responses` (OpenAI's Responses API), served as a chat completion on every engine: the
 * instructions, the stored conversation `previous_response_id` names and the `input` items become
 * chat messages (function tools and call items as chat's tools, tool calls and tool turns); the
 * chat deltas come back as a `response` object or its typed events (responses-render.ts). With `store` (the default, as OpenAI) the answer is kept for an hour in
 * the gateway's answer memory, for `GET /v1/responses/{id}` and for a later `previous_response_id`;
 * only the tenant that made it can see it.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ChatMessage } from '../engine-adapters/adapter.js';
import { ErrorCode, invalidRequest, LlmuxError } from '../errors.js';
import { contentText } from '../tokenize/chat-template.js';
import { chat } from './chat.js';
import { maxTokensOf, positiveInt } from './generation.js';
import type { AnswerMemory, Caller, OperationSpec, StatefulOperation, ValidatedRequest } from './operation.js';
import { ResponseAnswer, type ResponseEcho, ResponseStream } from './responses-render.js';

/** Response ids are ours (random, never the client's request id) and safe as KV keys. */
const responseIdPattern = /^resp_[0-9a-f]{32}$/;
export const isResponseId = (id: string): boolean => responseIdPattern.test(id);

const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a function name is 1 to 64 letters, digits, underscores or dashes');

/** Responses' function tool is flat (chat nests it under `function`). */
const functionTool = z.looseObject({
  type: z.literal('function', "only function tools are supported (no hosted tools: web search, file search, computer use…)"),
  name: functionName,
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

export const responsesBodySchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string().min(1), z.array(z.unknown()).min(1)]),
  instructions: z.string().nullish(),
  max_output_tokens: positiveInt.nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().regex(responseIdPattern, 'not a response id this gateway made').nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).refine((m) => Object.keys(m).length <= 16, 'at most 16 keys').nullish(),
  user: z.string().nullish(),
  tools: z.array(functionTool).max(128).nullish(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.strictObject({ type: z.literal('function'), name: functionName })],
    "tool_choice is 'none', 'auto', 'required' or {type: 'function', name}").nullish(),
  background: z.literal(false, 'background responses are not supported').nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  truncation: z.literal('disabled', "only 'disabled' truncation is supported").nullish(),
  text: z.strictObject({ format: z.strictObject({ type: z.literal('text', 'only text output is supported') }).optional() }).nullish(),
});

/** Fields llmux reads; any other is a 400 rather than silently dropped (the body is translated, not forwarded). */
const knownFields = new Set(Object.keys(responsesBodySchema.shape));

const roles = new Set(['user', 'assistant', 'system', 'developer']);
const textTypes = new Set(['input_text', 'output_text']);

/** A chat message as the engine gets it: tool calls on assistant turns, a tool turn's call id. */
type Turn = ChatMessage & { tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>; tool_call_id?: string };

const itemTypes = new Set(['message', 'function_call', 'function_call_output']);

/** A function call item as the assistant turn's tool call: consecutive calls are one turn (parallel calls). */
function addCall(messages: Turn[], call: { id: string; name: string; arguments: string }): void {
  const last = messages.at(-1);
  const toolCall = { id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments } };
  if (last?.role === 'assistant' && last.tool_calls) last.tool_calls.push(toolCall);
  else messages.push({ role: 'assistant', content: null, tool_calls: [toolCall] });
}

const isText = (v: unknown): v is string => typeof v === 'string';

/** `input` as chat messages, or the 400 naming the item at fault. */
function inputMessages(input: unknown): Turn[] | LlmuxError {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const messages: Turn[] = [];
  for (const [i, raw] of (input as unknown[]).entries()) {
    const at = `input.${i}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return invalidRequest(at, `'${at}' must be a message item`);
    const item = raw as Record<string, unknown>;
    if (item.type !== undefined && !itemTypes.has(item.type as string)) {
      return invalidRequest(`${at}.type`, `'${at}.type' ${JSON.stringify(item.type)} is not supported; items are ${[...itemTypes].join(', ')}`);
    }
    if (item.type === 'function_call') {
      for (const field of ['call_id', 'name', 'arguments']) {
        if (!isText(item[field]) || item[field] === '') return invalidRequest(`${at}.${field}`, `'${at}.${field}' must be a non-empty string`);
      }
      addCall(messages, { id: item.call_id as string, name: item.name as string, arguments: item.arguments as string });
      continue;
    }
    if (item.type === 'function_call_output') {
      if (!isText(item.call_id) || item.call_id === '') return invalidRequest(`${at}.call_id`, `'${at}.call_id' must be a non-empty string`);
      if (!isText(item.output)) return invalidRequest(`${at}.output`, `'${at}.output' must be a string`);
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: item.output });
      continue;
    }
    if (typeof item.role !== 'string' || !roles.has(item.role)) return invalidRequest(`${at}.role`, `'${at}.role' must be one of ${[...roles].join(', ')}`);
    if (typeof item.content === 'string') {
      messages.push({ role: item.role, content: item.content });
      continue;
    }
    if (!Array.isArray(item.content) || item.content.length === 0) {
      return invalidRequest(`${at}.content`, `'${at}.content' must be a string or a non-empty array of input_text parts`);
    }
    let text = '';
    for (const [j, part] of item.content.entries()) {
      const p = part as Record<string, unknown> | null;
      if (typeof p !== 'object' || p === null || !textTypes.has(p.type as string) || typeof p.text !== 'string') {
        return invalidRequest(`${at}.content.${j}`, `'${at}.content.${j}' must be an input_text part ({ type: 'input_text', text }); other content is not supported`);
      }
      text += p.text;
    }
    messages.push({ role: item.role, content: text });
  }
  return messages;
}

/** The conversation a stored response carries on: everything before it and its own answer. */
interface StoredResponse {
  tenant: string;
  keyId: string;
  response: Record<string, unknown>;
  conversation: Turn[];
}

const isStored = (v: unknown): v is StoredResponse =>
  typeof v === 'object' && v !== null && typeof (v as StoredResponse).tenant === 'string' && Array.isArray((v as StoredResponse).conversation);

const notFound = (id: string): LlmuxError =>
  new LlmuxError({ code: ErrorCode.notFound, retryable: false, message: `no response '${id}' (it may be past its retention window)` });

/** A stored response `caller` may see, or the one 404 for unknown and foreign ids alike. */
async function lookUp(id: string, caller: Caller, memory: AnswerMemory | undefined): Promise<StoredResponse | LlmuxError> {
  if (!isResponseId(id) || !memory) return notFound(id);
  const stored = await memory.get(id);
  return isStored(stored) && stored.tenant === caller.tenant ? stored : notFound(id);
}

/** What the answer echoes, per request (the engine never sees these fields). */
const echoes = new WeakMap<ValidatedRequest, ResponseEcho>();

const echoOf = (request: ValidatedRequest): ResponseEcho => {
  let echo = echoes.get(request);
  if (!echo) {
    const hex = randomBytes(16).toString('hex');
    echo = { id: `resp_${hex}`, itemId: `msg_${hex}`, instructions: null, maxOutputTokens: null, temperature: null, topP: null,
      previousResponseId: null, store: false, metadata: {}, tools: [], toolChoice: 'auto' };
    echoes.set(request, echo);
  }
  return echo;
};

/** The chat messages of a body before or after `open` (counting may see either). */
function messagesOf(body: Readonly<Record<string, unknown>>): Turn[] {
  if (Array.isArray(body.messages)) return body.messages as Turn[];
  const input = inputMessages(body.input);
  const instructions = typeof body.instructions === 'string' ? [{ role: 'system', content: body.instructions }] : [];
  return [...instructions, ...(input instanceof LlmuxError ? [] : input)];
}

type OutputItem = { type?: string; content?: Array<{ text?: string }>; call_id?: string; name?: string; arguments?: string };

/** A response's output as the turns a later request carries on from: its text, then its calls. */
function outputTurns(response: Record<string, unknown>): Turn[] {
  const output = (response.output as OutputItem[] | undefined) ?? [];
  const turns: Turn[] = [];
  const text = output.filter((item) => item.type === 'message').flatMap((item) => item.content ?? []).map((part) => part.text ?? '').join('');
  if (text !== '' || !output.some((item) => item.type === 'function_call')) turns.push({ role: 'assistant', content: text });
  for (const item of output) {
    if (item.type === 'function_call') addCall(turns, { id: item.call_id ?? '', name: item.name ?? '', arguments: item.arguments ?? '' });
  }
  return turns;
}

const stateful: StatefulOperation = {
  async open(request, caller, memory) {
    const { body } = request;
    const previousId = typeof body.previous_response_id === 'string' ? body.previous_response_id : undefined;
    let history: Turn[] = [];
    if (previousId) {
      const previous = await lookUp(previousId, caller, memory);
      if (previous instanceof LlmuxError) return new LlmuxError({ ...previous.toInfo(), param: 'previous_response_id' });
      history = previous.conversation;
    }
    const input = inputMessages(body.input);
    if (input instanceof LlmuxError) return input;
    const tools = (body.tools as Array<z.infer<typeof functionTool>> | null | undefined) ?? [];
    const choice = body.tool_choice as 'none' | 'auto' | 'required' | { name: string } | null | undefined;
    if (choice && choice !== 'none' && tools.length === 0) return invalidRequest('tool_choice', "'tool_choice' needs 'tools': there is no tool to choose");
    if (typeof choice === 'object' && choice !== null && !tools.some((t) => t.name === choice.name)) {
      return invalidRequest('tool_choice', `'tool_choice' names the function '${choice.name}', which is not in 'tools'`);
    }
    const echo = echoOf(request);
    Object.assign(echo, {
      instructions: typeof body.instructions === 'string' ? body.instructions : null,
      maxOutputTokens: typeof body.max_output_tokens === 'number' ? body.max_output_tokens : null,
      temperature: typeof body.temperature === 'number' ? body.temperature : null,
      topP: typeof body.top_p === 'number' ? body.top_p : null,
      previousResponseId: previousId ?? null,
      store: body.store !== false && memory !== undefined,
      metadata: (body.metadata as Record<string, string> | null | undefined) ?? {},
    });
    // The chat body the engine gets: OpenAI does not carry instructions over from a previous response.
    const conversation = [...history, ...input];
    request.body = {
      messages: [...(echo.instructions !== null ? [{ role: 'system', content: echo.instructions }] : []), ...conversation],
      ...(echo.maxOutputTokens !== null ? { max_tokens: echo.maxOutputTokens } : {}),
      ...(echo.temperature !== null ? { temperature: echo.temperature } : {}),
      ...(echo.topP !== null ? { top_p: echo.topP } : {}),
      ...(tools.length > 0 ? { tools: tools.map(({ type: _, ...fn }) => ({ type: 'function', function: fn })) } : {}),
      ...(choice ? { tool_choice: typeof choice === 'object' ? { type: 'function', function: { name: choice.name } } : choice } : {}),
      ...(typeof body.parallel_tool_calls === 'boolean' ? { parallel_tool_calls: body.parallel_tool_calls } : {}),
    };
    echo.tools = tools;
    echo.toolChoice = choice ?? 'auto';
    if (!echo.store || !memory) return undefined;
    return async (response) => {
      const stored: StoredResponse = { tenant: caller.tenant, keyId: caller.keyId, response, conversation: [...conversation, ...outputTurns(response)] };
      await memory.put(echo.id, stored);
    };
  },
  async stored(id, caller, memory) {
    const stored = await lookUp(id, caller, memory);
    return stored instanceof LlmuxError ? stored : stored.response;
  },
};

export const responses: OperationSpec = {
  name: 'responses',
  path: '/v1/responses',
  idPrefix: 'resp',
  promptField: 'input',
  schema: responsesBodySchema,
  prepare(body) {
    const unknown = Object.keys(body).find((k) => !knownFields.has(k));
    if (unknown !== undefined) return invalidRequest(unknown, `'${unknown}' is not supported on /v1/responses`);
    const input = inputMessages(body.input);
    return input instanceof LlmuxError ? input : body;
  },
  // A chat body (open() made it one): engines with the Responses API get it natively, the others as chat.
  work: { kind: 'generate', operation: 'responses' },
  // Once open() made it a chat body, it counts as chat does (tool definitions and calls included).
  countPrompt: (tokens, tokenizer, body) => chat.countPrompt(tokens, tokenizer, Array.isArray(body.messages) ? body : { messages: messagesOf(body) }),
  promptText: (body) => messagesOf(body).map((m) => `${m.role}\n${contentText(m.content)}\n`).join(''),
  affinityText: (body) => messagesOf(body).slice(0, 2).map((m) => `${m.role}\n${contentText(m.content)}\n`).join(''),
  maxTokens: (body) => maxTokensOf(body) ?? (typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined),
  answer: (request) => new ResponseAnswer(echoOf(request)),
  openStream: (request) => new ResponseStream(echoOf(request)),
  stateful,
};
