/**
 * The Responses API's answers: the `response` object, whole, and its typed stream of events
 * (`response.created` … `response.completed`, each numbered by `sequence_number`), built from the
 * chat deltas an engine sends. The output is an assistant message with one `output_text` part
 * (when there is text, or nothing else) and a `function_call` item per tool call, in the order
 * they began.
 */
import type { Delta, ToolCallDelta } from '../engine-adapters/adapter.js';
import type { ErrorInfo } from '../errors.js';
import { type JoinedCall, mergeCall, OneChoice } from './one-choice.js';
import type { AnswerUsage, Output, RenderContext, StreamRender, WholeAnswer } from './operation.js';

/** What the client sent that its answer echoes back, and the ids of the answer. */
export interface ResponseEcho {
  id: string;
  itemId: string;
  instructions: string | null;
  maxOutputTokens: number | null;
  temperature: number | null;
  topP: number | null;
  previousResponseId: string | null;
  store: boolean;
  metadata: Record<string, string>;
  tools: unknown[];
  toolChoice: unknown;
}

type Status = 'in_progress' | 'completed' | 'incomplete' | 'failed';
type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export function responsesUsage(u: AnswerUsage): Record<string, unknown> {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedTokens ?? 0 },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.promptTokens + u.completionTokens,
  };
}

const textPart = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });

function messageItem(echo: ResponseEcho, text: string | undefined, status: ItemStatus): Record<string, unknown> {
  return { id: echo.itemId, type: 'message', role: 'assistant', status, content: text === undefined ? [] : [textPart(text)] };
}

type Call = JoinedCall;

const callItemId = (echo: ResponseEcho, index: number): string => `fc_${echo.itemId.slice(4)}_${index}`;

function callItem(echo: ResponseEcho, index: number, call: Call, status: ItemStatus): Record<string, unknown> {
  return { id: callItemId(echo, index), type: 'function_call', call_id: call.id, name: call.name, arguments: call.arguments, status };
}

/** The status a finished answer has: `length` is OpenAI's `incomplete` for `max_output_tokens`. */
const finishedStatus = (finishReason: string | undefined): Status => (finishReason === 'length' ? 'incomplete' : 'completed');
const itemStatusOf = (status: Status): ItemStatus => (status === 'completed' ? 'completed' : 'incomplete');

function responseObject(ctx: RenderContext, echo: ResponseEcho, status: Status, output: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: echo.id, object: 'response', created_at: ctx.created, status,
    error: null, incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: echo.instructions, max_output_tokens: echo.maxOutputTokens, model: ctx.clientModel, output,
    parallel_tool_calls: true, previous_response_id: echo.previousResponseId, reasoning: { effort: null, summary: null },
    store: echo.store, temperature: echo.temperature, top_p: echo.topP, text: { format: { type: 'text' } },
    tool_choice: echo.toolChoice, tools: echo.tools, truncation: 'disabled', usage: null, metadata: echo.metadata,
    ...extra,
  };
}

const finished = (status: Status, usage: AnswerUsage): Record<string, unknown> =>
  ({ usage: responsesUsage(usage), ...(status === 'completed' ? { completed_at: Math.floor(Date.now() / 1000) } : {}) });

/** The non-streamed answer. */
export class ResponseAnswer implements WholeAnswer {
  readonly #choice = new OneChoice();

  constructor(readonly echo: ResponseEcho) {}

  add(output: Output): boolean {
    return this.#choice.add(output);
  }

  missing(): undefined {
    return undefined;
  }

  render(ctx: RenderContext, usage: AnswerUsage): Record<string, unknown> {
    const status = finishedStatus(this.#choice.finishReason);
    const itemStatus = itemStatusOf(status);
    const calls = this.#choice.sortedCalls().map(([i, call]) => callItem(this.echo, i, call, itemStatus));
    const message = this.#choice.text !== '' || calls.length === 0 ? [messageItem(this.echo, this.#choice.text, itemStatus)] : [];
    return responseObject(ctx, this.echo, status, [...message, ...calls], finished(status, usage));
  }
}

/** An output item of a stream, in the order it began (its position is its `output_index`). */
type StreamItem = { kind: 'message' } | { kind: 'call'; index: number };

/** One stream's events: their numbering, the items begun and the text so far are this answer's own. */
export class ResponseStream implements StreamRender {
  #seq = 0;
  #started = false;
  #text = '';
  #finishReason: string | undefined;
  readonly #items: StreamItem[] = [];
  readonly #calls = new Map<number, Call>();

