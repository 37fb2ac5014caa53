/**
 * `POST /v1/responses` as vLLM serves it (vllm/entrypoints/openai/serving_responses.py): the
 * request's input items and instructions become the chat the simulator generates for, and the
 * answer is a `response` object or the typed event stream: `response.created`, `in_progress`, an
 * output item with its content part, `response.output_text.delta` per token, the `done` events,
 * then `response.completed` (or `response.incomplete` at max_output_tokens) with the usage. Each
 * event is `event: <type>` plus its JSON, numbered by `sequence_number`. Function calls are output
 * items of type `function_call` with `response.function_call_arguments.delta` events.
 */
import { randomBytes } from 'node:crypto';
import { type Dialect } from '../dialect.js';
import type { SimToolCall } from '../tool-calls.js';
import type { FinishReason, Generation, SimUsage } from '../wire.js';
import { openAiDialect } from './openai-dialect.js';
import type { Body } from './sim-format.js';

type Item = Record<string, unknown>;

const partText = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (typeof p === 'object' && p !== null && typeof (p as Item).text === 'string' ? (p as Item).text as string : '')).join('');
};

/** The Responses request as the chat body the simulator parses (what vLLM's harmony-less path does: input items to chat messages). */
export function responsesToChat(body: Body): Body {
  const messages: Item[] = [];
  if (typeof body.instructions === 'string') messages.push({ role: 'system', content: body.instructions });
  const input = body.input;
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  for (const item of Array.isArray(input) ? input as Item[] : []) {
    if (typeof item !== 'object' || item === null) continue;
    if (item.type === 'function_call') {
      messages.push({ role: 'assistant', content: null, tool_calls: [{ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } }] });
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: partText(item.output) });
    } else {
      messages.push({ role: item.role ?? 'user', content: partText(item.content) });
    }
  }
  const tools = Array.isArray(body.tools)
    ? (body.tools as Item[]).map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }))
    : undefined;
  const choice = typeof body.tool_choice === 'object' && body.tool_choice !== null
    ? { type: 'function', function: { name: (body.tool_choice as Item).name } } : body.tool_choice;
  return {
    model: body.model, messages, stream: body.stream === true, ...(body.stream === true ? { stream_options: { include_usage: true } } : {}),
    ...(typeof body.max_output_tokens === 'number' ? { max_tokens: body.max_output_tokens } : {}),
    ...(typeof body.temperature === 'number' ? { temperature: body.temperature } : {}),
    ...(tools ? { tools } : {}), ...(choice !== undefined ? { tool_choice: choice } : {}),
  };
}

interface Answer {
  seq: number;
  itemId: string;
  /** A tool-call answer's calls, for the completed response. */
  calls: readonly SimToolCall[];
}

const answers = new WeakMap<Generation, Answer>();

const stateOf = (g: Generation): Answer => {
  let a = answers.get(g);
  if (!a) {
    a = { seq: 0, itemId: `msg_${randomBytes(16).toString('hex')}`, calls: [] };
    answers.set(g, a);
  }
  return a;
};

const emit = (g: Generation, type: string, fields: Item): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: stateOf(g).seq++, ...fields })}\n\n`;

const responseId = (g: Generation): string => `resp_${g.id.slice(g.id.indexOf('-') + 1)}`;

const usageOf = (u: SimUsage): Item => ({
  input_tokens: u.prompt_tokens, input_tokens_details: { cached_tokens: 0 },
  output_tokens: u.completion_tokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u.total_tokens,
});

const messageItem = (g: Generation, text: string, status: string): Item => ({
  id: stateOf(g).itemId, type: 'message', role: 'assistant', status, content: [{ type: 'output_text', text, annotations: [], logprobs: null }],
});

const callItem = (call: SimToolCall, status: string): Item => ({
  id: `fc_${call.idSuffix}`, type: 'function_call', call_id: `call_${call.idSuffix}`, name: call.name, arguments: call.arguments, status,
});

function response(g: Generation, status: string, output: Item[], usage: SimUsage | null, finish?: FinishReason): Item {
  return {
    id: responseId(g), object: 'response', created_at: g.created, model: g.model, status, output,
    incomplete_details: finish === 'length' ? { reason: 'max_output_tokens' } : null,
    parallel_tool_calls: true, tool_choice: 'auto', tools: [], store: false, usage: usage ? usageOf(usage) : null,
  };
}

const ended = (finish: FinishReason): string => (finish === 'length' ? 'incomplete' : 'completed');

/** vLLM's Responses dialect; errors as its OpenAI server writes them. */
export function responsesDialect(): Dialect {
  const errors = openAiDialect();
  const opening = (g: Generation): string =>
    emit(g, 'response.created', { response: response(g, 'in_progress', [], null) })
    + emit(g, 'response.in_progress', { response: response(g, 'in_progress', [], null) });
  return {
    ...errors,
    head: (g) => {
      if (g.tools) return opening(g);
      const { itemId } = stateOf(g);
      return opening(g)
        + emit(g, 'response.output_item.added', { output_index: 0, item: { ...messageItem(g, '', 'in_progress'), content: [] } })
        + emit(g, 'response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    },
    token: (g, text) => emit(g, 'response.output_text.delta', { item_id: stateOf(g).itemId, output_index: 0, content_index: 0, delta: text, logprobs: [] }),
    tail: (g, finish, usage, fullText) => {
      const { itemId } = stateOf(g);
      const item = messageItem(g, fullText, 'completed');
      return emit(g, 'response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text: fullText, logprobs: [] })
        + emit(g, 'response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: (item.content as Item[])[0] })
        + emit(g, 'response.output_item.done', { output_index: 0, item })
        + emit(g, `response.${ended(finish)}`, { response: response(g, ended(finish), [item], usage, finish) });
    },
    whole: (g, text, finish, usage) => response(g, ended(finish), [messageItem(g, text, 'completed')], usage, finish),
    streamError: (message) => `event: error\ndata: ${JSON.stringify({ type: 'error', code: 'internal_error', message, param: null })}\n\n`,
    tools: {
      events: (g, calls) => {
        stateOf(g).calls = calls;
        return calls.flatMap((call, i) => [
          emit(g, 'response.output_item.added', { output_index: i, item: { ...callItem(call, 'in_progress'), arguments: '' } }),
          ...call.pieces.map((piece) => emit(g, 'response.function_call_arguments.delta', { item_id: `fc_${call.idSuffix}`, output_index: i, delta: piece })),
          emit(g, 'response.function_call_arguments.done', { item_id: `fc_${call.idSuffix}`, output_index: i, arguments: call.arguments }),
          emit(g, 'response.output_item.done', { output_index: i, item: callItem(call, 'completed') }),
        ]);
      },
      tail: (g, usage) => emit(g, 'response.completed', { response: response(g, 'completed', stateOf(g).calls.map((c) => callItem(c, 'completed')), usage) }),
      whole: (g, calls, usage) => response(g, 'completed', calls.map((c) => callItem(c, 'completed')), usage),
    },
  };
}
