import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { SampledWarning } from './sampled-warning.js';

function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

describe('SampledWarning', () => {
  it('logs a key once per interval, then says how many it left out', () => {
    const { log, lines } = capture();
    let now = 0;
    const w = new SampledWarning(log, 'dropped a forged frame', 1_000, 16, () => now);
    for (let i = 0; i < 500; i++) w.warn('thief', { signer: 'thief', i });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'dropped a forged frame', signer: 'thief', i: 0 });
    now = 1_000;
    w.warn('thief', { signer: 'thief', i: 500 });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ i: 500, suppressed: 499, suppressedOverMs: 1_000 });
  });

  it('keeps keys apart, and at most maxKeys of them', () => {
    const { log, lines } = capture();
    const w = new SampledWarning(log, 'm', 60_000, 4, () => 0);
    for (let k = 0; k < 10; k++) w.warn(`k${k}`, {});
    expect(lines).toHaveLength(10);
    // k0 was forgotten (the oldest of ten past a bound of four): it is logged again; k9 is still held back.
    w.warn('k0', {});
    w.warn('k9', {});
    expect(lines).toHaveLength(11);
  });
});
