import { describe, expect, it } from 'vitest';
import { reconcileUsage } from './usage-reconcile.js';

const counted = { promptTokens: 40, completionTokens: 12 };

describe('reconcileUsage', () => {
  it("uses llmux's counts when the engine reported none", () => {
    expect(reconcileUsage(undefined, counted)).toEqual({ usage: counted, differences: {} });
  });

  it("lets the engine's counts win and records how far llmux was off", () => {
    expect(reconcileUsage({ promptTokens: 42, completionTokens: 12, cachedTokens: 32 }, counted)).toEqual({
      usage: { promptTokens: 42, completionTokens: 12, cachedTokens: 32 },
      differences: { prompt: 2, completion: 0 },
    });
  });

  it('fills in only what the engine left out (TGI reports completions, not prompts)', () => {
    expect(reconcileUsage({ completionTokens: 11 }, counted)).toEqual({
      usage: { promptTokens: 40, completionTokens: 11 },
      differences: { completion: -1 },
    });
  });
});

describe('usage reconcile - counts that cannot be billed', () => {
  it('ignores negative, fractional and infinite counts from the engine or a worker frame, keeping its own', () => {
    const { usage } = reconcileUsage({ promptTokens: -5, completionTokens: 1.5, cachedTokens: Infinity }, { promptTokens: 7, completionTokens: 3 });
    expect(usage).toEqual({ promptTokens: 7, completionTokens: 3 });
    expect(reconcileUsage(undefined, { promptTokens: 7, completionTokens: -1e9 }).usage.completionTokens).toBe(0);
  });
});
