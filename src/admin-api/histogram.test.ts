import { describe, expect, it } from 'vitest';
import { bucketsSince, quantile } from './histogram.js';

const inf = Number.POSITIVE_INFINITY;

describe('histogram quantiles', () => {
  it('interpolates within the bucket the rank falls in, as histogram_quantile does', () => {
    // 10 observations: 4 at or below 0.1 s, 8 at or below 0.5 s, all at or below 1 s.
    const buckets: Array<[number, number]> = [[0.1, 4], [0.5, 8], [1, 10], [inf, 10]];
    expect(quantile(buckets, 0.5)).toBeCloseTo(0.1 + 0.4 * (1 / 4));
    expect(quantile(buckets, 0.95)).toBeCloseTo(0.5 + 0.5 * (1.5 / 2));
    expect(quantile(buckets, 0.2)).toBeCloseTo(0.05);
  });

  it('has no quantile without observations, and past the last finite bound it is that bound', () => {
    expect(quantile([[0.1, 0], [inf, 0]], 0.5)).toBeUndefined();
    expect(quantile([[0.1, 0], [1, 0], [inf, 3]], 0.5)).toBe(1);
  });

  it('diffs two snapshots bucket by bucket, and starts over when the counters went back (a restart)', () => {
    const before: Array<[number, number]> = [[0.1, 1], [1, 2], [inf, 2]];
    const now: Array<[number, number]> = [[0.1, 1], [1, 5], [inf, 6]];
    expect(bucketsSince(now, before)).toEqual([[0.1, 0], [1, 3], [inf, 4]]);
    expect(bucketsSince(before, now)).toEqual(before);
    expect(bucketsSince(now, undefined)).toEqual(now);
  });
});
