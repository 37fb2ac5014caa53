/** CLI output: readable tables by default, the server's JSON with --json. */
import Table from 'cli-table3';

export function printTable(head: string[], rows: Array<Array<string | number | boolean | null | undefined>>, empty = 'nothing to show'): void {
  if (rows.length === 0) return void process.stdout.write(`${empty}\n`);
  const table = new Table({ head, style: { head: [], border: [] } });
  table.push(...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c)))));
  process.stdout.write(`${table.toString()}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Key/value lines for one record. */
export function printRecord(fields: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(fields).map((k) => k.length));
  for (const [k, v] of Object.entries(fields)) process.stdout.write(`${k.padEnd(width)}  ${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
}
