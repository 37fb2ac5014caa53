/**
 * SGLang's native `POST /generate`: the prompt as text (chats rendered by the model's template),
 * `sampling_params`, and streamed events whose `text` is CUMULATIVE (diffed here) with counts in
 * `meta_info`; `data: [DONE]` ends the stream.
 */
import type { EngineAdapter, EngineAdapterOptions, EngineEvent, EngineRequest } from './adapter.js';
import { engineReportedError, errorFields } from './engine-errors.js';
import { usageFrom } from './engine-values.js';
import { continueFinalMessage } from './continuation.js';
import { kvEventSettings, kvEventSource } from './kv-event-source.js';
import { checkSettings, createHttpAdapter } from './http-adapter.js';
import { bearerAuth, ChoiceDeltas, defined, maxTokensOf, promptText, responseSchema, stopList } from './native-request.js';
import { readLoad } from './prometheus-text.js';
import { parseJsonRecord, readRecords } from './record-stream.js';
import { sglangLoadMetrics } from './sglang.js';

type Json = Record<string, unknown>;

function finishOf(meta: Json | undefined): string | undefined {
  const type = (meta?.finish_reason as { type?: unknown } | null | undefined)?.type;
  if (type === 'length') return 'length';
  if (type === 'stop') return 'stop';
  return typeof type === 'string' ? type : undefined;
}

function jsonSchemaText(request: EngineRequest): string | undefined {
  const schema = responseSchema(request);
  return schema ? JSON.stringify(schema) : undefined;
}

export function createSglangGenerateAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('sglang-generate', options.settings, kvEventSettings);
  const kind = 'sglang-generate';
  const kvEvents = kvEventSource(kind, options.settings);
  const adapter = createHttpAdapter({
    kind,
    options,
    headers: bearerAuth(options.apiKey),
    continuation: continueFinalMessage,
    healthPath: '/health',
    // JSON mode and schemas become `sampling_params.json_schema`; /generate has no tools and no seed.
    features: ['response_format'],
    call: (request) => ({
      path: '/generate',
      accept: 'text/event-stream',
      body: {
        text: promptText(request, options.chatPrompt),
        sampling_params: defined({
          max_new_tokens: maxTokensOf(request), temperature: request.body.temperature, top_p: request.body.top_p, stop: stopList(request),
          json_schema: jsonSchemaText(request),
        }),
        stream: true,
      },
    }),
    read(request, body) {
      let sent = '';
      const deltas = new ChoiceDeltas(request.operation === 'chat');
      return readRecords(kind, 'sse', body, {
        decode(record, out: EngineEvent[]) {
          if (record.data === '[DONE]') return true;
          const json = parseJsonRecord(kind, record.data);
          const error = errorFields(json);
          if (error) throw engineReportedError(kind, error.message);
          const text = typeof json.text === 'string' ? json.text : '';
          // Cumulative text: the new part is what follows what was already sent (by UTF-16 units; a
          // whole-character prefix, since the engine decodes before sending).
          const piece = text.startsWith(sent) ? text.slice(sent.length) : text;
          sent = text;
          const meta = json.meta_info as Json | undefined;
          const finishReason = finishOf(meta);
          deltas.push(out, piece, finishReason);
          if (finishReason !== undefined && meta) {
            out.push({ type: 'usage', usage: usageFrom({ promptTokens: meta.prompt_tokens, completionTokens: meta.completion_tokens, cachedTokens: meta.cached_tokens }) });
          }
          return false;
        },
      });
    },
    metrics: { path: '/metrics', read: (text) => readLoad(text, sglangLoadMetrics) },
  });
  return kvEvents ? { ...adapter, kvEvents } : adapter;
}
