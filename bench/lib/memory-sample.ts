/** Memory of a process for `bench:memory`: VmRSS from /proc, and the gateway's own view from its /metrics. */
import { readdirSync, readFileSync } from 'node:fs';

/** A /proc/<pid>/status field in MiB (VmRSS, VmHWM, …); NaN when the process is gone. */
export function procMiB(pid: number, field = 'VmRSS'): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.replace(/\D+/g, '')) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Open file descriptors of a process (NaN when /proc cannot be read). */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

/** A Prometheus text page ('' when it does not come within the bound). */
export async function metricsPage(url: string, timeoutMs = 10_000): Promise<string> {
  try {
    return await (await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })).text();
  } catch {
    return '';
  }
}

/** The values of the named metrics (first sample of each) in a Prometheus text page; NaN when absent. */
export function scrapeText(text: string, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, Number.NaN]));
  for (const line of text.split('\n')) {
    const name = line.split(/[ {]/, 1)[0] ?? '';
    if (name in out && Number.isNaN(out[name])) out[name] = Number(line.split(' ').pop());
  }
  return out;
}

/** A counter summed over its series, by the value of one label. */
export function sumBy(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const pick = new RegExp(`${label}="([^"]*)"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const key = pick.exec(line)?.[1] ?? '';
    out[key] = (out[key] ?? 0) + Number(line.split(' ').pop());
  }
  return out;
}
