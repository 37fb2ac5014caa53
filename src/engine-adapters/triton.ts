/**
 * Triton Inference Server with the TensorRT-LLM backend: `POST /v2/models/{model}/generate_stream`
 * with `text_input`; events carry `text_output` deltas and the stream simply ends. No counts and no
 * finish reason: the worker counts the tokens, and the finish reason is inferred — `length` when as
 * many events as max_tokens came (streaming sends one per token), `stop` otherwise. An `{"error"}`
 * event may come after the 200. The end of the body is the end of the answer, so a cut is only
 * seen when the transport breaks (an unterminated chunked body).
 */
import type { EngineAdapter, EngineAdapterOptions, EngineEvent } from './adapter.js';
import { engineReportedError } from './engine-errors.js';
import { continueFinalMessage } from './continuation.js';
import { checkSettings, createHttpAdapter } from './http-adapter.js';
import { bearerAuth, ChoiceDeltas, defined, maxTokensOf, promptText, stopList } from './native-request.js';
import { parseJsonRecord, readRecords } from './record-stream.js';

export function createTritonAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('triton', options.settings, []);
  const kind = 'triton';
  return createHttpAdapter({
    kind,
    options,
    headers: bearerAuth(options.apiKey),
    continuation: continueFinalMessage,
    healthPath: '/v2/health/ready',
    // generate_stream takes text and sampling fields only: no tools, no JSON grammar, no seed.
    features: [],
    call: (request) => ({
      path: `/v2/models/${encodeURIComponent(request.model)}/generate_stream`,
      accept: 'text/event-stream',
      body: defined({
        text_input: promptText(request, options.chatPrompt), max_tokens: maxTokensOf(request), temperature: request.body.temperature,
        top_p: request.body.top_p, stop_words: stopList(request), stream: true,
      }),
    }),
    read(request, body) {
      const deltas = new ChoiceDeltas(request.operation === 'chat');
      let produced = 0;
      const max = maxTokensOf(request);
      return readRecords(kind, 'sse', body, {
        endsWithBody: true,
        decode(record, out: EngineEvent[]) {
          const json = parseJsonRecord(kind, record.data);
          if (typeof json.error === 'string') throw engineReportedError(kind, json.error);
          const text = typeof json.text_output === 'string' ? json.text_output : '';
          deltas.push(out, text);
          if (text !== '') produced++;
          return false;
        },
        // One event per generated token: reaching max_tokens events means the limit ended the answer.
        finish: (out) => out.push({ type: 'delta', delta: { index: 0, finishReason: max !== undefined && produced >= max ? 'length' : 'stop' } }),
      });
    },
  });
}
