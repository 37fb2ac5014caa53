import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSegment, encodeSegment, spilledFrom, subjects } from '../src/transport/subjects.js';

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

  it('keeps cluster names in one segment: scoped registry, summary and spill subjects have a fixed shape, and a spill names its origin', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (to, from, fn, worker) => {
        expect(subjects.registry(to, worker).split('.')).toHaveLength(4);
        expect(subjects.summary(to).split('.')).toHaveLength(3);
        const spill = subjects.spill(to, fn, from);
        expect(spill.split('.')).toHaveLength(6);
        expect(spill).not.toMatch(/[*>\s]/);
        expect(spilledFrom(spill)).toBe(from);
        // Distinct clusters never share a registry subject, so one cluster's router never hears another's workers.
        fc.pre(to !== from);
        expect(subjects.registry(to, worker)).not.toBe(subjects.registry(from, worker));
      }),
      { numRuns: 500 },
    );
    expect(spilledFrom(subjects.route('fn'))).toBeUndefined();
    expect(spilledFrom('llmux.cluster.b.route.fn.~zz')).toBeUndefined();
  });
});
