/**
 * What an engine (or a worker relaying one) reports is believed only in the shape llmux uses: token
 * counts and choice indices are non-negative safe integers, tool-call deltas are objects with string
 * fields. A value of another shape is left out, as if the engine had not sent it, so a broken or
 * hostile engine can neither bill nonsense nor put `[object Object]` into a client's answer.
 */
import { isCount, isObject } from '../protocol/guards.js';
import type { Delta, ToolCallDelta, Usage } from './adapter.js';

/** Choices per request llmux relays (`n` is 1 today; engines number them from 0). */
export const maxChoiceIndex = 127;
/** Tool calls in one delta: more than any model emits in parallel. */
const maxToolCallsPerDelta = 128;

/** A count the engine reported, or undefined when it is not a non-negative safe integer. */
export function countOf(value: unknown): number | undefined {
  return isCount(value) ? value : undefined;
}

/** A choice's index: 0 when absent, undefined (drop the choice) when it is not a count up to {@link maxChoiceIndex}. */
export function choiceIndexOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  const index = countOf(value);
  return index !== undefined && index <= maxChoiceIndex ? index : undefined;
}

/**
 * The well-formed entries of an OpenAI `tool_calls` array, or undefined when none is. An entry
 * without an index (a whole message's calls) takes its position; string fields of another type are
 * left out; `function` must be an object.
 */
export function toolCallDeltasOf(value: unknown): ToolCallDelta[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const calls: ToolCallDelta[] = [];
  for (const [position, raw] of value.slice(0, maxToolCallsPerDelta).entries()) {
    if (!isObject(raw)) continue;
    const index = raw.index === undefined || raw.index === null ? position : countOf(raw.index);
    if (index === undefined) continue;
    const call: ToolCallDelta = { index };
    if (typeof raw.id === 'string') call.id = raw.id;
    if (typeof raw.type === 'string') call.type = raw.type;
    if (isObject(raw.function)) {
      const fn: NonNullable<ToolCallDelta['function']> = {};
      if (typeof raw.function.name === 'string') fn.name = raw.function.name;
      if (typeof raw.function.arguments === 'string') fn.arguments = raw.function.arguments;
      call.function = fn;
    }
    calls.push(call);
  }
  return calls.length > 0 ? calls : undefined;
}

const optionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

/** Logprob entries per delta: a chunk carries one token's, a whole answer every token's. */
const maxLogprobEntries = 1 << 16;

/**
 * The entries of a chat choice's `logprobs.content`, when it is a list of objects each with a
 * string `token` and a numeric `logprob`; relayed as the engine sent them (top_logprobs included).
 */
export function logprobsOf(value: unknown): Record<string, unknown>[] | undefined {
  if (!isObject(value) || !Array.isArray(value.content) || value.content.length === 0 || value.content.length > maxLogprobEntries) return undefined;
  return value.content.every(isLogprob) ? (value.content as Record<string, unknown>[]) : undefined;
}

const isLogprob = (e: unknown): boolean => isObject(e) && typeof e.token === 'string' && typeof e.logprob === 'number';

/** Whether `value` is a delta as adapters make them: the guard for deltas arriving from a worker. */
export function isDelta(value: unknown): value is Delta {
  if (!isObject(value)) return false;
  if (choiceIndexOf(value.index) !== value.index) return false;
  if (!optionalString(value.role) || !optionalString(value.text) || !optionalString(value.reasoning) || !optionalString(value.finishReason)) return false;
  if (value.logprobs !== undefined && (!Array.isArray(value.logprobs) || value.logprobs.length > maxLogprobEntries || !value.logprobs.every(isLogprob))) return false;
  if (value.toolCalls === undefined) return true;
  return Array.isArray(value.toolCalls) && value.toolCalls.every((c) =>
    isObject(c) && countOf(c.index) !== undefined && optionalString(c.id) && optionalString(c.type) &&
    (c.function === undefined || (isObject(c.function) && optionalString(c.function.name) && optionalString(c.function.arguments))));
}

/** Usage from the counts an engine reported under its own names: those that are counts, no others. */
export function usageFrom(counts: { promptTokens?: unknown; completionTokens?: unknown; cachedTokens?: unknown }): Usage {
  const usage: Usage = {};
  const prompt = countOf(counts.promptTokens);
  const completion = countOf(counts.completionTokens);
  const cached = countOf(counts.cachedTokens);
  if (prompt !== undefined) usage.promptTokens = prompt;
  if (completion !== undefined) usage.completionTokens = completion;
  if (cached !== undefined) usage.cachedTokens = cached;
  return usage;
}
