// A worker's load reports as a router believes them: the prefill still queued must be a plain count.
import { describe, expect, it } from 'vitest';
import { parseRegistryEvent } from './registry.protocol.js';
import { workerDescriptor, workerLoad } from './router-test-support.js';

describe('registry events - the prefill a worker reports queued', () => {
  it('takes a whole number of tokens from 0 to 10⁹ in a load event, and its absence', () => {
    expect(parseRegistryEvent({ type: 'load', workerId: 'w', inFlight: 2, prefilling: 1_200 })).toEqual({ type: 'load', workerId: 'w', inFlight: 2, prefilling: 1_200 });
    expect(parseRegistryEvent({ type: 'load', workerId: 'w', inFlight: 2 })).toEqual({ type: 'load', workerId: 'w', inFlight: 2 });
    expect(parseRegistryEvent({ type: 'load', workerId: 'w', inFlight: 2, prefilling: 1e9 })).toMatchObject({ prefilling: 1e9 });
  });

  it.each([-1, 0.5, 1e9 + 1, Number.NaN, Number.POSITIVE_INFINITY, '12', null, { tokens: 1 }])('refuses a load event or heartbeat claiming %s', (prefilling) => {
    expect(parseRegistryEvent({ type: 'load', workerId: 'w', inFlight: 2, prefilling })).toBeUndefined();
    const beat = { type: 'heartbeat', worker: workerDescriptor('w'), load: { ...workerLoad({ inFlight: 2 }), prefilling } };
    expect(parseRegistryEvent(beat)).toBeUndefined();
    expect(parseRegistryEvent({ ...beat, load: { ...beat.load, prefilling: 7 } })).toMatchObject({ load: { prefilling: 7 } });
  });
});
