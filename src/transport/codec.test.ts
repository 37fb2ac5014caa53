import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from './codec.js';

describe('codec - msgpack frames', () => {
  it('round-trips any JSON-like frame', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(decode(encode(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('decodes an empty payload as undefined (the server status messages have no body)', () => {
    expect(decode(new Uint8Array())).toBeUndefined();
  });
});
