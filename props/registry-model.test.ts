/**
 * Model-based test of the router's registry and routing (fast-check commands): random sequences of
 * register, heartbeat, load events, failure reports, drain, deregister, time passing (with expiry sweeps) and
 * routing run against the real WorkerTable + decide(), and against a plain model of what must hold.
 * After every route the model says which workers may take it: the decision's eligible set must be
 * exactly that, and the router must pick one of them whenever one exists.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultBreakerPolicy } from '../src/actors/router/circuit-breaker.js';
import { decide } from '../src/actors/router/decision.js';
import { routingRequest, workerDescriptor, workerLoad } from '../src/actors/router/router-test-support.js';
import { newRoutingState, type RoutingState } from '../src/actors/router/routing-request.js';
import { expiryFactor, WorkerTable } from '../src/actors/router/worker-table.js';
import { seededRandom } from './support.js';

const heartbeatMs = 1_000;
const { cooldownMs, maxCooldownMs } = defaultBreakerPolicy;

interface ModelWorker {
  capacity: number;
  reportedInFlight: number;
  routedSinceReport: number;
  draining: boolean;
  lastSeen: number;
  ok: number;
  failed: number;
  /** Circuit: undefined when closed. */
  openedAt?: number;
  cooldown: number;
}

interface Model {
  now: number;
  workers: Map<string, ModelWorker>;
}

interface Real {
  table: WorkerTable;
  state: RoutingState;
}

function report(real: Real, model: Model, id: string, w: ModelWorker): void {
  real.table.upsert(workerDescriptor(id, { capacity: w.capacity, heartbeatMs }),
    workerLoad({ inFlight: w.reportedInFlight, state: w.draining ? 'draining' : 'active', outcomes: { ok: w.ok, failed: w.failed } }), model.now);
  w.lastSeen = model.now;
  w.routedSinceReport = 0;
}

function routable(w: ModelWorker, now: number, excluded: boolean): boolean {
  if (excluded || w.draining) return false;
  const load = w.reportedInFlight + w.routedSinceReport;
  if (w.openedAt !== undefined) {
    if (now - w.openedAt < w.cooldown) return false; // open
    if (load > 0) return false; // half-open: one probe at a time
  }
  return load < w.capacity;
}

const idArb = fc.constantFrom('w0', 'w1', 'w2', 'w3', 'w4');

class Register implements fc.Command<Model, Real> {
  constructor(readonly id: string, readonly capacity: number) {}
  check = (m: Readonly<Model>) => !m.workers.has(this.id);
  run(m: Model, r: Real): void {
    const w: ModelWorker = { capacity: this.capacity, reportedInFlight: 0, routedSinceReport: 0, draining: false, lastSeen: m.now, ok: 0, failed: 0, cooldown: cooldownMs };
    m.workers.set(this.id, w);
    report(r, m, this.id, w);
  }
  toString = () => `register(${this.id}, capacity ${this.capacity})`;
}

/** A heartbeat reporting `inFlight` and `ok` successes since the last one (closes a half-open circuit). */
class Heartbeat implements fc.Command<Model, Real> {
  constructor(readonly id: string, readonly inFlight: number, readonly ok: number) {}
  check = (m: Readonly<Model>) => m.workers.has(this.id);
  run(m: Model, r: Real): void {
    const w = m.workers.get(this.id)!;
    w.reportedInFlight = Math.min(this.inFlight, w.capacity + 2);
    w.ok += this.ok;
    const halfOpen = w.openedAt !== undefined && m.now - w.openedAt >= w.cooldown;
    if (halfOpen && this.ok > 0) {
      w.openedAt = undefined;
      w.cooldown = cooldownMs;
    }
    report(r, m, this.id, w);
  }
  toString = () => `heartbeat(${this.id}, inFlight ${this.inFlight}, ok +${this.ok})`;
}

/** A load event between heartbeats: the in-flight count alone. */
class LoadEvent implements fc.Command<Model, Real> {
  constructor(readonly id: string, readonly inFlight: number) {}
  check = (m: Readonly<Model>) => m.workers.has(this.id);
  run(m: Model, r: Real): void {
    const w = m.workers.get(this.id)!;
    w.reportedInFlight = this.inFlight;
    w.routedSinceReport = 0;
    w.lastSeen = m.now;
    r.table.updateInFlight(this.id, this.inFlight, m.now);
  }
  toString = () => `load(${this.id}, inFlight ${this.inFlight})`;
}