  constructor(readonly echo: ResponseEcho) {}

  #event(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: this.#seq++ })}\n\n`;
  }

  #messageIndex(): number {
    return this.#items.findIndex((i) => i.kind === 'message');
  }

  #at(): Record<string, unknown> {
    return { item_id: this.echo.itemId, output_index: this.#messageIndex(), content_index: 0 };
  }

  #start(ctx: RenderContext): string {
    if (this.#started) return '';
    this.#started = true;
    const started = responseObject(ctx, this.echo, 'in_progress', []);
    return this.#event('response.created', { response: started }) + this.#event('response.in_progress', { response: started });
  }

  /** The message item and its text part begin, before its first text. */
  #openMessage(): string {
    if (this.#messageIndex() >= 0) return '';
    this.#items.push({ kind: 'message' });
    return this.#event('response.output_item.added', { output_index: this.#items.length - 1, item: messageItem(this.echo, undefined, 'in_progress') })
      + this.#event('response.content_part.added', { ...this.#at(), part: textPart('') });
  }

  #callEvents(t: ToolCallDelta): string {
    const { call, fresh } = mergeCall(this.#calls, t);
    let out = '';
    if (fresh) {
      this.#items.push({ kind: 'call', index: t.index });
      out += this.#event('response.output_item.added', { output_index: this.#items.length - 1, item: callItem(this.echo, t.index, { ...call, arguments: '' }, 'in_progress') });
    }
    const piece = t.function?.arguments;
    if (piece) {
      const outputIndex = this.#items.findIndex((i) => i.kind === 'call' && i.index === t.index);
      out += this.#event('response.function_call_arguments.delta', { item_id: callItemId(this.echo, t.index), output_index: outputIndex, delta: piece });
    }
    return out;
  }

  chunkEvents(ctx: RenderContext, deltas: readonly Delta[]): string {
    let out = this.#start(ctx);
    for (const d of deltas) {
      if (d.index !== 0) continue;
      if (d.finishReason) this.#finishReason = d.finishReason;
      for (const t of d.toolCalls ?? []) out += this.#callEvents(t);
      if (!d.text) continue;
      out += this.#openMessage();
      this.#text += d.text;
      out += this.#event('response.output_text.delta', { ...this.#at(), delta: d.text, logprobs: [] });
    }
    return out;
  }

  /** The stream always ends with its own closing events (endEvents), usage inside `response.completed`. */
  usageEvent(): string {
    return '';
  }

  #output(status: ItemStatus): Record<string, unknown>[] {
    return this.#items.map((item) => (item.kind === 'message'
      ? messageItem(this.echo, this.#text, status)
      : callItem(this.echo, item.index, this.#calls.get(item.index) as Call, status)));
  }

  endEvents(ctx: RenderContext, usage: AnswerUsage): string {
    const status = finishedStatus(this.#finishReason);
    const itemStatus = itemStatusOf(status);
    // An answer with neither text nor calls is an empty message, as whole.
    let out = this.#start(ctx) + (this.#items.length === 0 ? this.#openMessage() : '');
    const output = this.#output(itemStatus);
    this.#items.forEach((item, outputIndex) => {
      if (item.kind === 'message') {
        out += this.#event('response.output_text.done', { ...this.#at(), text: this.#text, logprobs: [] })
          + this.#event('response.content_part.done', { ...this.#at(), part: textPart(this.#text) });
      } else {
        const call = this.#calls.get(item.index) as Call;
        out += this.#event('response.function_call_arguments.done', { item_id: callItemId(this.echo, item.index), output_index: outputIndex, name: call.name, arguments: call.arguments });
      }
      out += this.#event('response.output_item.done', { output_index: outputIndex, item: output[outputIndex] });
    });
    return out + this.#event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: responseObject(ctx, this.echo, status, output, finished(status, usage)) });
  }

  /** A stream that broke: an `error` event, then `response.failed` with what was generated. */
  failEvents(ctx: RenderContext, error: ErrorInfo): string {
    return this.#event('error', { code: error.code, message: error.message, param: error.param ?? null })
      + this.#event('response.failed', { response: responseObject(ctx, this.echo, 'failed', this.#output('incomplete'), { error: { code: error.code, message: error.message } }) });
  }
}
