/** The per-class table, the target verdicts, and the JSON results file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatMarkdownTable, formatTable, machineInfo } from '../bench/lib/report.js';
import type { Outcome } from './classify.js';
import type { TargetCheck } from './targets.js';
import type { TrialResult } from './trial.js';

export interface ClassRow {
  className: string;
  trials: number;
  streams: number;
  counts: Record<Outcome, number>;
  /** Per trial: the longest stall any of its clients saw. */
  stallMs: { p50: number; max: number };
  /** Fault → next successful fresh request; `unrecovered` trials had none within the bound. */
  recoveryMs: { p50: number | null; max: number | null; unrecovered: number };
  /** Trials whose engines were still busy after the orphan limit. */
  orphaned: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export function summarize(className: string, trials: readonly TrialResult[]): ClassRow {
  const counts = { completed: 0, explicit: 0, broken: 0, silent: 0, wrong: 0, hung: 0, 'client-aborted': 0 } satisfies Record<Outcome, number>;
  for (const s of trials.flatMap((t) => t.streams)) counts[s.outcome]++;
  const stalls = trials.map((t) => Math.max(0, ...t.streams.map((s) => s.maxStallMs))).sort((a, b) => a - b);
  const recoveries = trials.map((t) => t.recoveryMs).filter((r): r is number => r !== null).sort((a, b) => a - b);
  return {
    className,
    trials: trials.length,
    streams: trials.reduce((n, t) => n + t.streams.length, 0),
    counts,
    stallMs: { p50: quantile(stalls, 0.5), max: stalls.at(-1) ?? Number.NaN },
    recoveryMs: { p50: recoveries.length ? quantile(recoveries, 0.5) : null, max: recoveries.at(-1) ?? null, unrecovered: trials.length - recoveries.length },
    orphaned: trials.filter((t) => t.orphaned).length,
  };
}

const ms = (n: number | null): string => (n === null || !Number.isFinite(n) ? '—' : `${Math.round(n)}`);

const headers = ['class', 'trials', 'streams', 'completed-exact', 'explicit', 'broken', 'silent', 'wrong/dup', 'hung', 'aborted', 'stall p50/max ms', 'recovery p50/max ms', 'orphaned'];

function cells(r: ClassRow): string[] {
  const c = r.counts;
  const recovery = `${ms(r.recoveryMs.p50)}/${ms(r.recoveryMs.max)}${r.recoveryMs.unrecovered ? ` (${r.recoveryMs.unrecovered} none)` : ''}`;
  return [r.className, `${r.trials}`, `${r.streams}`, `${c.completed}`, `${c.explicit}`, `${c.broken}`, `${c.silent}`, `${c.wrong}`, `${c.hung}`,
    `${c['client-aborted']}`, `${ms(r.stallMs.p50)}/${ms(r.stallMs.max)}`, recovery, `${r.orphaned}`];
}

export function renderTable(rows: readonly ClassRow[], markdown = false): string {
  return (markdown ? formatMarkdownTable : formatTable)(headers, rows.map(cells));
}

export function renderVerdicts(checks: readonly TargetCheck[]): string {
  return checks.map((c) => `${c.ok ? 'PASS' : 'MISS'}  ${c.className}: ${c.target}${c.ok ? '' : ` — ${c.detail}`}`).join('\n');
}

/** Writes the whole run (settings, rows, verdicts, every trial) as JSON; returns the path. */
export function writeResults(dir: string, run: { seed: string; settings: unknown; rows: ClassRow[]; checks: TargetCheck[]; trials: TrialResult[] }): string {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const file = join(out, `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: machineInfo(), ...run }, null, 2)}\n`);
  return file;
}
