/** `llmux usage`: the usage ledger summed by tenant and model over a time range, as a table, CSV or JSON. */
import Table from 'cli-table3';
import { readAllUsageRecords } from '../../ledger/usage-ledger.js';
import { type GroupField, groupFields, summarize, tableCells, toCsv } from '../../ledger/usage-summary.js';
import { connectNats } from '../../transport/nats/nats-transport.js';
import { connectAccessFrom, type NatsTlsFlags } from './nats-identity.js';

const units: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30m`, `24h`, `7d` (ago), `now`, or an ISO date/time. */
export function parseTime(value: string, now = Date.now()): number {
  if (value === 'now') return now;
  const ago = /^(\d+)([smhd])$/.exec(value);
  if (ago) return now - Number(ago[1]) * (units[ago[2] as string] as number);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new Error(`'${value}' is not a time: use 30m, 24h, 7d (ago), now, or an ISO date such as 2026-11-01T00:00:00Z`);
  return t;
}

export function parseGroups(value: string): GroupField[] {
  const fields = value.split(',').map((f) => f.trim()).filter(Boolean);
  for (const f of fields) {
    if (!(groupFields as readonly string[]).includes(f)) throw new Error(`cannot group by '${f}': use ${groupFields.join(', ')}`);
  }
  return fields as GroupField[];
}

export async function usage(opts: NatsTlsFlags & { nats: string; nkeySeedFile?: string; since: string; until: string; by: string; format: 'table' | 'csv' | 'json' }): Promise<void> {
  const since = parseTime(opts.since);
  const until = parseTime(opts.until);
  if (until <= since) throw new Error(`--until (${new Date(until).toISOString()}) must be after --since (${new Date(since).toISOString()})`);
  const by = parseGroups(opts.by);
  const transport = await connectNats({ servers: opts.nats, name: 'llmux-usage', ...connectAccessFrom(opts) });
  try {
    process.stderr.write(`reading the usage ledger from ${new Date(since).toISOString()} ...\n`);
    // Records are stored when a request ends: start reading an hour early to catch long requests that started in range.
    const { records, streams, unread } = await readAllUsageRecords(transport, Math.max(0, since - 3_600_000));
    if (streams.length === 0) process.stderr.write('no usage stream exists yet: no gateway has recorded a request\n');
    else if (streams.length > 1) process.stderr.write(`read ${streams.length - unread.length} of ${streams.length} usage streams (one per cluster): ${streams.join(', ')}\n`);
    for (const u of unread) process.stderr.write(`NOT COUNTED: usage stream ${u.stream} could not be read (${u.error}); its cluster may be cut off\n`);
    // What could not be read is missing from the totals: a script must see that, not only a person.
    if (unread.length > 0) process.exitCode = 3;
    const rows = summarize(records, by, { since, until });
    if (opts.format === 'json') {
      process.stdout.write(`${JSON.stringify({ since: new Date(since).toISOString(), until: new Date(until).toISOString(), by, rows }, null, 2)}\n`);
    } else if (opts.format === 'csv') {
      process.stdout.write(toCsv(rows, by));
    } else {
      const { head, body } = tableCells(rows, by);
      const table = new Table({ head, style: { head: [], border: [] }, colAligns: head.map((_, i) => (i < by.length ? 'left' : 'right')) });
      table.push(...body);
      process.stdout.write(`${table.toString()}\n${rows.length === 0 ? 'no requests in this range\n' : ''}`);
    }
  } finally {
    await transport.close();
  }
}
