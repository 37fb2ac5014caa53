// Properties of the gateway's request session (the attempt state machine) against a fleet whose
// workers fail in every way they can: errors, silence, lost frames, cuts at any point, a client that
// leaves. Whatever happens, the session ends exactly once, within its timeouts, and the client gets
// either the whole answer exactly (text and usage) or an explicit error: never a hang, never a
// silent short answer, never a repeated or skipped token.
import fc from 'fast-check';
import { SampledWarning } from '../src/observability/sampled-warning.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerResponse } from 'node:http';
import type { Delta } from '../src/engine-adapters/adapter.js';
import { ErrorCode } from '../src/errors.js';
import { GatewayMetrics } from '../src/observability/gateway-metrics.js';
import { silentLogger } from '../src/observability/logger.js';
import type { ReplyFrame } from '../src/actors/gateway/reply.protocol.js';
import { defaultSessionLimits, RequestSession } from '../src/actors/gateway/request-session.js';
import type { Inbound } from '../src/transport/transport.js';
import { sessionWiring } from '../src/actors/gateway/session-test-support.js';

/** What one worker does with one dispatch. */
type Script =
  | { type: 'complete' }
  | { type: 'error-after'; tokens: number; retryable: boolean }
  | { type: 'silent-after'; tokens: number }
  | { type: 'gap-after'; tokens: number }
  | { type: 'never-accepts' }
  | { type: 'no-responders' };

const scriptArb: fc.Arbitrary<Script> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ type: 'complete' as const }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('error-after' as const), tokens: fc.nat(12), retryable: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('silent-after' as const), tokens: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('gap-after' as const), tokens: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.constant({ type: 'never-accepts' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'no-responders' as const }) },
);

const caseArb = fc.record({
  answerTokens: fc.integer({ min: 1, max: 12 }),
  stream: fc.boolean(),
  migrations: fc.integer({ min: 0, max: 3 }),
  scripts: fc.array(scriptArb, { minLength: 1, maxLength: 8 }),
  /** The client leaves after this many fleet steps, if set. */
  clientLeavesAt: fc.option(fc.nat(30), { nil: undefined }),
  /** Tokens per chunk frame. */
  perFrame: fc.integer({ min: 1, max: 3 }),
});

const word = (i: number): string => (i === 0 ? 'w0' : ` w${i}`);


/** The text and usage a client read from an SSE body, and how it ended. */
function readSse(body: string): { text: string; done: boolean; error: boolean; completion?: number } {
  let text = '';
  let done = false;
  let error = false;
  let completion: number | undefined;
  for (const event of body.split('\n\n').filter(Boolean)) {
    const lines = event.split('\n');
    if (lines.includes('event: error')) error = true;
    const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
    if (!data) continue;
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    const chunk = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens: number } };
    if (chunk.usage) completion = chunk.usage.completion_tokens;
    for (const c of chunk.choices ?? []) text += c.delta?.content ?? "";
  }
  return { text, done, error, ...(completion !== undefined ? { completion } : {}) };
}

