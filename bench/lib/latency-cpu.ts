/**
 * CPU time of a process and its children by name (Linux /proc): the llmux process and the
 * nats-server it started, read before and after a measured run, give CPU per request, which
 * moves far less with the machine's other load than latency does.
 */
import { readFileSync, readdirSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ on Linux

/** utime + stime of `pid` in ms, or undefined when it cannot be read (not Linux, gone). */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after it are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Read and write system calls of `pid` so far (/proc/PID/io: syscr, syscw; socket reads and writes included), or undefined. */
export function syscalls(pid: number): { reads: number; writes: number } | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1]);
    const out = { reads: field('syscr'), writes: field('syscw') };
    return Number.isFinite(out.reads) && Number.isFinite(out.writes) ? out : undefined;
  } catch {
    return undefined;
  }
}

/** The pids of `pid`'s direct children whose command name is `name`. */
export function childrenNamed(pid: number, name: string): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) {
        if (readFileSync(`/proc/${child}/comm`, 'utf8').trim() === name) out.push(Number(child));
      }
    }
  } catch {
    /* not Linux, or the process is gone */
  }
  return out;
}

/** CPU ms of each named process at one moment. */
export function cpuSnapshot(pids: Record<string, number | undefined>): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid === undefined ? undefined : cpuMs(pid)]));
}
