/**
 * One llmux role as its own OS process (`node bin/llmux.js <role> …`): started, signalled, killed and
 * started again with the same arguments, as a supervisor would. A role is ready when it logs the line
 * its command prints once it serves (`worker registered`, `router running`, …).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `llmux` launcher the suite runs: `LLMUX_CHAOS_BIN`, or this checkout's `bin/llmux.js`. */
export function llmuxBin(): string {
  const given = process.env.LLMUX_CHAOS_BIN;
  if (given) return resolve(given);
  // Works from chaos/ (vitest) and from dist/chaos/ (the compiled CLI).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const bin = join(dir, 'bin', 'llmux.js');
    if (existsSync(bin)) return bin;
    dir = dirname(dir);
  }
  throw new Error('bin/llmux.js not found above chaos/; set LLMUX_CHAOS_BIN');
}

const tailBytes = 16_000;

/** Every child still running, killed if the harness itself exits without stopping them (a crash, a failed test run). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class RoleProcess {
  #child: ChildProcess | undefined;
  #tail = '';
  #frozen = false;
  #exited: Promise<void> = Promise.resolve();

  /** `args` may be pinned after the first start (a port chosen by the OS is kept for restarts). */
  constructor(readonly name: string, public args: string[], readonly ready: RegExp) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get alive(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get frozen(): boolean {
    return this.#frozen && this.alive;
  }

  /** The last lines the process wrote, for a failure message. */
  tail(): string {
    return this.#tail;
  }

  /** Replaces (or adds) `--flag value` in the arguments, for the next start. */
  pin(flag: string, value: string): void {
    const at = this.args.indexOf(flag);
    if (at >= 0) this.args[at + 1] = value;
    else this.args.push(flag, value);
  }

  /** Starts the process and resolves with the ready line's first group (or the whole match). */
  start(timeoutMs = 30_000): Promise<string> {
    if (this.alive) return Promise.reject(new Error(`${this.name} is already running`));
    const child = spawn(process.execPath, [llmuxBin(), ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LLMUX_LOG_LEVEL: process.env.LLMUX_CHAOS_LOG_LEVEL ?? 'info' },
    });
    this.#child = child;
    this.#frozen = false;
    running.add(child);
    this.#exited = new Promise((done) => child.once('exit', () => {
      running.delete(child);
      done();
    }));
    let seen = '';
    return new Promise((resolveReady, reject) => {
      let settled = false;
      const timer = setTimeout(() => finish(new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.#tail}`)), timeoutMs);
      const finish = (result: string | Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (typeof result === 'string') resolveReady(result);
        else reject(result);
      };
      const onData = (d: Buffer): void => {
        const text = d.toString();
        this.#tail = (this.#tail + text).slice(-tailBytes);
        if (settled) return;
        seen = (seen + text).slice(-tailBytes);
        const m = this.ready.exec(seen);
        if (m) finish(m[1] ?? m[0]);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code, signal) => finish(new Error(`${this.name} exited (${signal ?? code}) before it was ready:\n${this.#tail}`)));
    });
  }

  /** SIGKILL, and resolves once the process is gone. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.#child?.kill('SIGKILL');
    await this.#exited;
  }

  freeze(): void {
    if (!this.alive) return;
    this.#child?.kill('SIGSTOP');
    this.#frozen = true;
  }

  thaw(): void {
    if (!this.#frozen) return;
    this.#frozen = false;
    if (this.alive) this.#child?.kill('SIGCONT');
  }

  /** Thaws, asks it to stop (SIGTERM), and kills it if it has not left within `graceMs`. */
  async shutdown(graceMs = 5_000): Promise<void> {
    this.thaw();
    if (!this.alive) return;
    this.#child?.kill('SIGTERM');
    const timer = setTimeout(() => this.#child?.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
