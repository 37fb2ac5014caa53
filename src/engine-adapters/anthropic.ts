/**
 * Anthropic's Messages API. Chat becomes messages: system messages go to the top-level `system`,
 * `max_tokens` is required (the client's, else 4096), `stop` becomes `stop_sequences`; a completions
 * prompt becomes one user message. The stream's typed events are normalized: text deltas, the stop
 * reason (end_turn/stop_sequence → stop, max_tokens → length, tool_use → tool_calls), input tokens
 * from message_start and output tokens from message_delta; message_stop ends it.
 */
import { ErrorCode, LlmuxError } from '../errors.js';
import { contentText } from '../tokenize/chat-template.js';
import type { ChatMessage, EngineAdapter, EngineAdapterOptions, EngineEvent, EngineRequest } from './adapter.js';
import { clientSafe, EngineFailureDetail, engineReportedError } from './engine-errors.js';
import { countOf, usageFrom } from './engine-values.js';
import { checkSettings, createHttpAdapter } from './http-adapter.js';
import { defined, maxTokensOf, promptText, stopList } from './native-request.js';
import { parseJsonRecord, readRecords } from './record-stream.js';

type Json = Record<string, unknown>;
export const anthropicDefaultMaxTokens = 4096;
const stopReasons: Record<string, string> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls', refusal: 'content_filter' };
/**
 * Anthropic error types that say nothing against the request: another worker (or later) may succeed.
 * Over HTTP their statuses say the same (529, 500, 429, 504), so engineHttpError maps those alone.
 */
const retryableTypes = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error']);

function messagesBody(request: EngineRequest): Json {
  if (request.operation === 'completion') return { messages: [{ role: 'user', content: promptText(request) }] };
  const all = request.body.messages as ChatMessage[];
  const system = all.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => contentText(m.content)).join('\n\n');
  const messages = all.filter((m) => m.role !== 'system' && m.role !== 'developer').map((m) => ({ role: m.role, content: contentText(m.content) }));
  return { messages, ...(system ? { system } : {}) };
}

/** An error event inside a 200 stream: the engine's trouble when its type says so, else the request's fault. */
function anthropicStreamError(type: string, message: string): LlmuxError {
  if (retryableTypes.has(type)) return engineReportedError('anthropic', `${type}: ${message}`);
  return new LlmuxError({ code: ErrorCode.invalidRequest, message: clientSafe(message), retryable: false },
    { cause: new EngineFailureDetail('reported', `anthropic engine error (${type}): ${message.slice(0, 1000)}`) });
}

export function createAnthropicAdapter(options: EngineAdapterOptions): EngineAdapter {
  checkSettings('anthropic', options.settings, ['anthropic-version']);
  const kind = 'anthropic';
  const version = options.settings?.['anthropic-version'] ?? '2023-06-01';
  return createHttpAdapter({
    kind,
    options,
    headers: { 'anthropic-version': version, ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}) },
    healthPath: '/v1/models',
    call: (request) => ({
      path: '/v1/messages',
      accept: 'text/event-stream',
      body: {
        model: request.model,
        ...messagesBody(request),
        max_tokens: maxTokensOf(request) ?? anthropicDefaultMaxTokens,
        ...defined({ temperature: request.body.temperature, top_p: request.body.top_p, stop_sequences: stopList(request) }),
        stream: true,
      },
    }),
    read(request, body) {
      let first = request.operation === 'chat';
      return readRecords(kind, 'sse', body, {
        decode(record, out: EngineEvent[]) {
          const json = parseJsonRecord(kind, record.data);
          switch (json.type ?? record.event) {
            case 'message_start': {
              const usage = (json.message as Json | undefined)?.usage as Json | undefined;
              if (first) out.push({ type: 'delta', delta: { index: 0, role: 'assistant' } });
              first = false;
              const input = countOf(usage?.input_tokens);
              if (input !== undefined) {
                // Anthropic's input_tokens leave out cache reads and writes; OpenAI's prompt_tokens include them.
                const read = countOf(usage?.cache_read_input_tokens) ?? 0;
                const written = countOf(usage?.cache_creation_input_tokens) ?? 0;
                out.push({ type: 'usage', usage: usageFrom({ promptTokens: input + read + written, ...(read > 0 ? { cachedTokens: read } : {}) }) });
              }
              return false;
            }
            case 'content_block_delta': {
              const delta = json.delta as Json | undefined;
              if (delta?.type === 'text_delta' && typeof delta.text === 'string' && delta.text !== '') out.push({ type: 'delta', delta: { index: 0, text: delta.text } });
              if (delta?.type === 'thinking_delta' && typeof delta.thinking === 'string') out.push({ type: 'delta', delta: { index: 0, reasoning: delta.thinking } });
              return false;
            }
            case 'message_delta': {
              const reason = (json.delta as Json | undefined)?.stop_reason;
              if (typeof reason === 'string') out.push({ type: 'delta', delta: { index: 0, finishReason: (Object.hasOwn(stopReasons, reason) ? stopReasons[reason] : undefined) ?? 'stop' } });
              const output = countOf((json.usage as Json | undefined)?.output_tokens);
              if (output !== undefined) out.push({ type: 'usage', usage: { completionTokens: output } });
              return false;
            }
            case 'message_stop':
              return true;
            case 'error': {
              const error = json.error as Json | undefined;
              throw anthropicStreamError(String(error?.type ?? 'api_error'), String(error?.message ?? record.data));
            }
            default: // ping, content_block_start, content_block_stop
              return false;
          }
        },
      });
    },
  });
}
