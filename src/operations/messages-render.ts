/**
 * Anthropic Messages answers, built from the chat deltas an engine sends: the `message` object,
 * whole, and its typed stream (`message_start`, `ping`, per content block `content_block_start`,
 * `content_block_delta` with `text_delta` or `input_json_delta`, `content_block_stop`, then
 * `message_delta` with the stop reason and usage, and `message_stop`). Errors are Anthropic's shape,
 * `{"type":"error","error":{"type","message"}}`, as a body or as an `error` event.
 */
import type { Delta, ToolCallDelta } from '../engine-adapters/adapter.js';
import type { ErrorCode, ErrorInfo } from '../errors.js';
import { type JoinedCall, mergeCall, OneChoice } from './one-choice.js';
import type { AnswerUsage, Output, RenderContext, StreamRender, WholeAnswer } from './operation.js';

/** Anthropic's `error.type` for each llmux code, so its clients map them to their own error classes. */
const errorTypeOf: Record<ErrorCode, string> = {
  invalid_api_key: 'authentication_error',
  permission_denied: 'permission_error',
  no_eligible_candidates: 'not_found_error',
  unsupported_uri: 'not_found_error',
  not_found: 'not_found_error',
  rate_limit_exceeded: 'rate_limit_error',
  invalid_request: 'invalid_request_error',
  unsupported: 'invalid_request_error',
  request_too_large: 'request_too_large',
  no_active_backend: 'overloaded_error',
  rate_limiter_unavailable: 'overloaded_error',
  control_plane_unavailable: 'overloaded_error',
  upstream_error: 'api_error',
  timeout: 'api_error',
  internal_error: 'api_error',
};

export function anthropicErrorBody(error: ErrorInfo): Record<string, unknown> {
  return { type: 'error', error: { type: errorTypeOf[error.code], message: error.message } };
}

/** Anthropic's ids are `msg_…`; the session's are `<idPrefix>-<request id>`. */
const messageId = (ctx: RenderContext): string => `msg_${ctx.id.slice(ctx.id.indexOf('-') + 1)}`;

/** Chat's finish reasons as Anthropic's stop reasons (which stop sequence matched, chat does not say: `end_turn`). */
function stopReason(finishReason: string | undefined, calls: number): string {
  if (finishReason === 'length') return 'max_tokens';
  if (finishReason === 'content_filter') return 'refusal';
  return finishReason === 'tool_calls' || calls > 0 ? 'tool_use' : 'end_turn';
}

/** Anthropic's `input_tokens` leave out what the cache served, which `cache_read_input_tokens` counts. */
function usageOf(u: AnswerUsage): Record<string, number> {
  const cached = u.cachedTokens ?? 0;
  return { input_tokens: u.promptTokens - cached, cache_creation_input_tokens: 0, cache_read_input_tokens: cached, output_tokens: u.completionTokens };
}

type Call = JoinedCall;

/** A tool call's arguments as the `input` object Anthropic's clients read (an engine's malformed JSON is kept as a string). */
function inputOf(args: string): unknown {
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args) as unknown;
  } catch {
    return args;
  }
}

const toolUse = (call: Call): Record<string, unknown> => ({ type: 'tool_use', id: call.id, name: call.name, input: inputOf(call.arguments) });

/** The non-streamed answer. */
export class MessageAnswer implements WholeAnswer {
  readonly #choice = new OneChoice();

  add(output: Output): boolean {
    return this.#choice.add(output);
  }

  missing(): undefined {
    return undefined;
  }

