/**
 * Reading an OpenAI-compatible engine's 200 answer into batches of normalized events: the SSE stream
 * (`data: {chunk}` … `data: [DONE]`) or, for a client that does not stream, the whole JSON answer.
 * An error object inside the answer (a mid-stream error event) becomes a LlmuxError.
 */
import type { EngineEvent } from './adapter.js';
import { engineGarbled, engineReportedError, engineStreamCut, errorFields } from './engine-errors.js';
import { eventsFromChunk, eventsFromCompletion } from './openai-chunks.js';
import { type SseEvent, SseParser } from './sse.js';

type Json = Record<string, unknown>;

function parseObject(kind: string, data: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw engineGarbled(kind, data);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw engineGarbled(kind, data);
  return value as Json;
}

/**
 * One batch per read of the body. Ends at `[DONE]`; reading goes on to the end of the body so the
 * connection stays reusable. A body that ends (or breaks) before `[DONE]` is a cut stream.
 */
export async function* readEventStream(kind: string, body: AsyncIterable<Uint8Array>): AsyncGenerator<EngineEvent[], void, undefined> {
  const parser = new SseParser();
  let done = false;
  /** Appends the events' output to `out`; returns the error an event reported, if any. */
  const convert = (events: SseEvent[], out: EngineEvent[]): Error | undefined => {
    for (const ev of events) {
      if (done) return undefined;
      if (ev.data === '[DONE]') {
        done = true;
        return undefined;
      }
      const json = parseObject(kind, ev.data);
      const error = ev.event === 'error' ? (errorFields(json) ?? { message: ev.data }) : errorFields(json);
      if (error) {
        // Whatever came before the error in this read still reaches the caller, then the error.
        return engineReportedError(kind, error.message);
      }
      eventsFromChunk(json, out);
    }
    return undefined;
  };
  for await (const bytes of body) {
    if (done) continue; // drain what follows [DONE] (normally nothing but the end of the body)
    const out: EngineEvent[] = [];
    const failure = convert(parser.push(bytes), out);
    if (out.length > 0) yield out;
    if (failure) throw failure;
  }
  if (!done) {
    // The body ended cleanly: a last event without its blank line (`data: [DONE]` alone) still counts.
    const out: EngineEvent[] = [];
    const failure = convert(parser.end(), out);
    if (out.length > 0) yield out;
    if (failure) throw failure;
  }
  if (!done) throw engineStreamCut(kind);
}

/** The whole (non-streamed) answer as one batch. */
export async function readWholeAnswer(kind: string, body: { text(): Promise<string> }): Promise<EngineEvent[]> {
  const json = parseObject(kind, await body.text());
  const error = errorFields(json);
  if (error) throw engineReportedError(kind, error.message);
  const out: EngineEvent[] = [];
  eventsFromCompletion(json, out);
  return out;
}
