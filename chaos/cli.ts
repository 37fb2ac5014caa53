/**
 * `npm run chaos`: every fault class (or those named) against a deployment of separate role
 * processes; prints the schedule of every trial, the per-class table and the target verdicts, and
 * writes the whole run as JSON under chaos/results/. Exits 1 when a target is missed.
 *
 *   npm run chaos [-- --trials 100 --classes worker-kill,nats-restart --seed 0x1234abcd]
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { defaultDeployment, Deployment } from './deployment.js';
import { selectClasses } from './faults.js';
import { hex, parseSeed } from './prng.js';
import { renderTable, renderVerdicts, summarize, writeResults } from './report.js';
import { defaultTrialSettings, describeSettings, runClass, selfCheck } from './suite.js';
import { checkTargets } from './targets.js';
import type { TrialResult, TrialSettings } from './trial.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '100' },
    classes: { type: 'string' },
    seed: { type: 'string' },
    streams: { type: 'string', default: String(defaultTrialSettings.streams) },
    tokens: { type: 'string', default: String(defaultTrialSettings.tokens) },
    'itl-ms': { type: 'string', default: String(defaultDeployment.itlMs) },
    'bound-ms': { type: 'string', default: String(defaultTrialSettings.boundMs) },
    'stop-ms': { type: 'string', default: String(defaultTrialSettings.fault.stopMs) },
    out: { type: 'string', default: 'chaos/results' },
    markdown: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(`npm run chaos -- [--trials N] [--classes a,b] [--seed S] [--streams K] [--tokens T] [--itl-ms MS]
                  [--bound-ms MS] [--stop-ms MS (0: SIGCONT only after the trial)] [--out DIR] [--markdown]
classes: ${selectClasses(undefined).map((c) => c.name).join(', ')}\n`);
  process.exit(0);
}

const number = (name: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${text}'`);
  return n;
};

const classes = selectClasses(values.classes);
const trials = number('trials', values.trials);
const seed = values.seed !== undefined ? parseSeed(values.seed) : randomInt(0, 0xffff_ffff);
const settings: TrialSettings = {
  ...defaultTrialSettings,
  streams: number('streams', values.streams),
  tokens: number('tokens', values.tokens),
  boundMs: number('bound-ms', values['bound-ms']),
  fault: { ...defaultTrialSettings.fault, stopMs: number('stop-ms', values['stop-ms']) },
};
const say = (line: string): void => void process.stderr.write(`${line}\n`);

const d = await Deployment.start({ ...defaultDeployment, itlMs: number('itl-ms', values['itl-ms']) });
process.once('SIGINT', () => void d.stop().finally(() => process.exit(130)));
let missed = 0;
try {
  say(describeSettings(d, settings, seed));
  await selfCheck(d, settings.tokens);
  const all: TrialResult[] = [];
  const rows = [];
  const checks = [];
  for (const cls of classes) {
    say(`${cls.name}: ${cls.summary}`);
    const results = await runClass(d, cls, { seed, trials, settings, say });
    all.push(...results);
    rows.push(summarize(cls.name, results));
    checks.push(...checkTargets(cls.name, results));
  }
  process.stdout.write(`\n${renderTable(rows, values.markdown)}\n\n${renderVerdicts(checks)}\n`);
  const file = writeResults(values.out, { seed: hex(seed), settings, rows, checks, trials: all });
  missed = checks.filter((c) => !c.ok).length;
  process.stdout.write(`\nseed ${hex(seed)} (again: npm run chaos -- --seed ${hex(seed)} --trials ${trials}${values.classes ? ` --classes ${values.classes}` : ''}); results in ${file}\n`);
  if (missed > 0) process.stdout.write(`${missed} target(s) missed\n`);
} finally {
  await d.stop();
}
process.exit(missed > 0 ? 1 : 0);
