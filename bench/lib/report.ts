/** Reporting helpers for benchmarks: progress lines, number formats, text tables, result files. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

/** A progress line on stderr (stdout stays for the final table). */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** A number with thousands separators and a fixed count of decimals; `n/a` when not finite. */
export function fmt(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A ratio as `0.97x`. */
export function fmtRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a';
}

export type Align = 'left' | 'right';

/**
 * A plain-text table. By default a column is right-aligned when every non-empty cell in it looks
 * numeric (digits, separators, a unit suffix like `x` or `%`), left-aligned otherwise.
 */
export function formatTable(
  headers: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string>>,
  align?: readonly Align[],
): string {
  const numeric = /^[-+]?[\d,]*\.?\d+\s*(x|%|ms|s|µs)?$|^n\/a$/;
  const aligns: Align[] = headers.map((_, i) => {
    const given = align?.[i];
    if (given) return given;
    const cells = rows.map((r) => r[i] ?? '').filter((c) => c !== '');
    return cells.length > 0 && cells.every((c) => numeric.test(c)) ? 'right' : 'left';
  });
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: ReadonlyArray<string>): string =>
    headers
      .map((_, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return aligns[i] === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The same table as GitHub markdown, for pasting into docs. */
export function formatMarkdownTable(
  headers: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string>>,
  align?: readonly Align[],
): string {
  const sep = headers.map((_, i) => (align?.[i] === 'right' ? '---:' : '---'));
  const line = (cells: ReadonlyArray<string>): string => `| ${headers.map((_, i) => cells[i] ?? '').join(' | ')} |`;
  return [line(headers), line(sep), ...rows.map(line)].join('\n');
}

export interface MachineInfo {
  date: string;
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/**
 * Writes `data` as pretty JSON to `<dir>/<name>-<ISO timestamp>.json` (dir defaults to
 * `bench/results` under the working directory, created if missing); returns the file's path.
 */
export function writeResults(name: string, data: unknown, dir = resolve(process.cwd(), 'bench/results')): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
