/**
 * A V8 heap snapshot (.heapsnapshot, as `--heapsnapshot-signal` writes it) summarized by
 * constructor: count and shallow (self) size of each, read as a stream so that a snapshot larger
 * than the longest string V8 allows still parses. Retained sizes would need the dominator tree;
 * shallow sizes with counts per stream are enough to say what a stream costs.
 *
 *   node dist/bench/lib/memory-heap.js FILE [streams]
 */
import { createReadStream } from 'node:fs';

export interface HeapGroup {
  name: string;
  count: number;
  selfBytes: number;
}

interface Meta { node_fields: string[]; node_types: [string[], ...unknown[]] }

/** Groups by constructor for objects, by type otherwise ("(closure)", "(string)", "(array) name", "(code)", …). */
export async function summarizeHeapSnapshot(file: string): Promise<{ groups: HeapGroup[]; totalBytes: number; nodes: number }> {
  let head = '';
  let state: 'head' | 'nodes' | 'skip' | 'strings' = 'head';
  let meta: Meta | undefined;
  const nodes: number[] = [];
  let num = '';
  const stringChunks: Buffer[] = [];
  let skipTail = '';
  for await (const raw of createReadStream(file)) {
    let chunk = raw as Buffer;
    if (state === 'head') {
      head += chunk.toString('latin1');
      const at = head.indexOf('"nodes":[');
      if (at < 0) continue;
      const snapshotJson = head.slice(head.indexOf('{', 1), head.lastIndexOf('}', at) + 1);
      meta = (JSON.parse(snapshotJson) as { meta: Meta }).meta;
      chunk = Buffer.from(head.slice(at + '"nodes":['.length), 'latin1');
      state = 'nodes';
    }
    if (state === 'nodes') {
      let i = 0;
      for (; i < chunk.length; i++) {
        const c = chunk[i] as number;
        if (c >= 48 && c <= 57) num += String.fromCharCode(c);
        else if (c === 44 || c === 10 || c === 93) {
          if (num !== '') nodes.push(Number(num));
          num = '';
          if (c === 93) {
            state = 'skip';
            break;
          }
        }
      }
      if (state !== 'skip') continue;
      chunk = chunk.subarray(i + 1);
    }
    if (state === 'skip') {
      const text = skipTail + chunk.toString('latin1');
      const at = text.indexOf('"strings":[');
      if (at < 0) {
        skipTail = text.slice(-16);
        continue;
      }
      chunk = Buffer.from(text.slice(at + '"strings":['.length), 'latin1');
      state = 'strings';
    }
    if (state === 'strings') stringChunks.push(chunk);
  }
  if (!meta) throw new Error(`${file}: not a heap snapshot`);
  const strings = parseStrings(Buffer.concat(stringChunks));
  const fields = meta.node_fields.length;
  const typeAt = meta.node_fields.indexOf('type');
  const nameAt = meta.node_fields.indexOf('name');
  const sizeAt = meta.node_fields.indexOf('self_size');
  const types = meta.node_types[0];
  const groups = new Map<string, HeapGroup>();
  let totalBytes = 0;
  for (let i = 0; i + fields <= nodes.length; i += fields) {
    const type = types[nodes[i + typeAt] as number] ?? '?';
    const name = strings[nodes[i + nameAt] as number] ?? '?';
    const size = nodes[i + sizeAt] as number;
    const key = type === 'object' || type === 'native' ? name
      : type === 'array' || type === 'hidden' || type === 'object shape' ? `(${type}) ${name.slice(0, 40)}`
        : `(${type})`;
    const g = groups.get(key) ?? { name: key, count: 0, selfBytes: 0 };
    g.count++;
    g.selfBytes += size;
    groups.set(key, g);
    totalBytes += size;
  }
  return { groups: [...groups.values()].sort((a, b) => b.selfBytes - a.selfBytes), totalBytes, nodes: nodes.length / fields };
}

/** The JSON strings of `"a","b",…]` (the tail of the file after the strings array is ignored). */
function parseStrings(buf: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < buf.length) {
    const c = buf[i];
    if (c === 93) break;
    if (c !== 34) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < buf.length && buf[j] !== 34) j += buf[j] === 92 ? 2 : 1;
    out.push(JSON.parse(buf.toString('utf8', i, j + 1)) as string);
    i = j + 1;
  }
  return out;
}

if (process.argv[1]?.endsWith('memory-heap.js') && process.argv[2]) {
  const streams = Number(process.argv[3] ?? 0);
  const { groups, totalBytes, nodes } = await summarizeHeapSnapshot(process.argv[2]);
  process.stdout.write(`${nodes} nodes, ${(totalBytes / 2 ** 20).toFixed(1)} MiB shallow in all\n`);
  for (const g of groups.slice(0, 30)) {
    const per = streams > 0 ? `  ${(g.count / streams).toFixed(2)}/stream  ${(g.selfBytes / streams).toFixed(0)} B/stream` : '';
    process.stdout.write(`${(g.selfBytes / 2 ** 20).toFixed(1).padStart(8)} MiB  ${String(g.count).padStart(9)}  ${g.name}${per}\n`);
  }
}
