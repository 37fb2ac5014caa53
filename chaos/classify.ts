/**
 * What became of one stream, from the client's side:
 *
 *   completed       [DONE] after exactly the expected text, and usage.completion_tokens equal to the
 *                   tokens received
 *   explicit        an HTTP 4xx/5xx (with an OpenAI error body, or noted when without), or an SSE
 *                   error event before the end
 *   broken          the connection closed mid-body with no error event: an HTTP client raises it
 *                   (the body is incomplete), but it is not an OpenAI error. Unavoidable only when the
 *                   process holding the client's socket dies (the gateway)
 *   silent          the body ended cleanly (with or without [DONE]) short of the expected text and with
 *                   no error event: the client cannot tell it from a finished answer
 *   wrong           text that is not a prefix of the expected text (wrong or duplicated tokens), data
 *                   after [DONE], or a usage count that disagrees with what was received
 *   hung            no end within the bound
 *   client-aborted  the client went away on purpose before the end (its text must still be a prefix)
 */
import type { StreamRecord } from './stream-client.js';

export const outcomes = ['completed', 'explicit', 'broken', 'silent', 'wrong', 'hung', 'client-aborted'] as const;
export type Outcome = (typeof outcomes)[number];

export interface Classified {
  outcome: Outcome;
  why: string;
  /** Tokens received (the simulator's tokens are words). */
  tokens: number;
  /** The longest gap the client saw between request start, SSE data events and the end. */
  maxStallMs: number;
}

const wordCount = (text: string): number => text.split(' ').filter(Boolean).length;

function maxStall(r: StreamRecord): number {
  const times = [r.startedAt, ...r.dataAt, r.endedAt ?? Date.now()];
  let max = 0;
  for (let i = 1; i < times.length; i++) max = Math.max(max, (times[i] as number) - (times[i - 1] as number));
  return max;
}

/** Where `text` first differs from `expected`, as a token index. */
function divergence(text: string, expected: string): number {
  const got = text.split(' ');
  const want = expected.split(' ');
  let i = 0;
  while (i < got.length && got[i] === want[i]) i++;
  return i;
}

const isOpenAiError = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && typeof (body as { error?: { message?: unknown } }).error?.message === 'string';

function outcomeOf(r: StreamRecord, expected: string, tokens: number, total: number): { outcome: Outcome; why: string } {
  if (r.end === 'timeout') {
    const last = r.dataAt.at(-1);
    return { outcome: 'hung', why: `no end within the bound; ${tokens}/${total} tokens, ${last !== undefined ? `silent for the last ${(r.endedAt ?? last) - last} ms` : 'no data at all'}` };
  }
  if (!expected.startsWith(r.text)) return { outcome: 'wrong', why: `text diverges at token ${divergence(r.text, expected)} (${tokens} received of ${total})` };
  if (r.dataAfterDone) return { outcome: 'wrong', why: 'data after [DONE]' };
  if (r.end === 'client-abort') return { outcome: 'client-aborted', why: `aborted after ${tokens}/${total} tokens` };
  if (r.status === undefined) return { outcome: 'broken', why: 'connection failed before any response' };
  if (r.status !== 200) {
    return { outcome: 'explicit', why: `HTTP ${r.status}${isOpenAiError(r.errorBody) ? '' : ' without an OpenAI error body'}` };
  }
  if (r.errorEvents.length > 0) {
    const code = (r.errorEvents[0] as { error?: { code?: unknown } }).error?.code;
    return { outcome: 'explicit', why: `SSE error event (${String(code)}) after ${tokens}/${total} tokens` };
  }
  if (r.end === 'broken') return { outcome: 'broken', why: `connection closed mid-body after ${tokens}/${total} tokens` };
  if (!r.sawDone || r.text !== expected) {
    return { outcome: 'silent', why: `${r.sawDone ? '[DONE]' : 'clean end without [DONE]'} after ${tokens}/${total} tokens` };
  }
  if (r.usage?.completion_tokens !== tokens) return { outcome: 'wrong', why: `usage says ${String(r.usage?.completion_tokens)} completion tokens, ${tokens} received` };
  return { outcome: 'completed', why: 'exact' };
}

export function classify(r: StreamRecord, expected: string): Classified {
  const tokens = wordCount(r.text);
  return { ...outcomeOf(r, expected, tokens, wordCount(expected)), tokens, maxStallMs: maxStall(r) };
}
