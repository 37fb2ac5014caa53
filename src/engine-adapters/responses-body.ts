/**
 * The Responses API spoken natively, for engines that serve `POST /v1/responses` (vLLM, OpenAI).
 * The gateway hands a Responses request to workers as a chat body (operations/responses.ts: the
 * stored conversation of `previous_response_id` already joined in), so the engine gets that chat
 * back as Responses input items. Its answer, the typed event stream or the whole `response`
 * object, comes back as the same normalized deltas and usage every engine yields, so the gateway
 * renders it as it renders a translated one. The engine stores nothing (`store: false`): llmux
 * keeps the answers itself.
 */
import type { ChatMessage, Delta, EngineEvent, EngineRequest, ToolCallDelta } from './adapter.js';
import { engineReportedError, errorFields } from './engine-errors.js';
import { countOf, usageFrom } from './engine-values.js';
import { isObject } from '../protocol/guards.js';
import { contentText } from '../tokenize/chat-template.js';
import { parseJsonRecord, readRecords } from './record-stream.js';

type Body = Readonly<Record<string, unknown>>;
type Turn = ChatMessage & { tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }>; tool_call_id?: string };

/** The chat messages as Responses input items: messages, function calls and their outputs. */
function inputItems(messages: readonly Turn[]): Array<Record<string, unknown>> {
  const items: Array<Record<string, unknown>> = [];
  for (const m of messages) {
    if (m.role === 'tool') {
      items.push({ type: 'function_call_output', call_id: m.tool_call_id ?? '', output: contentText(m.content) });
      continue;
    }
    const text = contentText(m.content);
    if (text !== '' || !m.tool_calls) items.push({ type: 'message', role: m.role, content: text });
    for (const call of m.tool_calls ?? []) {
      items.push({ type: 'function_call', call_id: call.id ?? '', name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' });
    }
  }
  return items;
}

/** Chat's nested function tools as Responses' flat ones. */
function flatTools(tools: unknown): Array<Record<string, unknown>> | undefined {
  if (!Array.isArray(tools)) return undefined;
  return tools.filter(isObject).map((t) => {
    const fn = isObject(t.function) ? t.function : {};
    return { type: 'function', name: fn.name, ...(fn.description !== undefined ? { description: fn.description } : {}),
      ...(fn.parameters !== undefined ? { parameters: fn.parameters } : {}), ...(fn.strict !== undefined ? { strict: fn.strict } : {}) };
  });
}

function toolChoice(choice: unknown): unknown {
  if (isObject(choice) && isObject(choice.function)) return { type: 'function', name: choice.function.name };
  return choice;
}

/** The request the engine's `/v1/responses` gets. */
export function responsesBody(request: EngineRequest): Record<string, unknown> {
  const b: Body = request.body;
  const maxTokens = b.max_completion_tokens ?? b.max_tokens;
  const tools = flatTools(b.tools);
  return {
    model: request.model,
    input: inputItems((b.messages as readonly Turn[] | undefined) ?? []),
    stream: request.stream,
    store: false,
    ...(typeof maxTokens === 'number' ? { max_output_tokens: maxTokens } : {}),
    ...(typeof b.temperature === 'number' ? { temperature: b.temperature } : {}),
    ...(typeof b.top_p === 'number' ? { top_p: b.top_p } : {}),
    ...(tools && tools.length > 0 ? { tools } : {}),
    ...(b.tool_choice !== undefined ? { tool_choice: toolChoice(b.tool_choice) } : {}),
    ...(typeof b.parallel_tool_calls === 'boolean' ? { parallel_tool_calls: b.parallel_tool_calls } : {}),
  };
}

/** The chat finish reason of a finished response: its calls, its incomplete reason, or a stop. */
function finishOf(response: Record<string, unknown>, calls: number): string {
  if (calls > 0) return 'tool_calls';
  const reason = isObject(response.incomplete_details) ? response.incomplete_details.reason : undefined;
  return response.status === 'incomplete' && reason === 'max_output_tokens' ? 'length' : 'stop';
}

function usageOf(response: Record<string, unknown>): EngineEvent | undefined {
  const u = response.usage;
  if (!isObject(u)) return undefined;
  const cached = isObject(u.input_tokens_details) ? u.input_tokens_details.cached_tokens : undefined;
  return { type: 'usage', usage: usageFrom({ promptTokens: u.input_tokens, completionTokens: u.output_tokens, cachedTokens: cached }) };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The typed event stream: text and reasoning deltas, function calls (an `output_item.added` names
 * each, argument deltas follow by `output_index`), then `response.completed` or
 * `response.incomplete` with the usage; `response.failed` and `error` are the engine's errors.
 */
export function readResponsesStream(kind: string, body: AsyncIterable<Uint8Array>): AsyncGenerator<EngineEvent[], void, undefined> {
  /** output_index → the chat tool call index of that function call item. */
  const calls = new Map<number, number>();
  let first = true;
  const delta = (d: Omit<Delta, 'index'>): EngineEvent => {
    const out: Delta = { index: 0, ...(first ? { role: 'assistant' } : {}), ...d };
    first = false;
    return { type: 'delta', delta: out };
  };
  return readRecords(kind, 'sse', body, {
    decode(record, out) {
      const json = parseJsonRecord(kind, record.data);
      const type = text(json.type) ?? record.event;
      switch (type) {
        case 'response.output_text.delta': {
          const t = text(json.delta);
          if (t) out.push(delta({ text: t }));
          return false;
        }
        case 'response.reasoning_text.delta': {
          const t = text(json.delta);
          if (t) out.push(delta({ reasoning: t }));
          return false;
        }
        case 'response.output_item.added': {
          const item = isObject(json.item) ? json.item : {};
          const at = countOf(json.output_index);
          if (item.type !== 'function_call' || at === undefined || calls.has(at)) return false;
          const index = calls.size;
          calls.set(at, index);
          const call: ToolCallDelta = { index, type: 'function', function: { name: text(item.name) ?? '', arguments: text(item.arguments) ?? '' } };
          const id = text(item.call_id);
          if (id) call.id = id;
          out.push(delta({ toolCalls: [call] }));
          return false;
        }
        case 'response.function_call_arguments.delta': {
          const at = countOf(json.output_index);
          const index = at === undefined ? undefined : calls.get(at);
          const t = text(json.delta);
          if (index !== undefined && t) out.push(delta({ toolCalls: [{ index, function: { arguments: t } }] }));
          return false;
        }
        case 'response.completed':
        case 'response.incomplete': {
          const response = isObject(json.response) ? json.response : {};
          out.push(delta({ finishReason: finishOf(response, calls.size) }));
          const usage = usageOf(response);
          if (usage) out.push(usage);
          return true;
        }
        case 'response.failed':
        case 'error': {
          const response = isObject(json.response) ? json.response : json;
          throw engineReportedError(kind, (isObject(response.error) ? errorFields({ error: response.error }) : errorFields(response))?.message ?? record.data);
        }
        default:
          return false; // created, in_progress, content_part.*, *.done: nothing new for the client
      }
    },
  });
}

/** The whole `response` object as one batch: its message text, reasoning and function calls, its usage. */
export async function readWholeResponse(kind: string, body: { text(): Promise<string> }): Promise<EngineEvent[]> {
  const json = parseJsonRecord(kind, await body.text());
  const error = isObject(json.error) ? errorFields({ error: json.error }) : undefined;
  if (error || json.status === 'failed') throw engineReportedError(kind, error?.message ?? 'the response failed');
  const output = Array.isArray(json.output) ? json.output.filter(isObject) : [];
  let content = '';
  let reasoning = '';
  const toolCalls: ToolCallDelta[] = [];
  for (const item of output) {
    if (item.type === 'message' && Array.isArray(item.content)) {
      for (const part of item.content) if (isObject(part) && part.type === 'output_text') content += text(part.text) ?? '';
    } else if (item.type === 'reasoning' && Array.isArray(item.content)) {
      for (const part of item.content) if (isObject(part)) reasoning += text(part.text) ?? '';
    } else if (item.type === 'function_call') {
      const call: ToolCallDelta = { index: toolCalls.length, type: 'function', function: { name: text(item.name) ?? '', arguments: text(item.arguments) ?? '' } };
      const id = text(item.call_id);
      if (id) call.id = id;
      toolCalls.push(call);
    }
  }
  const d: Delta = { index: 0, role: 'assistant', finishReason: finishOf(json, toolCalls.length) };
  if (content) d.text = content;
  if (reasoning) d.reasoning = reasoning;
  if (toolCalls.length > 0) d.toolCalls = toolCalls;
  const out: EngineEvent[] = [{ type: 'delta', delta: d }];
  const usage = usageOf(json);
  if (usage) out.push(usage);
  return out;
}
