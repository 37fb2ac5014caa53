// Ids from the random pool: the right length and alphabet, and never repeated, across refills.
import { describe, expect, it } from 'vitest';
import { randomBase64url, randomHex } from './random-pool.js';
import { isStreamId, newStreamId } from './stream-journal.js';

describe('random pool', () => {
  it('gives fresh ids of the asked size across many refills of its 4 KiB pool', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3_000; i++) {
      const hex = randomHex(12);
      const b64 = randomBase64url(16);
      expect(hex).toMatch(/^[0-9a-f]{24}$/);
      expect(b64).toMatch(/^[A-Za-z0-9_-]{22}$/);
      ids.add(hex).add(b64);
    }
    expect(ids.size, '3,000 × 28 bytes is ~20 refills: no id repeated').toBe(6_000);
    expect(isStreamId(newStreamId())).toBe(true);
  });
});
