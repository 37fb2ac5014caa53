/**
 * The Responses API's answers: the `response` object, whole, and its typed stream of events
 * (`response.created` … `response.completed`, each numbered by `sequence_number`), built from the
 * chat deltas an engine sends. One assistant message with one `output_text` part is the output.
 */
import type { Delta } from '../engine-adapters/adapter.js';
import type { ErrorInfo } from '../errors.js';
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
}

type Status = 'in_progress' | 'completed' | 'incomplete' | 'failed';

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

function messageItem(echo: ResponseEcho, text: string | undefined, status: 'in_progress' | 'completed' | 'incomplete'): Record<string, unknown> {
  return { id: echo.itemId, type: 'message', role: 'assistant', status, content: text === undefined ? [] : [textPart(text)] };
}

/** The status a finished answer has: `length` is OpenAI's `incomplete` for `max_output_tokens`. */
const finishedStatus = (finishReason: string | undefined): Status => (finishReason === 'length' ? 'incomplete' : 'completed');

function responseObject(ctx: RenderContext, echo: ResponseEcho, status: Status, output: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: echo.id, object: 'response', created_at: ctx.created, status,
    error: null, incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: echo.instructions, max_output_tokens: echo.maxOutputTokens, model: ctx.clientModel, output,
    parallel_tool_calls: false, previous_response_id: echo.previousResponseId, reasoning: { effort: null, summary: null },
    store: echo.store, temperature: echo.temperature, top_p: echo.topP, text: { format: { type: 'text' } },
    tool_choice: 'none', tools: [], truncation: 'disabled', usage: null, metadata: echo.metadata,
    ...extra,
  };
}

/** The non-streamed answer. */
export class ResponseAnswer implements WholeAnswer {
  #text = '';
  #finishReason: string | undefined;

  constructor(readonly echo: ResponseEcho) {}

  add(output: Output): boolean {
    if (output.type !== 'deltas') return false;
    for (const d of output.deltas) {
      if (d.index !== 0) continue; // n is 1: one choice
      if (d.text) this.#text += d.text;
      if (d.finishReason) this.#finishReason = d.finishReason;
    }
    return true;
  }

  missing(): undefined {
    return undefined;
  }

  render(ctx: RenderContext, usage: AnswerUsage): Record<string, unknown> {
    const status = finishedStatus(this.#finishReason);
    return responseObject(ctx, this.echo, status, [messageItem(this.echo, this.#text, status === 'completed' ? 'completed' : 'incomplete')],
      { usage: responsesUsage(usage), ...(status === 'completed' ? { completed_at: Math.floor(Date.now() / 1000) } : {}) });
  }
}

/** One stream's events: their numbering and the text so far are this answer's own. */
export class ResponseStream implements StreamRender {
  #seq = 0;
  #opened = false;
  #text = '';
  #finishReason: string | undefined;

  constructor(readonly echo: ResponseEcho) {}

  #event(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: this.#seq++ })}\n\n`;
  }

  #at(): Record<string, unknown> {
    return { item_id: this.echo.itemId, output_index: 0, content_index: 0 };
  }

  /** The lifecycle's opening, before the first text: the response, its message item, its text part. */
  #open(ctx: RenderContext): string {
    this.#opened = true;
    const started = responseObject(ctx, this.echo, 'in_progress', []);
    return this.#event('response.created', { response: started })
      + this.#event('response.in_progress', { response: started })
      + this.#event('response.output_item.added', { output_index: 0, item: messageItem(this.echo, undefined, 'in_progress') })
      + this.#event('response.content_part.added', { ...this.#at(), part: textPart('') });
  }

  chunkEvents(ctx: RenderContext, deltas: readonly Delta[]): string {
    let out = this.#opened ? '' : this.#open(ctx);
    for (const d of deltas) {
      if (d.index !== 0) continue;
      if (d.finishReason) this.#finishReason = d.finishReason;
      if (!d.text) continue;
      this.#text += d.text;
      out += this.#event('response.output_text.delta', { ...this.#at(), delta: d.text, logprobs: [] });
    }
    return out;
  }

  /** The stream always ends with its own closing events (endEvents), usage inside `response.completed`. */
  usageEvent(): string {
    return '';
  }

  endEvents(ctx: RenderContext, usage: AnswerUsage): string {
    const status = finishedStatus(this.#finishReason);
    const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
    const item = messageItem(this.echo, this.#text, itemStatus);
    const done = responseObject(ctx, this.echo, status, [item],
      { usage: responsesUsage(usage), ...(status === 'completed' ? { completed_at: Math.floor(Date.now() / 1000) } : {}) });
    return (this.#opened ? '' : this.#open(ctx))
      + this.#event('response.output_text.done', { ...this.#at(), text: this.#text, logprobs: [] })
      + this.#event('response.content_part.done', { ...this.#at(), part: textPart(this.#text) })
      + this.#event('response.output_item.done', { output_index: 0, item })
      + this.#event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: done });
  }

  /** A stream that broke: an `error` event, then `response.failed` with what was generated. */
  failEvents(ctx: RenderContext, error: ErrorInfo): string {
    const output = this.#opened ? [messageItem(this.echo, this.#text, 'incomplete')] : [];
    return this.#event('error', { code: error.code, message: error.message, param: error.param ?? null })
      + this.#event('response.failed', { response: responseObject(ctx, this.echo, 'failed', output, { error: { code: error.code, message: error.message } }) });
  }
}