/** A heartbeat reporting only failures, at least the breaker's minimum: opens a closed circuit, re-opens a half-open one. */
class Fail implements fc.Command<Model, Real> {
  constructor(readonly id: string, readonly failures: number) {}
  check = (m: Readonly<Model>) => m.workers.has(this.id);
  run(m: Model, r: Real): void {
    const w = m.workers.get(this.id)!;
    w.failed += this.failures;
    if (w.openedAt === undefined) {
      w.openedAt = m.now;
      w.cooldown = cooldownMs;
    } else if (m.now - w.openedAt >= w.cooldown) {
      w.openedAt = m.now;
      w.cooldown = Math.min(w.cooldown * 2, maxCooldownMs);
    }
    report(r, m, this.id, w);
  }
  toString = () => `fail(${this.id}, ${this.failures} failures)`;
}

class Drain implements fc.Command<Model, Real> {
  constructor(readonly id: string) {}
  check = (m: Readonly<Model>) => m.workers.has(this.id);
  run(m: Model, r: Real): void {
    const w = m.workers.get(this.id)!;
    w.draining = true;
    report(r, m, this.id, w);
  }
  toString = () => `drain(${this.id})`;
}

class Deregister implements fc.Command<Model, Real> {
  constructor(readonly id: string) {}
  check = (m: Readonly<Model>) => m.workers.has(this.id);
  run(m: Model, r: Real): void {
    m.workers.delete(this.id);
    expect(r.table.remove(this.id)).toBe(true);
  }
  toString = () => `deregister(${this.id})`;
}

/** Time passes; the router sweeps, and workers silent for 2.5 heartbeats must go (and only they). */
class Advance implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    m.now += this.ms;
    const expected = [...m.workers].filter(([, w]) => m.now - w.lastSeen > expiryFactor * heartbeatMs).map(([id]) => id).sort();
    expect(r.table.sweep(m.now).sort()).toEqual(expected);
    for (const id of expected) m.workers.delete(id);
  }
  toString = () => `advance(${this.ms} ms)`;
}

class Route implements fc.Command<Model, Real> {
  constructor(readonly exclude: string[]) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const allowed = [...m.workers].filter(([id, w]) => routable(w, m.now, this.exclude.includes(id))).map(([id]) => id);
    const { winner, candidates } = decide({ request: routingRequest({ exclude: this.exclude }), method: 'least-busy', options: {},
      fleet: r.table.fleet('fn'), state: r.state, now: m.now });
    // The decision record's eligible set is exactly the model's, and every other worker has a reason.
    expect(candidates.records().filter((c) => c.excluded === undefined).map((c) => c.workerId).sort()).toEqual([...allowed].sort());
    expect(candidates.length).toBe(m.workers.size);
    if (allowed.length === 0) {
      expect(winner).toBeUndefined();
      return;
    }
    expect(allowed).toContain(winner?.descriptor.workerId);
    r.table.routed(winner!.descriptor.workerId, 0);
    m.workers.get(winner!.descriptor.workerId)!.routedSinceReport++;
  }
  toString = () => `route(exclude [${this.exclude.join(', ')}])`;
}

const commands = [
  fc.tuple(idArb, fc.integer({ min: 1, max: 4 })).map(([id, c]) => new Register(id, c)),
  fc.tuple(idArb, fc.nat(5), fc.nat(3)).map(([id, n, ok]) => new Heartbeat(id, n, ok)),
  fc.tuple(idArb, fc.integer({ min: defaultBreakerPolicy.minFailures, max: 8 })).map(([id, n]) => new Fail(id, n)),
  fc.tuple(idArb, fc.nat(5)).map(([id, n]) => new LoadEvent(id, n)),
  idArb.map((id) => new Drain(id)),
  idArb.map((id) => new Deregister(id)),
  fc.constantFrom(100, 400, 1_500, 3_000, 6_000).map((ms) => new Advance(ms)),
  fc.subarray(['w0', 'w1', 'w2', 'w3', 'w4'], { maxLength: 2 }).map((ex) => new Route(ex)),
  fc.constant(new Route([])),
];

describe('registry - model-based (fc.commands)', () => {
  it('routes only to workers the model allows, through registration, heartbeats, failures, drains, departures and expiry', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 100, size: 'max' }), fc.nat(), (cmds, seed) => {
        const model: Model = { now: 0, workers: new Map() };
        const real: Real = { table: new WorkerTable(), state: newRoutingState(seededRandom(seed)) };
        fc.modelRun(() => ({ model, real }), cmds);
      }),
      { numRuns: 1000 },
    );
  });
});