describe('request session', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends exactly once, within its timeouts, with the exact answer or an explicit error, whatever the workers do', () => {
    fc.assert(fc.property(caseArb, (c) => {
      let now = 1_000_000;
      vi.setSystemTime(now);
      const answer = Array.from({ length: c.answerTokens }, (_, i) => word(i));
      const { dispatches, transport, replies, live, ends, res } = sessionWiring();
      const limits = { ...defaultSessionLimits };
      const session = new RequestSession({
        transport, metrics: new GatewayMetrics({ defaultMetrics: false }), log: silentLogger(), limits, forgedFrames: new SampledWarning(silentLogger(), 'forged'),
        replies,
        requestId: 'r1', traceparent: '00-0-0-00', deadline: now + 600_000, functionId: 'demo', model: 'm', clientModel: 'demo/m',
        request: { operation: 'chat', model: 'demo/m', stream: c.stream, includeUsage: true, body: { max_tokens: c.answerTokens, messages: [] } },
        tokenizer: 'o200k', promptTokens: 7, routing: { tokens: 20 }, migrationAttempts: c.migrations, debug: false, streamId: 'AAAAAAAAAAAAAAAAAAAAAA',
        onEnd: (e) => ends.push(e), res: res as unknown as ServerResponse, arrivedAt: process.hrtime.bigint(), onClose: () => undefined,
      });
      const deliver = (reply: string, frame: ReplyFrame | undefined, noResponders = false): void => {
        // The gateway drops frames to replies it closed; the session sees only live ones.
        if (!live.has(reply)) return;
        session.onMessage({ subject: reply, reply: undefined, headers: {}, body: frame, noResponders, raw: new Uint8Array() } as Inbound);
      };
      const advance = (ms: number): void => {
        now += ms;
        vi.setSystemTime(now);
        session.checkTimeout(now);
      };

      session.dispatch();
      let steps = 0;
      const leave = (): void => {
        if (c.clientLeavesAt !== undefined && steps++ === c.clientLeavesAt) session.clientGone();
      };
      for (let handled = 0; handled < dispatches.length && ends.length === 0; handled++) {
        const { request, reply } = dispatches[handled]!;
        const script = c.scripts[handled % c.scripts.length]!;
        // A worker continues from exactly what the client has (as the simulator does).
        const from = request.continuation?.tokens ?? 0;
        if (request.continuation) expect(request.continuation.text).toBe(answer.slice(0, from).join(''));
        leave();
        if (script.type === 'no-responders') {
          deliver(reply, undefined, true);
          continue;
        }
        if (script.type === 'never-accepts') {
          advance(limits.acceptTimeoutMs + 1);
          continue;
        }
        deliver(reply, { type: 'accepted', requestId: 'r1', workerId: `w${handled % 3}` });
        const stopAt = script.type === 'complete' ? answer.length : Math.min(answer.length, from + script.tokens);
        let seq = 0;
        for (let i = from; i < stopAt; i += c.perFrame) {
          const deltas: Delta[] = answer.slice(i, Math.min(stopAt, i + c.perFrame)).map((text) => ({ index: 0, text }));
          if (i + c.perFrame >= answer.length && script.type === 'complete') deltas.at(-1)!.finishReason = 'length';
          deliver(reply, { type: 'chunk', seq: seq++, deltas });
          leave();
          advance(10);
        }
        switch (script.type) {
          case 'complete':
            deliver(reply, { type: 'end', seq: seq++, completionTokens: answer.length - from, usage: { promptTokens: 7 + from, completionTokens: answer.length - from } });
            break;
          case 'error-after':
            deliver(reply, { type: 'error', seq: seq++, workerId: `w${handled % 3}`, error: { code: ErrorCode.upstreamError, message: 'engine died', retryable: script.retryable } });
            break;
          case 'silent-after':
            advance(limits.livenessTimeoutMs + 1);
            break;
          case 'gap-after':
            deliver(reply, { type: 'alive', seq: seq + 1 });
            break;
        }
        leave();
        // A cancelled request is confirmed by its worker.
        deliver(reply, { type: 'cancelled', requestId: 'r1' });
      }
      // The fleet has nothing more to say: within the timeouts, the session must end by itself.
      for (let i = 0; i < 20 && ends.length === 0; i++) advance(limits.acceptTimeoutMs + 1);

      expect(ends, 'the session ends exactly once').toHaveLength(1);
      const end = ends[0]!;
      if (end.outcome === 'cancelled') return;
      expect(res.ended || res.destroyed, 'the response is ended').toBe(true);
      if (!c.stream) {
        if (end.outcome === 'ok') {
          const json = JSON.parse(res.body) as { choices: Array<{ message: { content: string } }>; usage: { completion_tokens: number } };
          expect(json.choices[0]?.message.content).toBe(answer.join(''));
          expect(json.usage.completion_tokens).toBe(answer.length);
        } else {
          expect(res.status).toBeGreaterThanOrEqual(400);
        }
        return;
      }
      const read = readSse(res.body);
      // What the client has is always a prefix of the answer: nothing repeated, nothing skipped.
      expect(answer.join('').startsWith(read.text)).toBe(true);
      if (end.outcome === 'ok') {
        expect(read.done).toBe(true);
        expect(read.text).toBe(answer.join(''));
        expect(read.completion).toBe(answer.length);
        expect(end.promptTokens).toBe(7);
        expect(end.completionTokens).toBe(answer.length);
      } else {
        // Never a clean end short of the answer.
        expect(read.done).toBe(false);
        expect(read.error || (res.status !== undefined && res.status >= 400)).toBe(true);
      }
    }), { numRuns: 2_000 });
  });
});
