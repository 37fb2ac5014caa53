/**
 * What the routing lab looks at besides latency, to explain why a method wins or loses: the engines'
 * queues while the workload runs (is it at saturation?), and which prefix index the router's
 * decisions used (did the prefix methods match on the engines' KV events?).
 */
import type { DecisionRecord } from '../../src/actors/router/decision.js';

export interface QueueSummary {
  /** Per engine, the mean of its waiting sequences over the samples. */
  meanWaiting: number[];
  /** Per engine, the share of samples with at least one sequence waiting. */
  busyShare: number[];
}

/** Samples every engine's waiting queue every `everyMs` until stopped. */
export function sampleQueues(engines: ReadonlyArray<{ stats(): { waiting: number } }>, everyMs = 50): { stop(): QueueSummary } {
  const sums = engines.map(() => 0);
  const busy = engines.map(() => 0);
  let samples = 0;
  const timer = setInterval(() => {
    samples++;
    engines.forEach((e, i) => {
      const waiting = e.stats().waiting;
      sums[i] = (sums[i] as number) + waiting;
      if (waiting > 0) busy[i] = (busy[i] as number) + 1;
    });
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      const n = Math.max(1, samples);
      return { meanWaiting: sums.map((s) => s / n), busyShare: busy.map((b) => b / n) };
    },
  };
}

/** How many of the requests' first decisions named each prefix index (`none`: a method without one). */
export function indexCounts(requestIds: readonly string[], decisions: { get(id: string): DecisionRecord[] | undefined }): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of requestIds) {
    const kind = decisions.get(id)?.[0]?.index ?? 'none';
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}
