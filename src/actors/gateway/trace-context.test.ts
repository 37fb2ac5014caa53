// Trace and request ids drawn from the gateway's random pool: well-formed and never repeated, across refills.
import { describe, expect, it } from 'vitest';
import { requestIdFor, traceparentFor } from './trace-context.js';

describe('trace context', () => {
  it('starts a new, well-formed and distinct trace for every request, past several refills of the pool', () => {
    const made = Array.from({ length: 1_000 }, () => traceparentFor(undefined));
    for (const t of made) expect(t).toMatch(/^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-01$/);
    expect(new Set(made.map((t) => t.slice(3, 35))).size).toBe(made.length);
    expect(new Set(made.map((t) => t.slice(36, 52))).size).toBe(made.length);
  });

  it('keeps a valid incoming traceparent and request id, and replaces invalid ones', () => {
    const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(traceparentFor(incoming)).toBe(incoming);
    expect(traceparentFor('00-00000000000000000000000000000000-b7ad6b7169203331-01')).not.toContain('-00000000000000000000000000000000-');
    expect(requestIdFor('req-1')).toBe('req-1');
    const fresh = Array.from({ length: 500 }, () => requestIdFor('bad id!'));
    for (const id of fresh) expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(new Set(fresh).size).toBe(fresh.length);
  });
});
