import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSegment, encodeSegment, subjects } from '../src/transport/subjects.js';

describe('subjects - user input can never act as a NATS token or wildcard', () => {
  it('encodes any string to one safe token and back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const encoded = encodeSegment(s);
        expect(encoded).toMatch(/^[A-Za-z0-9_~-]+$/);
        expect(decodeSegment(encoded)).toBe(s);
      }),
      { numRuns: 1000 },
    );
  });

  it('is injective: different inputs never share a subject', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        fc.pre(a !== b);
        expect(encodeSegment(a)).not.toBe(encodeSegment(b));
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps model names with dots, slashes and wildcards inside one segment', () => {
    const subject = subjects.route('meta-llama/Llama-3.1-8B.*>');
    expect(subject.split('.')).toHaveLength(3);
    expect(subject).not.toMatch(/[*>]/);
    expect(subjects.workerInfer('a.b')).toBe('llmux.worker.a~2eb.infer');
  });
});
