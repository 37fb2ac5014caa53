/**
 * The router's decision time with 10, 100 and 1,000 workers, for every routing method (the prefix
 * methods also with the exact KV index filled, `+kv`). Target: p99 ≤ 50 µs with 1,000 workers.
 *
 *   npm run bench:routing-decision [-- --decisions 5000]
 */
import { parseArgs } from 'node:util';
import { timeDecisions } from './lib/decision-time.js';
import { fmt, formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';

const { values } = parseArgs({ options: { decisions: { type: 'string', default: '5000' } } });
const decisions = Number(values.decisions);
if (!Number.isInteger(decisions) || decisions < 100) throw new Error(`--decisions must be an integer >= 100, got ${values.decisions}`);
const sizes = [10, 100, 1000];
say(`decision time: ${decisions} decisions per method with ${sizes.join(', ')} workers ...`);
const timings = timeDecisions(sizes, decisions);
const labels = [...new Set(timings.map((t) => t.method))];
process.stdout.write(`\n${formatTable(['method', ...sizes.flatMap((n) => [`${n} p50 µs`, `${n} p99 µs`])],
  labels.map((m) => [m, ...sizes.flatMap((n) => {
    const t = timings.find((x) => x.workers === n && x.method === m);
    return [fmt(t?.p50Us ?? NaN, 1), fmt(t?.p99Us ?? NaN, 1)];
  })]))}\n`);
const over = timings.filter((t) => t.workers === 1000 && t.p99Us > 50);
say(over.length === 0 ? 'every method decides within 50 µs at p99 with 1,000 workers' : `over 50 µs at p99 with 1,000 workers: ${over.map((t) => `${t.method} ${fmt(t.p99Us, 1)} µs`).join(', ')}`);
say(`results written to ${writeResults('routing-decision', { machine: machineInfo(), decisions, timings })}`);
