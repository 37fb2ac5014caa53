/**
 * Anthropic's Messages API: `POST /v1/messages` with `x-api-key` and `anthropic-version`; streams
 * typed events (`event: <type>` lines) from message_start to message_stop; errors are
 * `{"type":"error","error":{"type","message"}}`, as a body or as an `error` event.
 */
import type { Dialect } from '../dialect.js';
import type { FinishReason, Generation, SimUsage } from '../wire.js';
import { isObject, positiveInteger, SimBadRequest } from '../sim-request.js';
import { plannedToolCalls, type SimToolCall, type SimToolChoice } from '../tool-calls.js';
import { messagesPrompt, nativeRequest, optionalBoolean } from './native-request.js';
import type { Body, SimFormat } from './sim-format.js';

const ev = (type: string, body: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;
const stopReason = (finish: FinishReason): string => (finish === 'length' ? 'max_tokens' : 'end_turn');
const msgId = (g: Generation): string => `msg_${g.id.slice(-24)}`;
const error = (type: string, message: string): Record<string, unknown> => ({ type: 'error', error: { type, message } });

const anthropicDialect: Dialect = {
  streamType: 'text/event-stream; charset=utf-8',
  head: (g, promptTokens) =>
    ev('message_start', { message: { id: msgId(g), type: 'message', role: 'assistant', content: [], model: g.model, stop_reason: null, stop_sequence: null,
      usage: { input_tokens: promptTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } } }) +
    // An answer of tool calls has only tool_use blocks.
    (g.tools ? '' : ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })) +
    ev('ping', {}),
  token: (_g, text) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
  tail: (_g, finish, usage: SimUsage) =>
    ev('content_block_stop', { index: 0 }) +
    ev('message_delta', { delta: { stop_reason: stopReason(finish), stop_sequence: null }, usage: { output_tokens: usage.completion_tokens } }) +
    ev('message_stop', {}),
  whole: (g, text, finish, usage) => ({
    id: msgId(g), type: 'message', role: 'assistant', model: g.model, content: [{ type: 'text', text }],
    stop_reason: stopReason(finish), stop_sequence: null, usage: { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens },
  }),
  failure: (message) => ({ status: 500, body: error('api_error', message) }),
  badRequest: (message) => ({ status: 400, body: error('invalid_request_error', message) }),
  streamError: (message) => `event: error\ndata: ${JSON.stringify(error('overloaded_error', message))}\n\n`,
  tools: {
    // Per call a tool_use block: its start (id, name, empty input), the input as input_json_delta pieces, its stop.
    events: (_g, calls) => calls.flatMap((call, index) => {
      const pieces = call.pieces.map((partial) => ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: partial } }));
      pieces[pieces.length - 1] += ev('content_block_stop', { index });
      return [ev('content_block_start', { index, content_block: { type: 'tool_use', id: toolUseId(call), name: call.name, input: {} } }), ...pieces];
    }),
    tail: (_g, usage) =>
      ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: usage.completion_tokens } }) + ev('message_stop', {}),
    whole: (g, calls, usage) => ({
      id: msgId(g), type: 'message', role: 'assistant', model: g.model,
      content: calls.map((call) => ({ type: 'tool_use', id: toolUseId(call), name: call.name, input: JSON.parse(call.arguments) as unknown })),
      stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens },
    }),
  },
};

function toolUseId(call: SimToolCall): string {
  return `toolu_${call.idSuffix}`;
}

/** Anthropic's `tools` (`[{name, input_schema}]`) and `tool_choice` (`{type: auto | any | tool | none, name}`). */
function toolsOf(body: Body): { names: string[]; choice: SimToolChoice } {
  const names = Array.isArray(body.tools) ? body.tools.flatMap((t: unknown) => (isObject(t) && typeof t.name === 'string' ? [t.name] : [])) : [];
  const c = isObject(body.tool_choice) ? body.tool_choice : {};
  const choice: SimToolChoice = c.type === 'none' ? 'none' : c.type === 'any' ? 'required' : c.type === 'tool' && typeof c.name === 'string' ? { name: c.name } : 'auto';
  return { names, choice };
}

function parse(body: Body) {
  const maxTokens = positiveInteger(body, 'max_tokens');
  if (maxTokens === undefined) throw new SimBadRequest('max_tokens: Field required', 'max_tokens');
  const prompt = messagesPrompt(body, 'none', body.system);
  const tools = toolsOf(body);
  return nativeRequest({
    operation: 'chat', model: typeof body.model === 'string' ? body.model : undefined, prompt,
    maxTokens, stream: optionalBoolean(body, 'stream', false), toolCalls: plannedToolCalls(prompt.text, tools.names, tools.choice),
  });
}

export const anthropic: SimFormat = {
  name: 'anthropic',
  routes: [
    { method: 'POST', path: '/v1/messages', generate: { dialect: anthropicDialect, parse } },
    { method: 'GET', path: '/v1/models', respond: (env) => ({ status: 200, body: { data: env.models.map((id) => ({ type: 'model', id, display_name: id })), has_more: false } }) },
  ],
  notFound: { status: 404, body: error('not_found_error', 'Not found') },
  check(headers, _query, apiKey) {
    if (apiKey !== undefined && headers['x-api-key'] !== apiKey) return { status: 401, body: error('authentication_error', 'invalid x-api-key') };
    if (!headers['anthropic-version']) return { status: 400, body: error('invalid_request_error', 'anthropic-version: header is required') };
    return undefined;
  },
  errors: anthropicDialect,
};
