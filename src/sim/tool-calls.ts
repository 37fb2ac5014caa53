/**
 * Tool calls on request: `[[sim:tool-calls:get_weather,get_time]]` in the prompt makes the answer
 * those calls, in that order (parallel calls), instead of text. As a real model can only call what
 * it was given, only names among the request's tools are called, and none without tools. The
 * request's tool choice rules as it does an engine's: `none` calls nothing, a named function is
 * called even without the directive, `required` (Anthropic's `any`) calls the first tool when the
 * directive names none.
 *
 * A call's arguments are deterministic, `{"query": "<three words>"}`, the words seeded by the
 * prompt, the name and the call's position; they stream as five pieces (`{"query": "`, each word,
 * `"}`), one token each, and the name is one token more.
 */
import { randomBytes } from 'node:crypto';
import { seedOf, tokenAt } from './generation.js';

export const TOOL_CALLS_DIRECTIVE = /\[\[sim:tool-calls:([A-Za-z0-9_,-]+)\]\]/;

/** The directive text that makes the answer calls to `names`, in order. */
export const toolCallsDirective = (...names: string[]): string => `[[sim:tool-calls:${names.join(',')}]]`;

/** What the request lets the model do with its tools. */
export type SimToolChoice = 'none' | 'auto' | 'required' | { name: string };

export interface SimToolCall {
  /** A random suffix; each dialect writes the id with its own prefix (`call_`, `toolu_`). */
  idSuffix: string;
  name: string;
  /** The argument text, whole: the pieces joined. */
  arguments: string;
  pieces: string[];
}

const argumentWords = 3;

/** Completion tokens of a call: its name and its argument pieces. */
export const toolCallTokens = (call: SimToolCall): number => 1 + call.pieces.length;

function callOf(prompt: string, name: string, position: number): SimToolCall {
  const seed = seedOf(`${prompt}\u0000${name}\u0000${position}`);
  const words = Array.from({ length: argumentWords }, (_, i) => tokenAt(seed, i));
  const pieces = ['{"query": "', ...words, '"}'];
  return { idSuffix: randomBytes(12).toString('hex'), name, arguments: pieces.join(''), pieces };
}

/** The calls a request's answer makes: none for an answer of text. */
export function plannedToolCalls(prompt: string, declared: readonly string[], choice: SimToolChoice): SimToolCall[] {
  if (declared.length === 0 || choice === 'none') return [];
  const asked = (TOOL_CALLS_DIRECTIVE.exec(prompt)?.[1] ?? '').split(',').filter((n) => declared.includes(n));
  let names = asked;
  if (typeof choice === 'object') names = asked.includes(choice.name) ? asked.filter((n) => n === choice.name) : [choice.name];
  else if (choice === 'required' && names.length === 0) names = [declared[0]!];
  return names.map((name, position) => callOf(prompt, name, position));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Tool names of OpenAI's (and Ollama's) `tools`: `[{type: 'function', function: {name}}]`. */
export function openAiToolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((t: unknown) => (isObject(t) && isObject(t.function) && typeof t.function.name === 'string' ? [t.function.name] : []));
}

/** OpenAI's `tool_choice`. */
export function openAiToolChoice(choice: unknown): SimToolChoice {
  if (choice === 'none' || choice === 'required') return choice;
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === 'string') return { name: choice.function.name };
  return 'auto';
}
