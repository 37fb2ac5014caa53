/**
 * One trial: K concurrent streams, one fault at a seeded time, then every stream classified; the
 * time until a fresh request succeeds again; how long the engines kept working after the clients
 * were gone; and the deployment restored (SIGCONT, restarts) so the next trial starts whole.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Classified, classify } from './classify.js';
import { apiKey, type Deployment } from './deployment.js';
import type { FaultClass, FaultSettings } from './faults.js';
import { createRng, hex } from './prng.js';
import { type RunningStream, startStream } from './stream-client.js';
import { chatBody, describePlan, expectedText, type StreamPlan, type WorkloadShape } from './workload.js';

export interface TrialSettings extends WorkloadShape {
  /** A stream with no end this long after it started is hung. */
  boundMs: number;
  /** Engines still busy this long after the last client's end (or the gateway kill) are doing orphaned work. */
  orphanMs: number;
  fault: FaultSettings;
}

export interface StreamResult extends Classified {
  index: number;
  workerId?: string;
  /** When the stream ended, relative to the fault (negative: before it). */
  endedAfterFaultMs: number;
}

export interface TrialResult {
  className: string;
  index: number;
  seed: string;
  schedule: { atMs: number; target: string; detail?: string; streams: string[] };
  streams: StreamResult[];
  /** Fault → the first fresh request that completed exactly; null when none did within the bound. */
  recoveryMs: number | null;
  /** Last client end (or the fault) → every engine idle; null when they were not idle within orphanMs + 5 s. */
  engineIdleMs: number | null;
  orphaned: boolean;
  restoreMs: number;
  /** What the restore waited for (a restarted process, an open breaker, …). */
  waitedFor: string[];
  /** The whole trial, restore included. */
  durationMs: number;
}

/** Fresh short requests until one completes exactly; the time from the fault. */
async function timeToRecover(d: Deployment, seed: number, faultAt: number, boundMs: number): Promise<number | null> {
  for (let n = 0; Date.now() - faultAt < boundMs; n++) {
    const plan: StreamPlan = { prompt: `chaos probe ${hex(seed)} #${n}`, maxTokens: 2, behaviour: { type: 'normal' } };
    const record = await startStream({ baseUrl: d.gatewayUrl, apiKey, body: chatBody(plan, d.model), behaviour: plan.behaviour, boundMs: 2000 }).done;
    if (classify(record, expectedText(plan)).outcome === 'completed') return Date.now() - faultAt;
    await sleep(100);
  }
  return null;
}

/** Samples every engine's running requests until all are 0; the time from `from`, or null. */
async function timeToIdle(d: Deployment, from: number, limitMs: number): Promise<number | null> {
  while (Date.now() - from < limitMs) {
    const running = await d.engineRunning();
    if (running.every((n) => n === 0)) return Math.max(0, Date.now() - from);
    await sleep(100);
  }
  return null;
}

function holdersOf(streams: RunningStream[], d: Deployment): Map<number, number> {
  const holders = new Map<number, number>();
  for (const s of streams) {
    const index = s.record.workerId ? d.workerIds.indexOf(s.record.workerId) : -1;
    if (index >= 0 && s.record.end === undefined) holders.set(index, (holders.get(index) ?? 0) + 1);
  }
  return holders;
}

/** What differs from a plain stream, per stream; one line when every stream differs alike. */
function describeStreams(plans: StreamPlan[], shape: WorkloadShape): string[] {
  const lines = plans.map((p, i) => describePlan(p, i, shape)).filter((s): s is string => s !== undefined);
  const alike = new Set(lines.map((l) => l.replace(/^stream \d+: /, '')));
  return lines.length === plans.length && alike.size === 1 ? [`every stream: ${[...alike][0]}`] : lines;
}

export async function runTrial(d: Deployment, cls: FaultClass, index: number, seed: number, settings: TrialSettings, say: (line: string) => void): Promise<TrialResult> {
  const rng = createRng(seed);
  const plans = cls.plan(rng, seed, settings, settings.fault);
  const atMs = cls.atMs(rng);
  const started = Date.now();
  const streams = plans.map((p) => startStream({ baseUrl: d.gatewayUrl, apiKey, body: chatBody(p, d.model), behaviour: p.behaviour, boundMs: settings.boundMs }));

  await sleep(Math.max(0, atMs - (Date.now() - started)));
  const faultAt = Date.now();
  const injected = await cls.inject({ deployment: d, rng, settings: settings.fault, holders: () => holdersOf(streams, d) });
  const schedule = {
    atMs: faultAt - started, target: injected.target, ...(injected.detail ? { detail: injected.detail } : {}),
    streams: describeStreams(plans, settings),
  };
  say(`  trial ${cls.name}#${index} seed=${hex(seed)}: at +${schedule.atMs} ms → ${schedule.target}${schedule.detail ? ` (${schedule.detail})` : ''}` +
    `${schedule.streams.length ? `; ${schedule.streams.join('; ')}` : ''}`);

  // Probes run alongside the idleness samples: a probe is 2 tokens (20 ms of engine work) and they stop at the first success.
  const recovery = timeToRecover(d, seed, faultAt, settings.boundMs);
  const records = await Promise.all(streams.map((s) => s.done));
  const lastEnd = Math.max(...records.map((r) => r.endedAt ?? Date.now()));
  const idleFrom = cls.idleFromFault ? faultAt : lastEnd;
  const engineIdleMs = await timeToIdle(d, idleFrom, settings.orphanMs + 5000);
  const recoveryMs = await recovery;

  const restoreStart = Date.now();
  await injected.restore();
  const { waitedFor } = await d.waitSteady(30_000);
  const results = records.map((r, i) => ({
    index: i,
    ...classify(r, expectedText(plans[i] as StreamPlan)),
    ...(r.workerId ? { workerId: r.workerId } : {}),
    endedAfterFaultMs: (r.endedAt ?? Date.now()) - faultAt,
  }));
  const tally = new Map<string, number>();
  for (const r of results) tally.set(r.outcome, (tally.get(r.outcome) ?? 0) + 1);
  say(`    → ${[...tally].map(([o, n]) => `${n} ${o}`).join(', ')}; recovery ${recoveryMs ?? 'none'} ms; engines idle after ${engineIdleMs ?? 'never'} ms; restored in ${Date.now() - restoreStart} ms${waitedFor.length ? ` (${waitedFor.join('; ')})` : ''}; trial ${Date.now() - started} ms`);
  for (const s of results.filter((r) => r.outcome !== 'completed')) say(`    stream ${s.index}${s.workerId ? ` on ${s.workerId}` : ''}: ${s.outcome} — ${s.why}`);
  return {
    className: cls.name, index, seed: hex(seed), schedule, streams: results, recoveryMs, engineIdleMs,
    orphaned: engineIdleMs === null || engineIdleMs > settings.orphanMs, restoreMs: Date.now() - restoreStart, waitedFor, durationMs: Date.now() - started,
  };
}
