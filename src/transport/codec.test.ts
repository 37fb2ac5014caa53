import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from './codec.js';

const hasProtoKey = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && (Object.hasOwn(v, '__proto__') || Object.values(v).some(hasProtoKey));

describe('codec - msgpack frames', () => {
  it('round-trips any JSON-like frame', () => {
    fc.assert(
      fc.property(fc.jsonValue().filter((v) => !hasProtoKey(JSON.parse(JSON.stringify(v)))), (value) => {
        expect(decode(encode(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('never turns a "__proto__" key from user input into a prototype', () => {
    // msgpackr renames the key rather than letting it reach Object.prototype: that is the point.
    const hostile = JSON.parse('{"body":{"__proto__":{"polluted":true}}}') as unknown;
    const decoded = decode(encode(hostile)) as { body: Record<string, unknown> };
    expect(Object.getPrototypeOf(decoded.body)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect((decoded.body as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('decodes an empty payload as undefined (the server status messages have no body)', () => {
    expect(decode(new Uint8Array())).toBeUndefined();
  });
});
