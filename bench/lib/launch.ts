/** Starts `node bin/llmux.js ARGS` for a benchmark and waits for its ready line. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { reapOnExit } from './child-reaper.js';

export interface Launched {
  /** Its stdout up to the ready line. */
  out: string;
  pid: number;
  /** SIGTERM, resolved once it exited. */
  stop(): Promise<void>;
}

/**
 * Runs `node bin/llmux.js ARGS` until `ready` appears on its stdout (30 s at most), with `env` added to this process's.
 * `root`: the llmux checkout whose bin/ and dist/ run (default: the working directory), e.g. an older build to compare with.
 */
export function launch(args: string[], ready: string, env: Record<string, string> = {}, root = '.'): Promise<Launched> {
  return launchWith([], args, ready, env, root);
}

/**
 * `launch` with node flags before the script (`--cpu-prof` is not allowed in NODE_OPTIONS). A child
 * that does not come up in 30 s is killed, and the error holds what it printed.
 */
export async function launchWith(nodeArgs: string[], args: string[], ready: string, env: Record<string, string> = {}, root = '.'): Promise<Launched> {
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'bin/llmux.js'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LLMUX_LOG_LEVEL: 'error', ...env },
  });
  reapOnExit(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const started = Date.now();
  while (!out.includes(ready)) {
    if (child.exitCode !== null || Date.now() - started > 30_000) {
      child.kill('SIGKILL');
      throw new Error(`llmux ${args[0]} did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    out,
    pid: child.pid as number,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