  render(ctx: RenderContext, usage: AnswerUsage): Record<string, unknown> {
    const calls = this.#choice.sortedCalls().map(([, call]) => toolUse(call));
    const text = this.#choice.text !== '' || calls.length === 0 ? [{ type: 'text', text: this.#choice.text }] : [];
    return {
      id: messageId(ctx), type: 'message', role: 'assistant', model: ctx.clientModel, content: [...text, ...calls],
      stop_reason: stopReason(this.#choice.finishReason, calls.length), stop_sequence: null, usage: usageOf(usage),
    };
  }
}

const event = (type: string, fields: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;

/** A content block of the stream, by its position: the text, or the tool call of that chat index. */
type Block = { kind: 'text' } | { kind: 'call'; index: number };

/**
 * One stream's events. Blocks follow one another (each stops before the next starts): text, then
 * a tool_use block per call in the order calls began. An engine that interleaves parallel calls'
 * arguments gets the later pieces as deltas of their own (already stopped) block's index, which
 * Anthropic's clients accumulate by index.
 */
export class MessageStream implements StreamRender {
  #started = false;
  #open: number | undefined;
  #finishReason: string | undefined;
  readonly #blocks: Block[] = [];
  readonly #calls = new Map<number, Call>();

  #start(ctx: RenderContext): string {
    if (this.#started) return '';
    this.#started = true;
    const usage = { input_tokens: ctx.promptTokens ?? 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 };
    return event('message_start', { message: { id: messageId(ctx), type: 'message', role: 'assistant', model: ctx.clientModel, content: [],
      stop_reason: null, stop_sequence: null, usage } }) + event('ping', {});
  }

  /** Stops the open block and starts a new one, returning its index. */
  #begin(block: Block, contentBlock: Record<string, unknown>): string {
    const out = this.#stop();
    this.#blocks.push(block);
    this.#open = this.#blocks.length - 1;
    return out + event('content_block_start', { index: this.#open, content_block: contentBlock });
  }

  #stop(): string {
    if (this.#open === undefined) return '';
    const out = event('content_block_stop', { index: this.#open });
    this.#open = undefined;
    return out;
  }

  #text(text: string): string {
    const open = this.#open === undefined ? undefined : this.#blocks[this.#open];
    const begin = open?.kind === 'text' ? '' : this.#begin({ kind: 'text' }, { type: 'text', text: '' });
    return begin + event('content_block_delta', { index: this.#open, delta: { type: 'text_delta', text } });
  }

  #call(t: ToolCallDelta): string {
    const { call, fresh } = mergeCall(this.#calls, t);
    const begin = fresh ? this.#begin({ kind: 'call', index: t.index }, { type: 'tool_use', id: call.id, name: call.name, input: {} }) : '';
    const piece = t.function?.arguments;
    if (!piece) return begin;
    const index = this.#blocks.findIndex((b) => b.kind === 'call' && b.index === t.index);
    return begin + event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
  }

  chunkEvents(ctx: RenderContext, deltas: readonly Delta[]): string {
    let out = this.#start(ctx);
    for (const d of deltas) {
      if (d.index !== 0) continue;
      if (d.finishReason) this.#finishReason = d.finishReason;
      if (d.text) out += this.#text(d.text);
      for (const t of d.toolCalls ?? []) out += this.#call(t);
    }
    return out;
  }

  /** The stream always ends with its own closing events (endEvents), usage inside `message_delta`. */
  usageEvent(): string {
    return '';
  }

  endEvents(ctx: RenderContext, usage: AnswerUsage): string {
    // An answer with neither text nor calls is one empty text block, as whole.
    const empty = this.#blocks.length === 0 ? this.#begin({ kind: 'text' }, { type: 'text', text: '' }) : '';
    return this.#start(ctx) + empty + this.#stop()
      + event('message_delta', { delta: { stop_reason: stopReason(this.#finishReason, this.#calls.size), stop_sequence: null }, usage: usageOf(usage) })
      + event('message_stop', {});
  }

  /** A stream that broke: Anthropic's `error` event, never a clean `message_stop`. */
  failEvents(_ctx: RenderContext, error: ErrorInfo): string {
    return `event: error\ndata: ${JSON.stringify(anthropicErrorBody(error))}\n\n`;
  }
}
