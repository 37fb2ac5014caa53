/**
 * The one choice of a generated answer (`n` is 1), joined from its deltas: what the operations that
 * translate chat into another dialect (responses, messages) render a whole answer from.
 */
import type { ToolCallDelta } from '../engine-adapters/adapter.js';
import type { Output } from './operation.js';

/** A tool call joined from its deltas: the id and name come first, the arguments in pieces. */
export interface JoinedCall {
  id: string;
  name: string;
  arguments: string;
}

/** Adds one tool-call delta to `calls`; `fresh` when it is the first of its index. */
export function mergeCall(calls: Map<number, JoinedCall>, t: ToolCallDelta): { call: JoinedCall; fresh: boolean } {
  const existing = calls.get(t.index);
  const call = existing ?? { id: '', name: '', arguments: '' };
  if (t.id) call.id = t.id;
  if (t.function?.name) call.name += t.function.name;
  if (t.function?.arguments) call.arguments += t.function.arguments;
  calls.set(t.index, call);
  return { call, fresh: existing === undefined };
}

export class OneChoice {
  text = '';
  finishReason: string | undefined;
  readonly calls = new Map<number, JoinedCall>();

  /** Takes a worker's output; false when it is not deltas (this answer cannot use it). */
  add(output: Output): boolean {
    if (output.type !== 'deltas') return false;
    for (const d of output.deltas) {
      if (d.index !== 0) continue; // n is 1: one choice
      if (d.text) this.text += d.text;
      if (d.finishReason) this.finishReason = d.finishReason;
      for (const t of d.toolCalls ?? []) mergeCall(this.calls, t);
    }
    return true;
  }

  /** The calls in index order. */
  sortedCalls(): Array<[number, JoinedCall]> {
    return [...this.calls.entries()].sort(([a], [b]) => a - b);
  }
}
