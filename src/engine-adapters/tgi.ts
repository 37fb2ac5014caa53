/**
 * Hugging Face TGI's native `POST /generate_stream`: one event per token, the last carrying
 * `generated_text` and (asked for with `details: true`) the finish reason and generated token count;
 * no [DONE]. Errors are `{"error","error_type"}`: a 422 is the request's fault, as engineHttpError
 * reads any such 4xx. TGI reports no prompt count while streaming: the gateway's own count stands.
 */
import type { EngineAdapter, EngineAdapterOptions, EngineEvent, EngineRequest } from './adapter.js';
import { engineReportedError } from './engine-errors.js';
import { countOf } from './engine-values.js';
import { continueFinalMessage } from './continuation.js';
import { checkSettings, createHttpAdapter } from './http-adapter.js';
import { bearerAuth, ChoiceDeltas, defined, maxTokensOf, promptText, responseSchema, stopList } from './native-request.js';
import { parseJsonRecord, readRecords } from './record-stream.js';

type Json = Record<string, unknown>;
const finishReasons: Record<string, string> = { length: 'length', eos_token: 'stop', stop_sequence: 'stop' };

function jsonGrammar(request: EngineRequest): { type: 'json'; value: Record<string, unknown> } | undefined {
  const schema = responseSchema(request);
  return schema ? { type: 'json', value: schema } : undefined;
}

export function createTgiAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('tgi', options.settings, []);
  const kind = 'tgi';
  return createHttpAdapter({
    kind,
    options,
    headers: bearerAuth(options.apiKey),
    continuation: continueFinalMessage,
    healthPath: '/health',
    // JSON mode and schemas become TGI's JSON grammar; it has no tools on /generate_stream.
    features: ['response_format', 'seed'],
    call: (request) => ({
      path: '/generate_stream',
      accept: 'text/event-stream',
      body: {
        inputs: promptText(request, options.chatPrompt),
        parameters: defined({
          max_new_tokens: maxTokensOf(request), temperature: request.body.temperature, top_p: request.body.top_p,
          stop: stopList(request), seed: request.body.seed, details: true,
          grammar: jsonGrammar(request),
        }),
        stream: true,
      },
    }),
    read(request, body) {
      const deltas = new ChoiceDeltas(request.operation === 'chat');
      return readRecords(kind, 'sse', body, {
        decode(record, out: EngineEvent[]) {
          const json = parseJsonRecord(kind, record.data);
          if (typeof json.error === 'string') throw engineReportedError(kind, json.error);
          const token = json.token as Json | undefined;
          const text = token && token.special !== true && typeof token.text === 'string' ? token.text : '';
          const details = json.details as Json | null | undefined;
          const last = typeof json.generated_text === 'string';
          const reason = String(details?.finish_reason);
          const finish = last ? ((Object.hasOwn(finishReasons, reason) ? finishReasons[reason] : undefined) ?? 'stop') : undefined;
          deltas.push(out, text, finish);
          const generated = countOf(details?.generated_tokens);
          if (last && generated !== undefined) out.push({ type: 'usage', usage: { completionTokens: generated } });
          return last;
        },
      });
    },
  });
}
