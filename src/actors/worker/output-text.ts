/**
 * The text an engine produced for one request, per choice, so the worker can count completion
 * tokens itself: the engine may not report them (TGI without details, Triton, some providers), and
 * where it does, llmux's own count shows whether the tokenizer matches the engine.
 */
import type { Delta, ToolCallDelta } from '../../engine-adapters/adapter.js';

export class OutputText {
  readonly #byChoice = new Map<number, string>();
  /** Deltas that carried output: the fallback count when the tokenizer cannot be used. */
  deltas = 0;

  add(d: Delta): void {
    let text = (d.reasoning ?? '') + (d.text ?? '');
    for (const call of d.toolCalls ?? []) text += toolCallText(call);
    if (text === '') return;
    this.deltas++;
    this.#byChoice.set(d.index, (this.#byChoice.get(d.index) ?? '') + text);
  }

  /** One string per choice. */
  texts(): string[] {
    return [...this.#byChoice.values()];
  }
}

/** The generated part of a streamed tool call: its function name and argument text. */
function toolCallText(call: ToolCallDelta): string {
  return (call.function?.name ?? '') + (call.function?.arguments ?? '');
}
