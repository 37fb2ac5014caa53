// The hand-written traceparent check against the W3C grammar written as a regex, on random and edge inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { spanIdOf, traceFlagsOf, traceIdOf, validTraceId, validTraceparent } from './traceparent.js';

const GRAMMAR = /^00-(?!0{32})([0-9a-f]{32})-(?!0{16})([0-9a-f]{16})-([0-9a-f]{2})$/;

const hexChar = fc.constantFrom(...'0123456789abcdef');
const nearHex = fc.constantFrom(...'0123456789abcdefABCDEFgz-/:`G\u00e9\u0660');
const hexOf = (n: number, char = hexChar) => fc.array(char, { minLength: n, maxLength: n }).map((cs) => cs.join(''));
/** Mostly well-formed headers, a character changed here and there, and the all-zero ids. */
const candidate = fc.oneof(
  fc.tuple(hexOf(32), hexOf(16), hexOf(2)).map(([t, s, f]) => `00-${t}-${s}-${f}`),
  fc.tuple(hexOf(32, nearHex), hexOf(16, nearHex), hexOf(2, nearHex), fc.constantFrom('00', '01', 'ff', '0')).map(([t, s, f, v]) => `${v}-${t}-${s}-${f}`),
  fc.tuple(hexOf(32), hexOf(16), fc.nat(54), fc.string({ maxLength: 2 })).map(([t, s, at, ins]) => {
    const base = `00-${t}-${s}-01`;
    return base.slice(0, at) + ins + base.slice(at + ins.length);
  }),
  fc.constantFrom(`00-${'0'.repeat(32)}-b7ad6b7169203331-01`, `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`, '', '00-'),
  fc.string({ maxLength: 60 }),
);

describe('traceparent', () => {
  it('accepts exactly what the W3C grammar accepts, and reads the same ids and flags', () => {
    fc.assert(fc.property(candidate, (s) => {
      const m = GRAMMAR.exec(s);
      expect(validTraceparent(s)).toBe(m !== null);
      const id = s.slice(3, 35);
      expect(validTraceId(id)).toBe(/^(?!0{32})[0-9a-f]{32}$/.test(id));
      if (m) {
        expect(traceIdOf(s)).toBe(m[1]);
        expect(spanIdOf(s)).toBe(m[2]);
        expect(traceFlagsOf(s)).toBe(parseInt(m[3] as string, 16));
      }
    }), { numRuns: 5_000 });
  });

  it('refuses a missing header, uppercase hex and all-zero ids', () => {
    expect(validTraceparent(undefined)).toBe(false);
    expect(validTraceparent('00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01')).toBe(false);
    expect(validTraceparent(`00-${'0'.repeat(32)}-b7ad6b7169203331-01`)).toBe(false);
    expect(validTraceparent(`00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`)).toBe(false);
    expect(validTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBe(true);
  });
});
