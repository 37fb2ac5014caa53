/**
 * Reading an engine's streamed 200 answer, whatever its framing (SSE or NDJSON), into batches of
 * normalized events: one batch per read of the body. A decoder turns each record into events and
 * says when the engine's end marker came; an engine-reported error is thrown after the events that
 * came before it in the same read. A body that ends before the marker is a cut stream.
 */
import type { EngineEvent } from './adapter.js';
import { engineGarbled, engineStreamCut } from './engine-errors.js';
import { NdjsonParser } from './ndjson.js';
import { RecordTooLong } from './record-limit.js';
import { SseParser } from './sse.js';

export interface StreamRecord {
  /** SSE `event:` field, when the engine names its events. */
  event?: string;
  data: string;
}

export interface RecordDecoder {
  /** Appends the record's events to `out`; returns true when it is the engine's end marker. Throws LlmuxError for an engine-reported error. */
  decode(record: StreamRecord, out: EngineEvent[]): boolean;
  /** Events to add when the body ends cleanly (for engines whose end of body is the end). */
  finish?(out: EngineEvent[]): void;
  /** The end of the body is the end of the answer (Triton): no marker to wait for. */
  endsWithBody?: boolean;
}

type Framing = 'sse' | 'ndjson';

interface Splitter {
  push(bytes: Uint8Array): StreamRecord[];
  end(): StreamRecord[];
}

function splitter(framing: Framing): Splitter {
  if (framing === 'sse') return new SseParser();
  const p = new NdjsonParser();
  return { push: (b) => p.push(b).map((data) => ({ data })), end: () => p.end().map((data) => ({ data })) };
}

/** The records `split` completes; an overlong record is the engine's garbage, as an unparseable one is. */
function split(kind: string, split: () => StreamRecord[]): StreamRecord[] {
  try {
    return split();
  } catch (error) {
    if (error instanceof RecordTooLong) throw engineGarbled(kind, error.message);
    throw error;
  }
}

export function parseJsonRecord(kind: string, data: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw engineGarbled(kind, data);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw engineGarbled(kind, data);
  return value as Record<string, unknown>;
}

export async function* readRecords(kind: string, framing: Framing, body: AsyncIterable<Uint8Array>, decoder: RecordDecoder): AsyncGenerator<EngineEvent[], void, undefined> {
  const records = splitter(framing);
  let done = false;
  /** The batch's events, then the error an event reported (whatever came before it still reaches the caller). */
  const step = function* (batch: StreamRecord[]): Generator<EngineEvent[], void, undefined> {
    const out: EngineEvent[] = [];
    let failure: unknown;
    try {
      for (const r of batch) {
        if (done) break;
        done = decoder.decode(r, out);
      }
    } catch (error) {
      failure = error;
    }
    if (out.length > 0) yield out;
    if (failure !== undefined) throw failure;
  };
  for await (const bytes of body) {
    if (!done) yield* step(split(kind, () => records.push(bytes)));
  }
  if (!done) yield* step(split(kind, () => records.end()));
  if (!done && decoder.endsWithBody) {
    const out: EngineEvent[] = [];
    decoder.finish?.(out);
    if (out.length > 0) yield out;
    return;
  }
  if (!done) throw engineStreamCut(kind);
}
