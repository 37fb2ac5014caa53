/**
 * A dialect is how one engine writes an answer on the wire: the events of a streamed answer, the
 * body of a whole one, and its error shapes. Generation, pacing, queueing and client-abort handling
 * are shared (serve-generation.ts); only the bytes differ.
 */
import type { SimToolCall } from './tool-calls.js';
import type { FinishReason, Generation, SimUsage } from './wire.js';

export interface Dialect {
  /** Content type of a streamed answer. */
  streamType: string;
  /** What a streamed answer starts with, before the first token ('' for nothing). */
  head(g: Generation, promptTokens: number): string;
  /** One token; `soFar` is the text including it (for engines that stream cumulative text). */
  token(g: Generation, text: string, index: number, finish: FinishReason | null, soFar: string, usage: SimUsage): string;
  /** What ends a streamed answer after its last token. */
  tail(g: Generation, finish: FinishReason, usage: SimUsage, fullText: string): string;
  /** The whole answer when the client does not stream. */
  whole(g: Generation, text: string, finish: FinishReason, usage: SimUsage): unknown;
  /** The engine refusing a request outright (the [[sim:fail]] fault, and internal errors). */
  failure(message: string): { status: number; body: unknown };
  /** A client error (bad request). */
  badRequest(message: string, param: string | null): { status: number; body: unknown };
  /** An error written into a stream that already answered 200 (the [[sim:error-after:N]] fault). */
  streamError(message: string): string;
  /** An answer of tool calls (tool-calls.ts), for engines that have them; `head` comes first as usual. */
  tools?: {
    /** A streamed answer's events after `head`, each written on its own, a token apart. */
    events(g: Generation, calls: readonly SimToolCall[]): string[];
    /** What ends it: the finish (`tool_calls`, `tool_use`, …), usage, the end marker. */
    tail(g: Generation, usage: SimUsage): string;
    whole(g: Generation, calls: readonly SimToolCall[], usage: SimUsage): unknown;
  };
}

export const sse = (body: unknown): string => `data: ${JSON.stringify(body)}\n\n`;
