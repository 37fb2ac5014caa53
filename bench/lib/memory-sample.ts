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

/** The values of the named metrics (first sample of each) in a Prometheus text page; NaN when absent or unreachable. */
export async function scrape(url: string, names: readonly string[], timeoutMs = 10_000): Promise<Record<string, number>> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, Number.NaN]));
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })).text();
    for (const line of text.split('\n')) {
      const name = line.split(/[ {]/, 1)[0] ?? '';
      if (name in out && Number.isNaN(out[name])) out[name] = Number(line.split(' ').pop());
    }
  } catch {
    // NaN says it: the page did not come within the bound.
  }
  return out;
}
