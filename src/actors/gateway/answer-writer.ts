/**
 * The answer as the client gets it: the operation's rendering of what the workers send, written
 * through the ClientStream. Streamed deltas become the operation's SSE events as they arrive; a
 * whole answer is gathered (the operation's WholeAnswer) and goes out as one JSON body at the end.
 * Either way `delivered` keeps what the client has, for a migration to carry on from. The session
 * decides what happens (retries, migrations, failures); this only writes it.
 */
import type { Delta } from '../../engine-adapters/adapter.js';
import type { ErrorInfo } from '../../errors.js';
import type { OperationSpec } from '../../operations/index.js';
import type { AnswerUsage, Output, RenderContext, StreamRender, WholeAnswer } from '../../operations/operation.js';
import { finishHops, hopTimingOn } from '../../observability/hop-timing.js';
import { ClientStream } from './client-stream.js';
import { Delivered } from './delivered.js';
import type { SessionInit } from './session-init.js';

export type AnswerWriterInit = Pick<SessionInit,
  'request' | 'requestId' | 'clientModel' | 'promptTokens' | 'res' | 'streamId' | 'journal' | 'responseHeaders' | 'completionBudget' | 'onAnswer'>;

/** Headers every answer carries: the rate limits, the completion budget, and with debug on, the worker that answered first. */
export function answerHeaders(init: Pick<SessionInit, 'responseHeaders' | 'completionBudget' | 'debug'>, first: { workerId: string; routingMethod: string | undefined } | undefined): Record<string, string> {
  const { responseHeaders, completionBudget, debug } = init;
  return {
    ...responseHeaders,
    ...(completionBudget ? { 'x-llmux-completion-budget': String(completionBudget.tokens) } : {}),
    ...(debug && first ? { 'x-llmux-worker': first.workerId } : {}),
    ...(debug && first?.routingMethod ? { 'x-llmux-routing-method': first.routingMethod } : {}),
  };
}

export class AnswerWriter {
  #delivered = new Delivered();
  /** The non-streamed answer so far (the operation's), rebuilt for each retry. */
  #answer: WholeAnswer;
  readonly #stream: StreamRender | undefined;
  readonly #render: RenderContext;
  readonly client: ClientStream;

  constructor(
    readonly op: OperationSpec,
    readonly init: AnswerWriterInit,
    onFirstByte: () => void,
    /** The answer's headers, asked for when its head is written (the debug ones name the worker that answered first). */
    readonly headers: () => Record<string, string>,
  ) {
    this.#answer = op.answer(init.request);
    this.#stream = init.request.stream ? (op.openStream?.(init.request) ?? op.stream) : undefined;
    this.#render = { id: `${op.idPrefix}-${init.requestId}`, created: Math.floor(Date.now() / 1000), clientModel: init.clientModel, promptTokens: init.promptTokens };
    this.client = new ClientStream(init.res, {
      onFirstByte, streamId: init.streamId, ...(init.journal ? { journal: init.journal } : {}),
      ...(op.errorBody ? { errorBody: op.errorBody } : {}),
    });
  }

  /** What the client has of the answer so far (of a whole answer: what the current attempt sent). */
  get delivered(): Delivered {
    return this.#delivered;
  }

  /**
   * Writes deltas as the stream's SSE events: false when the client's socket is full (wait for its
   * 'drain'), undefined when the answer is not streamed (the deltas are output for the whole answer).
   */
  events(deltas: readonly Delta[]): boolean | undefined {
    const render = this.#stream;
    if (!this.init.request.stream || !render) return undefined;
    // A streamed answer is kept whole too when someone wants it whole.
    if (this.init.onAnswer) this.#answer.add({ type: 'deltas', deltas });
    return this.client.events(render.chunkEvents(this.#render, deltas), this.headers);
  }

  /** Output for the whole answer: false when this operation's answer has no output of that kind. */
  add(output: Output): boolean {
    return this.#answer.add(output);
  }

  /** A retry before anything reached the client. */
  startOver(): void {
    if (this.init.request.stream) return;
    // A non-streaming answer is retried whole: what the failed attempt produced is dropped.
    this.#answer = this.op.answer(this.init.request);
    this.#delivered = new Delivered();
  }

  /** What a whole answer still lacks, if anything (a stream has sent its parts already). */
  missing(): string | undefined {
    return this.init.request.stream ? undefined : this.#answer.missing();
  }

  /** The answer is complete: its last events, or its JSON body, with `usage`. */
  end(usage: AnswerUsage): void {
    const { request, completionBudget } = this.init;
    if (request.stream && this.#stream?.endEvents) {
      this.client.end(this.#stream.endEvents(this.#render, usage), this.headers);
    } else if (request.stream) {
      let tail = request.includeUsage && this.#stream ? this.#stream.usageEvent(this.#render, usage) : '';
      // An SSE comment (clients ignore it): why a stream the client did not limit stopped at `length`.
      if (completionBudget && this.#delivered.finishReason === 'length') {
        tail += `: llmux: the completion stopped at the ${completionBudget.tokens} tokens reserved for it (${completionBudget.why})\n\n`;
      }
      this.client.end(`${tail}data: [DONE]\n\n`, this.headers);
    } else {
      this.client.json(200, this.#answer.render(this.#render, usage), this.headers());
    }
    if (hopTimingOn) finishHops(this.init.res);
    this.init.onAnswer?.(this.#answer.render(this.#render, usage));
  }

  /** Ends the answer with `error` (once streaming, the operation's failure events if it has them); returns the HTTP status. */
  fail(error: ErrorInfo): number {
    return this.client.fail(error, this.init.responseHeaders, this.#stream?.failEvents?.(this.#render, error));
  }
}
