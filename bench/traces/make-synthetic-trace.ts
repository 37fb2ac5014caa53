/**
 * Writes bench/traces/synthetic-mooncake.jsonl: a small synthetic trace in Mooncake's format
 * (mooncake-trace.ts) — 240 requests over about a minute, Poisson arrivals (mean gap 250 ms); six
 * shared system prefixes of 2–4 blocks; sessions whose history grows a block a turn (45% of
 * requests continue one of the 24 latest); new sessions add 1–3 unique blocks. Deterministic.
 *
 *   node dist/bench/traces/make-synthetic-trace.js
 */
import { writeFileSync } from 'node:fs';
import { seededRandom } from '../../src/actors/router/router-test-support.js';

const random = seededRandom(12345);
let t = 0;
let nextId = 1000;
const lines: string[] = [];
const sessions: number[][] = [];
const prefixes = Array.from({ length: 6 }, (_, p) => Array.from({ length: 2 + (p % 3) }, (_, b) => p * 10 + b));
for (let i = 0; i < 240; i++) {
  t += Math.round(-Math.log(1 - random()) * 250);
  let ids: number[];
  if (sessions.length > 0 && random() < 0.45) {
    const s = sessions[Math.floor(random() * sessions.length)] as number[];
    s.push(nextId++);
    ids = [...s];
  } else {
    ids = [...(prefixes[Math.floor(random() * prefixes.length)] as number[])];
    const tail = 1 + Math.floor(random() * 3);
    for (let k = 0; k < tail; k++) ids.push(nextId++);
    sessions.push([...ids]);
    if (sessions.length > 24) sessions.shift();
  }
  const input = ids.length * 512 - Math.floor(random() * 400);
  lines.push(JSON.stringify({ timestamp: t, input_length: input, output_length: 16 + Math.floor(random() * 112), hash_ids: ids }));
}
writeFileSync(new URL('../../../bench/traces/synthetic-mooncake.jsonl', import.meta.url), `${lines.join('\n')}\n`);
