/** Processes as /proc shows them (Linux; no dependency on procps), for tests that must leave none behind. */
import { type ChildProcess, spawn } from 'node:child_process';
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

/**
 * `llmux <args>` as its own process, added to `children` (for the caller to stop); resolves with the
 * first match of `ready` in its output (its group 1 when it has one), rejects if it exits or is not
 * ready within 15 s.
 */
export function spawnRole(children: ChildProcess[], args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<string> {
  const child = spawn(process.execPath, ['bin/llmux.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LLMUX_LOG_LEVEL: 'info', ...env } });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve(m[1] ?? m[0]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`llmux ${args[0]} exited with ${code}:\n${out}`)));
    setTimeout(() => reject(new Error(`llmux ${args[0]} not ready:\n${out}`)), 15_000).unref();
  });
}

/** Polls `condition` every 50 ms for up to `ms`; its last value. */
export async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const started = Date.now();
  while (!condition() && Date.now() - started < ms) await new Promise((r) => setTimeout(r, 50));
  return condition();
}
