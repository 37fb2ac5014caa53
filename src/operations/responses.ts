/**
 * `POST /v1/responses` (OpenAI's Responses API), served as a chat completion on every engine: the
 * instructions, the stored conversation `previous_response_id` names and the `input` items become
 * chat messages; the chat deltas come back as a `response` object or its typed events
 * (responses-render.ts). With `store` (the default, as OpenAI) the answer is kept for an hour in
 * the gateway's answer memory, for `GET /v1/responses/{id}` and for a later `previous_response_id`;
 * only the tenant that made it can see it.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ChatMessage } from '../engine-adapters/adapter.js';
import { ErrorCode, invalidRequest, LlmuxError } from '../errors.js';
import { contentText } from '../tokenize/chat-template.js';
import { maxTokensOf, positiveInt } from './generation.js';
import type { AnswerMemory, Caller, OperationSpec, StatefulOperation, ValidatedRequest } from './operation.js';
import { ResponseAnswer, type ResponseEcho, ResponseStream } from './responses-render.js';

/** Response ids are ours (random, never the client's request id) and safe as KV keys. */
const responseIdPattern = /^resp_[0-9a-f]{32}$/;
export const isResponseId = (id: string): boolean => responseIdPattern.test(id);

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
  tools: z.array(z.unknown()).max(0, 'tools are not supported on /v1/responses yet').nullish(),
  tool_choice: z.literal('none').nullish(),
  background: z.literal(false, 'background responses are not supported').nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  truncation: z.literal('disabled', "only 'disabled' truncation is supported").nullish(),
  text: z.strictObject({ format: z.strictObject({ type: z.literal('text', 'only text output is supported') }).optional() }).nullish(),
});

/** Fields llmux reads; any other is a 400 rather than silently dropped (the body is translated, not forwarded). */
const knownFields = new Set(Object.keys(responsesBodySchema.shape));

const roles = new Set(['user', 'assistant', 'system', 'developer']);
const textTypes = new Set(['input_text', 'output_text']);

/** `input` as chat messages, or the 400 naming the item at fault. */
function inputMessages(input: unknown): ChatMessage[] | LlmuxError {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const messages: ChatMessage[] = [];
  for (const [i, raw] of (input as unknown[]).entries()) {
    const at = `input.${i}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return invalidRequest(at, `'${at}' must be a message item`);
    const item = raw as Record<string, unknown>;
    if (item.type !== undefined && item.type !== 'message') {
      return invalidRequest(`${at}.type`, `'${at}.type' ${JSON.stringify(item.type)} is not supported; only message items are`);
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
  conversation: ChatMessage[];
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
      previousResponseId: null, store: false, metadata: {} };
    echoes.set(request, echo);
  }
  return echo;
};

/** The chat messages of a body before or after `open` (counting may see either). */
function messagesOf(body: Readonly<Record<string, unknown>>): ChatMessage[] {
  if (Array.isArray(body.messages)) return body.messages as ChatMessage[];
  const input = inputMessages(body.input);
  const instructions = typeof body.instructions === 'string' ? [{ role: 'system', content: body.instructions }] : [];
  return [...instructions, ...(input instanceof LlmuxError ? [] : input)];
}

const stateful: StatefulOperation = {
  async open(request, caller, memory) {
    const { body } = request;
    const previousId = typeof body.previous_response_id === 'string' ? body.previous_response_id : undefined;
    let history: ChatMessage[] = [];
    if (previousId) {
      const previous = await lookUp(previousId, caller, memory);
      if (previous instanceof LlmuxError) return new LlmuxError({ ...previous.toInfo(), param: 'previous_response_id' });
      history = previous.conversation;
    }
    const input = inputMessages(body.input);
    if (input instanceof LlmuxError) return input;
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
    };
    if (!echo.store || !memory) return undefined;
    return async (response) => {
      const output = (response.output as Array<{ content?: Array<{ text?: string }> }> | undefined) ?? [];
      const text = output.flatMap((item) => item.content ?? []).map((part) => part.text ?? '').join('');
      const stored: StoredResponse = { tenant: caller.tenant, keyId: caller.keyId, response, conversation: [...conversation, { role: 'assistant', content: text }] };
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
  work: { kind: 'generate', operation: 'chat' },
  async countPrompt(tokens, tokenizer, body) {
    const total = await tokens.countChat(tokenizer, messagesOf(body));
    return { total, longest: total, answers: 1 };
  },
  promptText: (body) => messagesOf(body).map((m) => `${m.role}\n${contentText(m.content)}\n`).join(''),
  affinityText: (body) => messagesOf(body).slice(0, 2).map((m) => `${m.role}\n${contentText(m.content)}\n`).join(''),
  maxTokens: (body) => maxTokensOf(body) ?? (typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined),
  answer: (request) => new ResponseAnswer(echoOf(request)),
  openStream: (request) => new ResponseStream(echoOf(request)),
  stateful,
};
