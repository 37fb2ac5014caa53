/**
 * Reading an OpenAI-compatible engine's 200 answer into batches of normalized events: the SSE stream
 * (`data: {chunk}` … `data: [DONE]`) or, for a client that does not stream, the whole JSON answer.
 * An error object inside the answer (a mid-stream error event) becomes a LlmuxError.
 */
import type { EngineEvent } from './adapter.js';
import { engineReportedError, errorFields } from './engine-errors.js';
import { eventsFromChunk, eventsFromCompletion } from './openai-chunks.js';
import { parseJsonRecord, readRecords } from './record-stream.js';

/**
 * One batch per read of the body. Ends at `[DONE]`; a body that ends (or breaks) before `[DONE]` is
 * a cut stream. An error object in an event (or an `event: error`) is thrown after what came before.
 */
export function readEventStream(kind: string, body: AsyncIterable<Uint8Array>): AsyncGenerator<EngineEvent[], void, undefined> {
  return readRecords(kind, 'sse', body, {
    decode(record, out) {
      if (record.data === '[DONE]') return true;
      const json = parseJsonRecord(kind, record.data);
      const error = record.event === 'error' ? (errorFields(json) ?? { message: record.data }) : errorFields(json);
      if (error) throw engineReportedError(kind, error.message);
      eventsFromChunk(json, out);
      return false;
    },
  });
}

/** The whole (non-streamed) answer as one batch. */
export async function readWholeAnswer(kind: string, body: { text(): Promise<string> }): Promise<EngineEvent[]> {
  const json = parseJsonRecord(kind, await body.text());
  const error = errorFields(json);
  if (error) throw engineReportedError(kind, error.message);
  const out: EngineEvent[] = [];
  eventsFromCompletion(json, out);
  return out;
}
