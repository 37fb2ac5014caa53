import { describe, expect, it } from 'vitest';
import { CandidateTable, decide, type StoredDecision } from './decision.js';
import { DecisionLog } from './decision-log.js';
import { routingRequest, workerDescriptor, workerLoad } from './router-test-support.js';
import { newRoutingState } from './routing-request.js';
import { WorkerTable } from './worker-table.js';

const stored = (requestId: string, candidates: CandidateTable): StoredDecision => ({
  requestId, attempt: 1, routerId: 'r', at: 0, functionId: 'fn', model: 'm', method: 'least-busy', overridden: false,
  candidates, outcome: 'dispatched', cluster: 'local', locality: 'prefer', decisionMicros: 1,
});

describe('decision log', () => {
  it('hands a dropped record\'s buffer to the next decision, which keeps its own figures', () => {
    const table = new WorkerTable();
    for (const id of ['a', 'b', 'c']) table.upsert(workerDescriptor(id), workerLoad({ inFlight: 1 }), 0);
    const log = new DecisionLog(1);
    const decision = (id: string) => decide({ request: routingRequest({ requestId: id }), method: 'least-busy', options: {}, fleet: table.fleet('fn'), state: newRoutingState(), now: 0 });
    const first = decision('r1').candidates;
    log.add(stored('r1', first));
    table.updateInFlight('b', 5, 0);
    const second = decision('r2').candidates;
    log.add(stored('r2', second)); // drops r1
    expect(() => first.records()).toThrow(/released/);
    const third = decision('r3').candidates;
    expect(third.inFlight.buffer).toBe(first.inFlight.buffer);
    expect(third.records().map((c) => c.inFlight)).toEqual([1, 5, 1]);
    expect(third.summary()).toBe('3 worker(s): 3 eligible');
    expect(log.get('r2')?.[0]?.candidates.map((c) => c.inFlight)).toEqual([1, 5, 1]);
  });
});
