/**
 * The router's decision time with 10, 100 and 1,000 workers, for every routing method (the prefix
 * methods also with the exact KV index filled, `+kv`). Target: p99 ≤ 50 µs with 1,000 workers.
 * The machine's load average is printed with the figures; `--runs N` repeats the whole set and
 * prints each run's 1,000-worker p99, so the spread is seen rather than one lucky run.
 *
 * With `--baseline-root DIR` (another llmux checkout, built with `npm run build`), that build's
 * decide() runs in the same process, alternating with this one's run by run (the order swapped
 * each run), and a last table sets the two side by side: on a shared two-core machine the spread
 * between runs is larger than most changes, so only figures from one run compare.
 *
 *   npm run bench:routing-decision [-- --decisions 5000 --runs 3 --baseline-root /tmp/old]
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchArgs, count, numberReader } from './lib/cli-args.js';
import { type DecisionTiming, timeDecisionsObservingGc } from './lib/decision-time.js';
import { fmt, formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';
import { median } from './lib/stats.js';

const { values } = benchArgs('bench:routing-decision', "The router's decision time with 10, 100 and 1,000 workers, for every "
  + 'routing method (the prefix methods also with the exact KV index filled, +kv); target: p99 <= 50 µs with 1,000 workers. '
  + 'Prints a table per run, with the load average.', {
  decisions: { type: 'string', default: '5000', help: 'decisions timed per method and worker count (an integer >= 100)' },
  runs: { type: 'string', default: '1', help: "times the whole set runs; with more than one, each run's 1,000-worker p99 is set side by side" },
  'baseline-root': { type: 'string', help: "another llmux checkout, built with npm run build: its decide() runs in this process, alternating with this one run by run, and a last table compares the two (unset: none)" },
});
const num = numberReader('bench:routing-decision', values);
const decisions = num('decisions', { integer: true, min: 100 });
const runs = num('runs', count);
type TimeDecisions = typeof timeDecisionsObservingGc;
const baselineRoot = values['baseline-root'] === undefined ? undefined : resolve(values['baseline-root']);
const baselineLib = baselineRoot === undefined ? undefined : join(baselineRoot, 'dist', 'bench', 'lib', 'decision-time.js');
if (baselineLib !== undefined && !existsSync(baselineLib)) {
  process.stderr.write(`--baseline-root: ${baselineLib} is missing; run \`npm run build\` in ${baselineRoot} first\n`);
  process.exit(2);
}
const baseline: TimeDecisions | undefined = baselineLib === undefined ? undefined
  : ((await import(pathToFileURL(baselineLib).href)) as { timeDecisionsObservingGc: TimeDecisions }).timeDecisionsObservingGc;
const baselineTimings: DecisionTiming[][] = [];
const sizes = [10, 100, 1000];
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(', ');
const results: Array<{ loadBefore: number[]; loadAfter: number[]; timings: DecisionTiming[] }> = [];
for (let run = 1; run <= runs; run++) {
  const loadBefore = loadavg();
  say(`run ${run}/${runs}: ${decisions} decisions per method with ${sizes.join(', ')} workers (load average ${load()}) ...`);
  // With a baseline, the two alternate which goes first.
  if (baseline && run % 2 === 0) baselineTimings.push(await baseline(sizes, decisions));
  const timings = await timeDecisionsObservingGc(sizes, decisions);
  if (baseline && run % 2 === 1) baselineTimings.push(await baseline(sizes, decisions));
  results.push({ loadBefore, loadAfter: loadavg(), timings });
  const labels = [...new Set(timings.map((t) => t.method))];
  process.stdout.write(`\nrun ${run}, load average ${loadBefore.map((l) => l.toFixed(2)).join(', ')} before, ${load()} after\n`);
  process.stdout.write(`${formatTable(['method', ...sizes.flatMap((n) => [`${n} p50 µs`, `${n} p99 µs`]), '1000 max µs', '1000 cpu p50', '1000 cpu p99', '1000 GCs in', '1000 GC ms in'],
    labels.map((m) => {
      const at = (n: number) => timings.find((x) => x.workers === n && x.method === m);
      const big = at(1000);
      return [m, ...sizes.flatMap((n) => [fmt(at(n)?.p50Us ?? NaN, 1), fmt(at(n)?.p99Us ?? NaN, 1)]),
        fmt(big?.maxUs ?? NaN, 0), fmt(big?.cpuP50Us ?? NaN, 0), fmt(big?.cpuP99Us ?? NaN, 0), fmt(big?.gcInside ?? NaN, 0), fmt(big?.gcInsideMs ?? NaN, 1)];
    }))}\n`);
}
if (runs > 1) {
  const labels = [...new Set(results[0]?.timings.map((t) => t.method) ?? [])];
  process.stdout.write(`\n1,000 workers, p99 µs in each run, wall clock / CPU time (loads ${results.map((r) => (r.loadBefore[0] as number).toFixed(1)).join(' / ')})\n`);
  process.stdout.write(`${formatTable(['method', ...results.map((_, i) => `run ${i + 1}`), 'median', 'cpu median'], labels.map((m) => {
    const at = results.map((r) => r.timings.find((t) => t.workers === 1000 && t.method === m));
    const p99s = at.map((t) => t?.p99Us ?? NaN);
    const cpu = at.map((t) => t?.cpuP99Us ?? NaN);
    return [m, ...at.map((t) => `${fmt(t?.p99Us ?? NaN, 0)} / ${fmt(t?.cpuP99Us ?? NaN, 0)}`), fmt(median(p99s), 1), fmt(median(cpu), 0)];
  }))}\n`);
}
if (baseline) {
  const labels = [...new Set(results[0]?.timings.map((t) => t.method) ?? [])];
  const med = (runsOf: DecisionTiming[][], m: string, key: 'p50Us' | 'p99Us'): number =>
    median(runsOf.map((ts) => ts.find((t) => t.workers === 1000 && t.method === m)?.[key] ?? NaN));
  const here = results.map((r) => r.timings);
  process.stdout.write(`\n1,000 workers, the baseline (${baselineRoot}) against this build, median over ${runs} run(s) of each, µs\n`);
  process.stdout.write(`${formatTable(['method', 'p50 baseline', 'p50 this', 'p99 baseline', 'p99 this'], labels.map((m) =>
    [m, fmt(med(baselineTimings, m, 'p50Us'), 1), fmt(med(here, m, 'p50Us'), 1), fmt(med(baselineTimings, m, 'p99Us'), 1), fmt(med(here, m, 'p99Us'), 1)]))}\n`);
}
const worst = (m: string): number => Math.max(...results.map((r) => r.timings.find((t) => t.workers === 1000 && t.method === m)?.p99Us ?? NaN));
const over = [...new Set(results[0]?.timings.map((t) => t.method) ?? [])].filter((m) => worst(m) > 50);
say(over.length === 0 ? `every method decided within 50 µs at p99 with 1,000 workers in every run`
  : `over 50 µs at p99 with 1,000 workers in some run: ${over.map((m) => `${m} ${fmt(worst(m), 1)} µs`).join(', ')}`);
say(`results written to ${writeResults('routing-decision', { machine: machineInfo(), decisions, runs: results, ...(baseline ? { baselineRoot, baselineRuns: baselineTimings } : {}) })}`);
