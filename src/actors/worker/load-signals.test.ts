import { describe, expect, it } from 'vitest';
import { PeakEwma } from './peak-ewma.js';
import { UsageWindow } from './usage-window.js';

describe('peak-EWMA', () => {
  it('jumps to a slower sample at once and decays towards faster ones with time', () => {
    const e = new PeakEwma(1_000);
    e.observe(100, 0);
    e.observe(400, 10);
    expect(e.value).toBe(400);
    e.observe(100, 10); // no time passed: no decay
    expect(e.value).toBe(400);
    e.observe(100, 1_010); // one time constant: 1/e of the gap remains
    expect(e.value).toBeCloseTo(100 + 300 / Math.E, 6);
    for (let t = 2_000; t < 20_000; t += 1_000) e.observe(100, t);
    expect(e.value).toBeCloseTo(100, 3);
  });
});

describe('usage window', () => {
  it('sums tokens and requests of the last minute and forgets older buckets', () => {
    const u = new UsageWindow();
    u.add(100, 0);
    u.add(50, 15_000);
    expect(u.perMinute(20_000)).toEqual({ tokensPerMinute: 150, requestsPerMinute: 2 });
    expect(u.perMinute(61_000)).toEqual({ tokensPerMinute: 50, requestsPerMinute: 1 });
    u.add(7, 70_000); // the window is whole 10 s buckets: at 70 s it starts at 20 s
    expect(u.perMinute(70_000)).toEqual({ tokensPerMinute: 7, requestsPerMinute: 1 });
    expect(u.perMinute(200_000)).toEqual({ tokensPerMinute: 0, requestsPerMinute: 0 });
  });
});
