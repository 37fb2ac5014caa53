/**
 * Mooncake's trace format (FAST '25, kvcache-ai/Mooncake `mooncake_trace.jsonl`): one JSON object a
 * line, `timestamp` (ms since the trace started), `input_length` and `output_length` (tokens), and
 * `hash_ids`, the prompt's blocks of 512 tokens, each named by an integer: two requests with the
 * same leading hash ids share that prefix. Replayed here as prompts of words, one word per token as
 * the simulator counts them, every block id its own deterministic run of words.
 */
import { readFileSync } from 'node:fs';

export interface TraceRequest {
  timestamp: number;
  inputLength: number;
  outputLength: number;
  hashIds: number[];
}

/** Tokens per hash id in Mooncake's traces. */
export const traceBlockTokens = 512;

export function readMooncakeTrace(path: string): TraceRequest[] {
  const out: TraceRequest[] = [];
  readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const r = JSON.parse(line) as Record<string, unknown>;
    const { timestamp, input_length: inputLength, output_length: outputLength, hash_ids: hashIds } = r;
    if (typeof timestamp !== 'number' || typeof inputLength !== 'number' || typeof outputLength !== 'number' ||
      !Array.isArray(hashIds) || !hashIds.every((h) => Number.isInteger(h))) {
      throw new Error(`${path}:${i + 1}: not a Mooncake trace record (timestamp, input_length, output_length, hash_ids)`);
    }
    out.push({ timestamp, inputLength, outputLength, hashIds: hashIds as number[] });
  });
  return out.sort((a, b) => a.timestamp - b.timestamp);
}

const vocabulary = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa'];

/** `words` words standing for block `id`: the same id gives the same words, other ids others. */
export function blockWords(id: number, words: number): string {
  const out: string[] = [];
  let x = (id * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push(`${vocabulary[x % vocabulary.length] as string}${id % 97}`);
  }
  return out.join(' ');
}

/**
 * A request's prompt: its blocks' words, `scale` tokens of the trace to one word (the simulator's
 * token), the last block cut to the input length.
 */
export function tracePrompt(r: TraceRequest, scale: number): string {
  const perBlock = Math.max(1, Math.round(traceBlockTokens / scale));
  const total = Math.max(1, Math.round(r.inputLength / scale));
  const parts: string[] = [];
  let left = total;
  for (const id of r.hashIds) {
    if (left <= 0) break;
    const n = Math.min(perBlock, left);
    parts.push(blockWords(id, n));
    left -= n;
  }
  if (left > 0) parts.push(blockWords(-1 - r.timestamp, left));
  return parts.join(' ');
}
