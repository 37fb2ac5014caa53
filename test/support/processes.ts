/** Processes as /proc shows them (Linux; no dependency on procps), for tests that must leave none behind. */
import { readFileSync } from 'node:fs';

/** Running: it exists and is not a zombie (an orphan's zombie lingers until pid 1 reaps it). */
export const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};
