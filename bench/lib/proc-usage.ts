/**
 * What a process (all its threads) has used so far, from Linux's /proc: CPU time, and read and
 * write system calls (sockets included). Per token relayed, these hold steadier than throughput on
 * a machine shared with other work: contention stretches wall time far more than it adds CPU or calls.
 * Undefined where /proc cannot be read (not Linux, or the process is gone).
 */
import { readFileSync } from 'node:fs';

export interface ProcUsage {
  cpuMs: number;
  writes: number;
  reads: number;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const ticksPerSecond = 100;

export function procUsage(pid: number): ProcUsage | undefined {
  try {
    // The command name may hold spaces or parentheses: the fields start after its last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const io = new Map(readFileSync(`/proc/${pid}/io`, 'utf8').trim().split('\n').map((l) => l.split(': ') as [string, string]));
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { cpuMs: (ticks * 1000) / ticksPerSecond, writes: Number(io.get('syscw')), reads: Number(io.get('syscr')) };
  } catch {
    return undefined;
  }
}

/** What the process used between two samples; undefined when either is missing. */
export function usageBetween(before: ProcUsage | undefined, after: ProcUsage | undefined): ProcUsage | undefined {
  if (!before || !after) return undefined;
  return { cpuMs: after.cpuMs - before.cpuMs, writes: after.writes - before.writes, reads: after.reads - before.reads };
}
