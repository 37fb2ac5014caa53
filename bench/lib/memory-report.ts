/** The tables of `bench:memory`: RSS per process at each step, and memory per in-flight stream. */
import type { MemoryReport, MemorySample } from './memory-run.js';
import { fmt, formatTable } from './report.js';

/** (value at the step − value at idle) / streams in flight, in KiB; n/a at idle. */
export function perStreamKiB(sample: MemorySample, idle: MemorySample, field: keyof Pick<MemorySample, 'llmuxRssMiB' | 'frontRssMiB' | 'workersRssMiB' | 'heapUsedMiB' | 'natsRssMiB' | 'simRssMiB'>): number {
  return sample.inFlight > 0 ? ((sample[field] - idle[field]) * 1024) / sample.inFlight : Number.NaN;
}

export function formatMemoryReport(report: MemoryReport): string {
  const idle = report.samples[0] as MemorySample;
  const rows = report.samples.map((s) => [
    s.label, fmt(s.inFlight), fmt(s.llmuxRssMiB), fmt(s.frontRssMiB), fmt(s.workersRssMiB), fmt(s.heapUsedMiB), fmt(perStreamKiB(s, idle, 'llmuxRssMiB'), 1), fmt(perStreamKiB(s, idle, 'heapUsedMiB'), 1),
    fmt(s.natsRssMiB), fmt(perStreamKiB(s, idle, 'natsRssMiB'), 2), fmt(s.simRssMiB), fmt(perStreamKiB(s, idle, 'simRssMiB'), 1), fmt(s.llmuxFds), fmt(s.seconds),
  ]);
  const o = report.outcomes;
  const { options } = report;
  return [
    `${options.streams} streams (${options.maxTokens} tokens, one each ${options.itlMs} ms), ${options.workers} workers of capacity ${options.capacity}; most in flight at once: ${report.maxInFlight}`,
    '',
    formatTable(['step', 'in flight', 'llmux RSS (MiB)', 'gateway proc (MiB)', 'workers proc (MiB)', 'heap used (MiB)', 'RSS/stream (KiB)', 'heap/stream (KiB)',
      'nats-server RSS (MiB)', 'nats/stream (KiB)', 'simulator RSS (MiB)', 'sim/stream (KiB)', 'llmux fds', 't (s)'], rows),
    '',
    `outcomes: ${o.complete} complete, ${o.error} explicit errors, ${o.hang} hung (no byte for the idle bound, or past the deadline), ${o.unfinished} unfinished`,
    ...report.firstErrors.map((e) => `  first errors: ${e}`),
    ...(report.heapSnapshot ? [`heap snapshot: ${report.heapSnapshot}`] : []),
    ...(report.workersHeapSnapshot ? [`workers' heap snapshot: ${report.workersHeapSnapshot}`] : []),
  ].join('\n');
}
