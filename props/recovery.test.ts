// The session's recovery rules, on their own (recovery.ts): what a retryable failure leads to, for
// any number of tries and migrations, any delivered output and any limit on the completion.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Delivered } from '../src/actors/gateway/delivered.js';
import { planRecovery, type RecoveryState } from '../src/actors/gateway/recovery.js';
import type { Delta } from '../src/engine-adapters/adapter.js';

const deltaArb: fc.Arbitrary<Delta> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ index: fc.constant(0), text: fc.string({ minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ index: fc.constant(1), text: fc.string({ minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ index: fc.constant(0), reasoning: fc.string({ maxLength: 4 }) }) },
);

const stateArb = fc.record({
  started: fc.boolean(),
  tries: fc.nat(5),
  maxAttempts: fc.integer({ min: 1, max: 5 }),
  migrations: fc.nat(4),
  migrationAttempts: fc.nat(3),
  deltas: fc.array(deltaArb, { maxLength: 20 }),
  maxTokens: fc.option(fc.nat(30), { nil: undefined }),
  structured: fc.boolean(),
  retryable: fc.boolean(),
});

describe('recovery', () => {
  it('fails what is not retryable, retries whole before output, and carries on after it exactly when migration is allowed and the output plain text', () => {
    fc.assert(fc.property(stateArb, (c) => {
      const delivered = new Delivered();
      delivered.add(c.deltas);
      const state: RecoveryState = {
        request: { operation: 'chat', model: 'm', stream: true, includeUsage: false,
          body: { messages: [], ...(c.maxTokens !== undefined ? { max_tokens: c.maxTokens } : {}), ...(c.structured ? { response_format: { type: 'json_object' } } : {}) } },
        started: c.started, tries: c.tries, maxAttempts: c.maxAttempts, migrations: c.migrations, migrationAttempts: c.migrationAttempts, delivered,
      };
      const plan = planRecovery({ code: 'upstream_error', retryable: c.retryable, message: 'x' }, state);
      const plainText = c.deltas.every((d) => d.index === 0 && d.reasoning === undefined);
      const want = !c.retryable ? 'fail'
        : !c.started ? (c.tries + 1 < c.maxAttempts ? 'retry' : 'fail')
          : c.migrations >= c.migrationAttempts || !plainText || c.structured ? 'unmigratable' : undefined;
      if (want !== undefined) {
        expect(plan.type).toBe(want);
        return;
      }
      expect(plan.type === 'migrate' || plan.type === 'complete').toBe(true);
      if (plan.type !== 'migrate' && plan.type !== 'complete') return;
      // Exactly what the client has, and what is left of its limit.
      expect(plan.continuation.text).toBe(c.deltas.map((d) => d.text ?? '').join(''));
      expect(plan.continuation.tokens).toBe(c.deltas.filter((d) => d.text).length);
      if (c.maxTokens === undefined) expect(plan.continuation.maxTokens).toBeUndefined();
      else expect(plan.continuation.maxTokens).toBe(Math.max(0, c.maxTokens - plan.continuation.tokens));
      expect(plan.type).toBe(plan.continuation.maxTokens === 0 ? 'complete' : 'migrate');
    }), { numRuns: 2000 });
  });
});
