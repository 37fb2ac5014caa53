/**
 * Ollama: `POST /api/chat` (messages) and `/api/generate` (prompt), answering NDJSON lines; the
 * last line has `done: true`, `done_reason` and the counts (`prompt_eval_count`, `eval_count`).
 * Errors are `{"error": "..."}`, as a body or as a line mid-stream. Tools go as OpenAI's `tools`;
 * calls come whole in `message.tool_calls` with arguments as objects (turned into JSON text), and
 * JSON mode or a schema is `format`. Ollama continues a trailing
 * assistant message of a chat; `/api/generate` wraps its prompt in the model's template, so a
 * completion cannot be continued. Embeddings: `POST /api/embed` with `{model, input}` (texts only)
 * answering `{embeddings: [[...]], prompt_eval_count}`.
 */
import { randomBytes } from 'node:crypto';
import type { EngineAdapter, EngineAdapterOptions, EngineEvent, EngineRequest, ToolCallDelta } from './adapter.js';
import { unsupported } from './capabilities.js';
import { checkedVectors, withUsage } from './embeddings-body.js';
import { engineReportedError } from './engine-errors.js';
import { usageFrom } from './engine-values.js';
import { checkSettings, createHttpAdapter } from './http-adapter.js';
import { bearerAuth, ChoiceDeltas, defined, maxTokensOf, responseSchema, stopList } from './native-request.js';
import { parseJsonRecord, readRecords } from './record-stream.js';

type Json = Record<string, unknown>;

const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** OpenAI messages as Ollama takes them: an assistant's tool-call arguments are objects, not JSON text. */
function ollamaMessages(messages: unknown): unknown {
  if (!Array.isArray(messages)) return messages;
  return messages.map((m: unknown) => {
    if (!isJson(m) || !Array.isArray(m.tool_calls)) return m;
    const calls = m.tool_calls.map((c: unknown) => {
      const fn = isJson(c) && isJson(c.function) ? c.function : undefined;
      if (!fn || typeof fn.arguments !== 'string') return c;
      let args: unknown = {};
      try {
        args = JSON.parse(fn.arguments);
      } catch { /* a client's malformed arguments: sent as none */ }
      return { ...(c as Json), function: { ...fn, arguments: isJson(args) ? args : {} } };
    });
    return { ...m, tool_calls: calls };
  });
}

/** The chat fields for tools (Ollama has no tool_choice: `none` sends no tools) and JSON output (`format`). */
function chatExtras(request: EngineRequest): Json {
  const { tools, tool_choice: choice } = request.body;
  const schema = responseSchema(request);
  const format = (request.body.response_format as { type?: unknown } | undefined)?.type === 'json_object' ? 'json' : schema;
  return defined({ tools: Array.isArray(tools) && tools.length > 0 && choice !== 'none' ? tools : undefined, format });
}

/**
 * Ollama's `message.tool_calls` (whole calls, arguments an object) as tool-call deltas numbered on
 * from `first`; a call without an id gets one, as clients send it back with the tool's result.
 */
function toolCallsOf(value: unknown, first: number): ToolCallDelta[] {
  if (!Array.isArray(value)) return [];
  const calls: ToolCallDelta[] = [];
  for (const c of value) {
    const fn = isJson(c) && isJson(c.function) ? c.function : undefined;
    if (!fn || typeof fn.name !== 'string') continue;
    const id = isJson(c) && typeof c.id === 'string' && c.id !== '' ? c.id : `call_${randomBytes(12).toString('hex')}`;
    const args = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(isJson(fn.arguments) ? fn.arguments : {});
    calls.push({ index: first + calls.length, id, type: 'function', function: { name: fn.name, arguments: args } });
  }
  return calls;
}

export function createOllamaAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('ollama', options.settings, []);
  const kind = 'ollama';
  return createHttpAdapter({
    kind,
    options,
    headers: bearerAuth(options.apiKey),
    continuation: { chat: 'trailing-assistant', completion: false },
    healthPath: '/api/version',
    // Tools, `format` and `options.seed`; no tool_choice, so a forced choice cannot be honoured.
    features: ['tools', 'response_format', 'seed'],
    call: (request) => {
      const chat = request.operation === 'chat';
      const opts = defined({
        num_predict: maxTokensOf(request), temperature: request.body.temperature, top_p: request.body.top_p,
        seed: request.body.seed, stop: stopList(request),
      });
      return {
        path: chat ? '/api/chat' : '/api/generate',
        accept: 'application/x-ndjson',
        body: {
          model: request.model,
          ...(chat ? { messages: ollamaMessages(request.body.messages), ...chatExtras(request) } : { prompt: request.body.prompt, ...defined({ format: chatExtras(request).format }) }),
          stream: true, options: opts,
        },
      };
    },
    embeddings: {
      call(request) {
        if (request.input.some((i) => typeof i !== 'string')) throw unsupported(kind, 'embeddings of token ids (only texts)');
        const { truncate, keep_alive: keepAlive, options: opts } = request.body;
        return {
          path: '/api/embed',
          accept: 'application/json',
          body: { model: request.model, input: request.input, ...defined({ dimensions: request.dimensions, truncate, keep_alive: keepAlive, options: opts }) },
        };
      },
      read(request, text) {
        const json = parseJsonRecord(kind, text);
        if (typeof json.error === 'string') throw engineReportedError(kind, json.error);
        return withUsage({ vectors: checkedVectors(kind, request, json.embeddings) }, usageFrom({ promptTokens: json.prompt_eval_count }));
      },
    },
    read(request, body) {
      const deltas = new ChoiceDeltas(request.operation === 'chat');
      let calls = 0;
      return readRecords(kind, 'ndjson', body, {
        decode(record, out: EngineEvent[]) {
          const json = parseJsonRecord(kind, record.data);
          if (typeof json.error === 'string') throw engineReportedError(kind, json.error);
          const message = json.message as Json | undefined;
          const text = typeof message?.content === 'string' ? message.content : typeof json.response === 'string' ? json.response : '';
          const done = json.done === true;
          const toolCalls = toolCallsOf(message?.tool_calls, calls);
          calls += toolCalls.length;
          // Ollama ends an answer of tool calls with `stop`; OpenAI clients look for `tool_calls`.
          const finish = done ? (json.done_reason === 'length' ? 'length' : calls > 0 ? 'tool_calls' : 'stop') : undefined;
          if (toolCalls.length === 0) deltas.push(out, text, finish);
          else {
            deltas.push(out, text);
            out.push({ type: 'delta', delta: { index: 0, toolCalls } });
            if (finish) deltas.push(out, '', finish);
          }
          if (done) {
            out.push({ type: 'usage', usage: usageFrom({ promptTokens: json.prompt_eval_count, completionTokens: json.eval_count }) });
          }
          return done;
        },
      });
    },
  });
}
