/**
 * Ollama: `POST /api/chat` (messages) and `/api/generate` (prompt), answering NDJSON lines; the
 * last line has `done: true`, `done_reason` and the counts (`prompt_eval_count`, `eval_count`).
 * Errors are `{"error": "..."}`, as a body or as a line mid-stream. Ollama continues a trailing
 * assistant message of a chat; `/api/generate` wraps its prompt in the model's template, so a
 * completion cannot be continued. Embeddings: `POST /api/embed` with `{model, input}` (texts only)
 * answering `{embeddings: [[...]], prompt_eval_count}`.
 */
import type { EngineAdapter, EngineAdapterOptions, EngineEvent } from './adapter.js';
import { unsupported } from './capabilities.js';
import { checkedVectors, withUsage } from './embeddings-body.js';
import { engineReportedError } from './engine-errors.js';
import { usageFrom } from './engine-values.js';
import { checkSettings, createHttpAdapter } from './http-adapter.js';
import { bearerAuth, ChoiceDeltas, defined, maxTokensOf, stopList } from './native-request.js';
import { parseJsonRecord, readRecords } from './record-stream.js';

type Json = Record<string, unknown>;

export function createOllamaAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('ollama', options.settings, []);
  const kind = 'ollama';
  return createHttpAdapter({
    kind,
    options,
    headers: bearerAuth(options.apiKey),
    continuation: { chat: 'trailing-assistant', completion: false },
    healthPath: '/api/version',
    call: (request) => {
      const chat = request.operation === 'chat';
      const opts = defined({
        num_predict: maxTokensOf(request), temperature: request.body.temperature, top_p: request.body.top_p,
        seed: request.body.seed, stop: stopList(request),
      });
      return {
        path: chat ? '/api/chat' : '/api/generate',
        accept: 'application/x-ndjson',
        body: { model: request.model, ...(chat ? { messages: request.body.messages } : { prompt: request.body.prompt }), stream: true, options: opts },
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
      return readRecords(kind, 'ndjson', body, {
        decode(record, out: EngineEvent[]) {
          const json = parseJsonRecord(kind, record.data);
          if (typeof json.error === 'string') throw engineReportedError(kind, json.error);
          const message = json.message as Json | undefined;
          const text = typeof message?.content === 'string' ? message.content : typeof json.response === 'string' ? json.response : '';
          const done = json.done === true;
          const finish = done ? (json.done_reason === 'length' ? 'length' : 'stop') : undefined;
          deltas.push(out, text, finish);
          if (done) {
            out.push({ type: 'usage', usage: usageFrom({ promptTokens: json.prompt_eval_count, completionTokens: json.eval_count }) });
          }
          return done;
        },
      });
    },
  });
}
