/**
 * Anthropic's Messages API. Chat becomes messages: system messages go to the top-level `system`,
 * `max_tokens` is required (the client's, else 4096), `stop` becomes `stop_sequences`; a completions
 * prompt becomes one user message; OpenAI `tools`/`tool_choice` become Anthropic's, assistant tool calls
 * `tool_use` blocks and tool messages `tool_result` blocks. The stream's typed events are normalized:
 * text deltas, `tool_use` blocks as tool-call deltas (`input_json_delta` as arguments), the stop
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

interface OpenAiToolCall { id?: string; function?: { name?: string; arguments?: string } }
type ChatTurn = ChatMessage & { tool_calls?: OpenAiToolCall[]; tool_call_id?: string };

/** A call's arguments as the object Anthropic's `tool_use.input` is (a client's malformed JSON becomes `{}`). */
function inputOf(args: string | undefined): unknown {
  try {
    const input: unknown = JSON.parse(args ?? '{}');
    return typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {};
  } catch {
    return {};
  }
}

/**
 * OpenAI turns as Anthropic messages: an assistant's `tool_calls` become `tool_use` blocks after its
 * text, and `tool` messages become `tool_result` blocks of one user turn (consecutive ones together).
 */
function anthropicMessages(turns: readonly ChatTurn[]): Json[] {
  const out: Json[] = [];
  for (const m of turns) {
    if (m.role === 'tool') {
      const block = { type: 'tool_result', tool_use_id: m.tool_call_id ?? '', content: contentText(m.content) };
      const last = out.at(-1);
      if (last?.role === 'user' && Array.isArray(last.content) && (last.content as Json[]).every((b) => b.type === 'tool_result')) (last.content as Json[]).push(block);
      else out.push({ role: 'user', content: [block] });
    } else if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      const text = contentText(m.content);
      const uses = m.tool_calls.map((c) => ({ type: 'tool_use', id: c.id ?? '', name: c.function?.name ?? '', input: inputOf(c.function?.arguments) }));
      out.push({ role: 'assistant', content: [...(text ? [{ type: 'text', text }] : []), ...uses] });
    } else {
      out.push({ role: m.role, content: contentText(m.content) });
    }
  }
  return out;
}

interface OpenAiTool { function: { name: string; description?: string; parameters?: unknown } }

/** OpenAI's `tools` and `tool_choice` (validated at the gateway) as Anthropic's. */
function toolFields(body: Readonly<Json>): Json {
  const tools = body.tools as OpenAiTool[] | undefined;
  if (!Array.isArray(tools) || tools.length === 0) return {};
  const choice = body.tool_choice;
  const type = choice === 'none' ? 'none' : choice === 'required' ? 'any' : typeof choice === 'object' && choice !== null ? 'tool' : 'auto';
  const toolChoice: Json = { type };
  if (type === 'tool') toolChoice.name = (choice as { function: { name: string } }).function.name;
  if (body.parallel_tool_calls === false && type !== 'none') toolChoice.disable_parallel_tool_use = true;
  return {
    tools: tools.map((t) => ({ name: t.function.name, ...defined({ description: t.function.description }), input_schema: t.function.parameters ?? { type: 'object' } })),
    tool_choice: toolChoice,
  };
}

function messagesBody(request: EngineRequest): Json {
  if (request.operation === 'completion') return { messages: [{ role: 'user', content: promptText(request) }] };
  const all = request.body.messages as ChatTurn[];
  const system = all.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => contentText(m.content)).join('\n\n');
  const messages = anthropicMessages(all.filter((m) => m.role !== 'system' && m.role !== 'developer'));
  return { messages, ...(system ? { system } : {}), ...toolFields(request.body) };
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
    // Tools are translated (toolFields); Anthropic has no response_format and no seed.
    features: ['tools', 'forced-tool-choice'],
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
      // Content blocks are numbered across text and tool_use; OpenAI numbers the tool calls alone.
      const callOfBlock = new Map<unknown, number>();
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
            case 'content_block_start': {
              const block = json.content_block as Json | undefined;
              if (block?.type === 'tool_use' && typeof block.id === 'string' && typeof block.name === 'string') {
                const index = callOfBlock.size;
                callOfBlock.set(json.index, index);
                out.push({ type: 'delta', delta: { index: 0, toolCalls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] } });
              }
              return false;
            }
            case 'content_block_delta': {
              const delta = json.delta as Json | undefined;
              const call = callOfBlock.get(json.index);
              if (delta?.type === 'input_json_delta' && call !== undefined && typeof delta.partial_json === 'string' && delta.partial_json !== '') {
                out.push({ type: 'delta', delta: { index: 0, toolCalls: [{ index: call, function: { arguments: delta.partial_json } }] } });
              }
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
            default: // ping, content_block_stop
              return false;
          }
        },
      });
    },
  });
}
