/**
 * One nats-server of a test supercluster, as a handle a failover test can hurt: stop it, freeze it
 * (SIGSTOP), kill it, start it again on the same ports and store. Started like every server here
 * (nats-server-process.ts): under `setpriv --pdeathsig`, and killed by an 'exit' hook, so it never
 * outlives the test process.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnTiedToParent } from './nats-server-process.js';

export interface ServerProcessHandle {
  /** The pid of the current process (a restart makes a new one). */
  readonly pid: number;
  running(): boolean;
  /** The last 64 KB of the server's log (stderr), across restarts. */
  log(): string;
  /** Sends a signal and returns: SIGSTOP freezes the server, SIGCONT thaws it. */
  signal(signal: NodeJS.Signals): void;
  /** Sends a signal (SIGKILL unless told) and waits until the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM (after a SIGCONT, in case it is frozen), then SIGKILL after 5 s; waits until it is gone. */
  stop(): Promise<void>;
  /** Stops the server if it runs, and starts it again with the same configuration, ports and store. */
  restart(): Promise<void>;
}

const logLimit = 64 * 1024;

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** One 'exit' hook for every live server, rather than one each (a big supercluster would pass Node's listener warning). */
const live = new Set<ServerProcess>();
let hooked = false;
function killOnExit(server: ServerProcess): void {
  live.add(server);
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const s of live) s.signal('SIGKILL');
  });
}

export class ServerProcess implements ServerProcessHandle {
  #child: ChildProcess;
  #log = '';

  constructor(readonly name: string, private readonly binary: string, private readonly configFile: string) {
    this.#child = this.#spawn();
    killOnExit(this);
  }

  #spawn(): ChildProcess {
    const child = spawnTiedToParent(this.binary, ['-c', this.configFile]);
    child.stderr?.on('data', (d: Buffer) => {
      this.#log = (this.#log + d.toString()).slice(-logLimit);
    });
    if (child.pid === undefined) throw new Error(`could not start ${this.binary} for ${this.name}`);
    return child;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  running(): boolean {
    return !exited(this.#child);
  }

  /** How the process ended, for error messages; undefined while it runs. */
  exitStatus(): string | undefined {
    if (!exited(this.#child)) return undefined;
    return this.#child.signalCode ? `was ended by ${this.#child.signalCode}` : `exited with code ${this.#child.exitCode}`;
  }

  log(): string {
    return this.#log;
  }

  signal(signal: NodeJS.Signals): void {
    if (!exited(this.#child)) this.#child.kill(signal);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.signal(signal);
    await waitExit(this.#child);
  }

  async stop(): Promise<void> {
    if (exited(this.#child)) return;
    const child = this.#child;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await waitExit(child);
    clearTimeout(killTimer);
  }

  async restart(): Promise<void> {
    await this.stop();
    this.#child = this.#spawn();
  }

  /** Stops the server for good: the 'exit' hook goes too. */
  async dispose(): Promise<void> {
    await this.stop();
    live.delete(this);
  }
}
