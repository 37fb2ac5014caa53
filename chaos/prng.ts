/**
 * A seeded PRNG (xorshift32) and the seed of one trial, so every schedule the suite runs can be run
 * again from the seeds it prints.
 */

import { seededRandom } from '../src/actors/router/router-test-support.js';

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** `count` distinct indices of [0, n), in random order. */
  sample(n: number, count: number): number[];
}

export function createRng(seed: number): Rng {
  const next = seededRandom(seed >>> 0 || 0x9e3779b9);
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(0, items.length - 1)] as T;
    },
    sample: (n, count) => {
      const all = Array.from({ length: n }, (_, i) => i);
      for (let i = all.length - 1; i > 0; i--) {
        const j = int(0, i);
        [all[i], all[j]] = [all[j] as number, all[i] as number];
      }
      return all.slice(0, Math.min(count, n));
    },
  };
}

/** A trial's seed from the suite seed, its class and its index: a class's trials do not depend on which other classes run. */
export function trialSeed(suiteSeed: number, className: string, index: number): number {
  let h = (suiteSeed ^ 0x811c9dc5) >>> 0;
  for (const c of `${className}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  // murmur3's finalizer: neighbouring indices get unrelated seeds.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const hex = (seed: number): string => `0x${(seed >>> 0).toString(16).padStart(8, '0')}`;

/** Parses `0x1a2b` or `6699`. */
export function parseSeed(text: string): number {
  const n = text.startsWith('0x') ? Number.parseInt(text.slice(2), 16) : Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new Error(`--seed must be a 32-bit unsigned integer, got '${text}'`);
  return n;
}
