/** Quantiles from cumulative histogram buckets, as Prometheus' histogram_quantile does them. */
import type { Buckets } from './stats-snapshot.js';

/**
 * The q-quantile (0..1) of the observations counted in `buckets`, interpolated linearly within the
 * bucket it falls in; undefined without observations. Past the last finite bound it is that bound.
 */
export function quantile(buckets: Buckets, q: number): number | undefined {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(bound)) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket <= 0 ? bound : lowerBound + (bound - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}

/** `now - before`, bucket by bucket: the observations between two snapshots (a reset counts from zero). */
export function bucketsSince(now: Buckets, before: Buckets | undefined): Buckets {
  if (!before || before.length !== now.length || (before.at(-1)?.[1] ?? 0) > (now.at(-1)?.[1] ?? 0)) return now;
  return now.map(([bound, count], i) => [bound, count - (before[i]?.[1] ?? 0)]);
}
