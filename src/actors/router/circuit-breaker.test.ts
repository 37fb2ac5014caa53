import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

const policy = { minFailures: 3, failureRatio: 0.5, cooldownMs: 1_000, maxCooldownMs: 4_000 };

describe('circuit breaker', () => {
  it('opens on a report with enough failures, half-opens after the cooldown, closes after a successful probe', () => {
    const b = new CircuitBreaker(policy);
    b.report({ ok: 0, failed: 0 }, 0);
    expect(b.report({ ok: 1, failed: 2 }, 100)).toBeUndefined(); // 2 failures: below the minimum
    expect(b.report({ ok: 2, failed: 5 }, 200)).toBe('opened'); // 3 of 4
    expect(b.state(1_100)).toBe('open');
    expect(b.state(1_200)).toBe('half-open');
    expect(b.report({ ok: 3, failed: 5 }, 1_300)).toBe('closed');
    expect(b.state(1_300)).toBe('closed');
  });

  it('does not open when failures are a minority of the outcomes', () => {
    const b = new CircuitBreaker(policy);
    b.report({ ok: 0, failed: 0 }, 0);
    expect(b.report({ ok: 10, failed: 4 }, 100)).toBeUndefined();
    expect(b.state(100)).toBe('closed');
  });

  it('re-opens a failed probe with a doubled cooldown, up to the maximum', () => {
    const b = new CircuitBreaker(policy);
    b.report({ ok: 0, failed: 0 }, 0);
    b.report({ ok: 0, failed: 3 }, 0);
    expect(b.report({ ok: 0, failed: 4 }, 1_000)).toBe('opened');
    expect(b.state(2_999)).toBe('open');
    expect(b.state(3_000)).toBe('half-open');
    b.report({ ok: 0, failed: 5 }, 3_000); // 4 s
    b.report({ ok: 0, failed: 6 }, 7_000); // capped at 4 s
    expect(b.state(10_999)).toBe('open');
    expect(b.state(11_000)).toBe('half-open');
  });

  it('ignores counters that went backwards (the worker restarted) and reports while open', () => {
    const b = new CircuitBreaker(policy);
    b.report({ ok: 50, failed: 50 }, 0);
    expect(b.report({ ok: 0, failed: 3 }, 10)).toBeUndefined();
    expect(b.report({ ok: 0, failed: 6 }, 20)).toBe('opened');
    expect(b.report({ ok: 0, failed: 20 }, 30)).toBeUndefined();
    expect(b.state(30)).toBe('open');
  });
});
