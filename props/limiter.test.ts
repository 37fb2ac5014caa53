/**
 * The rate limiter's invariants (src/policy/limiter-state.ts), over random sequences of
 * reservations (fixed and flexible completion budgets), settlements and time passing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BucketRef, LimiterState } from '../src/policy/limiter-state.js';

const buckets: BucketRef[] = [
  { scope: 'model:fn/m', spec: '500-S,2000-M', counts: 'tokens' },
  { scope: 'model:fn/m', spec: 'completion:300-S', counts: 'tokens' },
  { scope: 'tenant:t', spec: '8-S', counts: 'requests' },
];
const rules = [
  { kind: 'tokens', limit: 500, windowMs: 1_000 },
  { kind: 'tokens', limit: 2_000, windowMs: 60_000 },
  { kind: 'completion', limit: 300, windowMs: 1_000 },
  { kind: 'requests', limit: 8, windowMs: 1_000 },
] as const;

const opArb = fc.oneof(
  fc.record({ op: fc.constant('reserve' as const), prompt: fc.integer({ min: 1, max: 200 }), wanted: fc.integer({ min: 1, max: 300 }), flexible: fc.boolean() }),
  fc.record({ op: fc.constant('settle' as const), pick: fc.nat(), used: fc.double({ min: 0, max: 1.5, noNaN: true }) }),
  fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 700 }) }),
);

interface Admission {
  id: string;
  at: number;
  prompt: number;
  completion: number;
  settled?: { prompt: number; completion: number };
}

const amountOf = (kind: (typeof rules)[number]['kind'], prompt: number, completion: number): number =>
  kind === 'requests' ? 1 : kind === 'completion' ? completion : prompt + completion;

describe('rate limiter', () => {
  it('never admits more than a limit in any window, never reports remaining above a limit, and reconciles every reservation', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
        const state = new LimiterState();
        const admitted: Admission[] = [];
        let now = 0;
        let n = 0;
        for (const op of ops) {
          if (op.op === 'wait') now += op.ms;
          else if (op.op === 'reserve') {
            const id = `r${n++}`;
            const result = state.reserve({ id, buckets, promptTokens: op.prompt, completion: { wanted: op.wanted, flexible: op.flexible } }, now);
            for (const s of result.states) {
              expect(s.remaining).toBeGreaterThanOrEqual(0);
              expect(s.remaining).toBeLessThanOrEqual(s.limit);
            }
            if (result.ok) {
              if (!op.flexible) expect(result.completionTokens).toBe(op.wanted);
              expect(result.completionTokens).toBeLessThanOrEqual(op.wanted);
              admitted.push({ id, at: now, prompt: op.prompt, completion: result.completionTokens });
            } else {
              expect(result.limited.retryAfterMs).toBeGreaterThan(0);
            }
          } else {
            const open = admitted.filter((a) => !a.settled);
            const a = open[op.pick % Math.max(1, open.length)];
            if (!a) continue;
            const used = { prompt: Math.round(a.prompt * op.used), completion: Math.round(a.completion * op.used) };
            expect(state.settle(a.id, { promptTokens: used.prompt, completionTokens: used.completion })).toBe(true);
            a.settled = used;
          }
          // In every window ending at an admission, what is charged fits the limit: the reservation,
          // or after settlement what was used (never more than the reservation).
          const charged = (rule: (typeof rules)[number], a: Admission): number => {
            const reserved = amountOf(rule.kind, a.prompt, a.completion);
            return a.settled ? Math.min(reserved, amountOf(rule.kind, a.settled.prompt, a.settled.completion)) : reserved;
          };
          for (const rule of rules) {
            for (const end of admitted) {
              const inWindow = admitted.filter((a) => a.at > end.at - rule.windowMs && a.at <= end.at);
              expect(inWindow.reduce((sum, a) => sum + charged(rule, a), 0)).toBeLessThanOrEqual(rule.limit);
            }
          }
        }
        for (const a of admitted.filter((x) => !x.settled)) expect(state.settle(a.id, { promptTokens: 0, completionTokens: 0 })).toBe(true);
        expect(state.reservations).toBe(0);
        // Once every window has passed, every limit is whole again.
        const later = state.reserve({ id: 'after', buckets, promptTokens: 1, completion: { wanted: 1, flexible: false } }, now + 60_001);
        expect(later.ok).toBe(true);
        for (const s of later.states) expect(s.remaining).toBe(s.limit - amountOf(s.kind as never, 1, 1));
      }),
      { numRuns: 300 },
    );
  });

  it('says exactly when enough quota returns: refused just before retry-after, admitted at it', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ gap: fc.integer({ min: 0, max: 300 }), tokens: fc.integer({ min: 1, max: 250 }) }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 400 }), (history, ask) => {
          const state = new LimiterState();
          const one: BucketRef[] = [{ scope: 's', spec: '500-S', counts: 'tokens' }];
          let now = 0;
          history.forEach((h, i) => {
            now += h.gap;
            state.reserve({ id: `h${i}`, buckets: one, promptTokens: h.tokens, completion: { wanted: 0, flexible: false } }, now);
          });
          const result = state.reserve({ id: 'ask', buckets: one, promptTokens: ask, completion: { wanted: 0, flexible: false } }, now);
          if (result.ok) return;
          const wait = result.limited.retryAfterMs;
          expect(state.reserve({ id: 'early', buckets: one, promptTokens: ask, completion: { wanted: 0, flexible: false } }, now + wait - 1).ok).toBe(false);
          expect(state.reserve({ id: 'on-time', buckets: one, promptTokens: ask, completion: { wanted: 0, flexible: false } }, now + wait).ok).toBe(true);
        }),
      { numRuns: 500 },
    );
  });
});
