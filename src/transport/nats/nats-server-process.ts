/**
 * Starts and stops a nats-server child process with JetStream on a random loopback port. Used by
 * `llmux up` (the managed server) and by integration tests (each starts its own).
 *
 * The server never outlives this process. `stop()` is the orderly way; an 'exit' hook kills it when
 * the process ends without one (process.exit, a second Ctrl-C, an uncaught error); and on Linux the
 * server is started through util-linux's `setpriv --pdeathsig`, so the kernel sends it SIGTERM when
 * this process dies even by SIGKILL. Without setpriv (macOS, minimal images) that last case is not
 * covered: a SIGKILLed parent leaves its nats-server running.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureNatsServerBinary } from './nats-server-binary.js';

export interface NatsServerOptions {
  /** Client port; 0 picks a free one (nats-server `-p -1`). */
  port?: number;
  host?: string;
  /** JetStream storage directory; a fresh temp dir (removed on stop) when absent. */
  storeDir?: string;
  /** Extra nats-server arguments. */
  args?: string[];
  /** Configuration file text (e.g. an `authorization` block); command-line flags still set host, port and JetStream. */
  config?: string;
  /** Install nats-server with apt-get when missing (as root). */
  install?: boolean;
  log?: (line: string) => void;
}

export interface NatsServerHandle {
  url: string;
  port: number;
  pid: number;
  storeDir: string;
  /** Replaces the configuration file and has the server reload it (SIGHUP): users and permissions change live. */
  reload(config: string): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The client port from the server's ports file, or undefined while there is none. nats-server
 * creates the file and then writes it, so a read can land in between and see it empty or cut
 * short: that is "not yet", like no file at all (startNatsServer reads again).
 */
export async function readPorts(dir: string, pid: number): Promise<number | undefined> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const file = files.find((f) => f.endsWith(`_${pid}.ports`));
  if (!file) return undefined;
  let ports: { nats?: unknown };
  try {
    ports = JSON.parse(await readFile(join(dir, file), 'utf8')) as { nats?: unknown };
  } catch {
    return undefined;
  }
  const url = Array.isArray(ports?.nats) ? ports.nats[0] : undefined;
  if (typeof url !== 'string' || !URL.canParse(url)) return undefined;
  const port = Number(new URL(url).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** null until looked up; undefined when there is no usable setpriv. */
let setprivPath: string | undefined | null = null;

/** setpriv, when it is there and knows `--pdeathsig` (util-linux 2.33 and later); looked up once. */
function pdeathsigLauncher(): string | undefined {
  if (setprivPath !== null) return setprivPath;
  setprivPath = undefined;
  if (process.platform !== 'linux') return setprivPath;
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/bin', '/bin'];
  const found = dirs.map((dir) => join(dir, 'setpriv')).find((path) => existsSync(path));
  if (found && spawnSync(found, ['--help'], { encoding: 'utf8' }).stdout?.includes('--pdeathsig')) setprivPath = found;
  return setprivPath;
}

/**
 * Spawns nats-server so that it gets SIGTERM when this process dies. setpriv sets the signal and then
 * execs the server, so `child.pid` is nats-server's own pid (its ports file is named after it). The
 * kernel ties the signal to the thread that forked, which for `spawn` is the main thread: call this
 * from a worker thread and the server would stop when that thread ends.
 */
export function spawnTiedToParent(binary: string, args: string[]): ChildProcess {
  const setpriv = pdeathsigLauncher();
  const [command, argv] = setpriv ? [setpriv, ['--pdeathsig', 'TERM', '--', binary, ...args]] : [binary, args];
  return spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = await ensureNatsServerBinary({ install: options.install ?? false, ...(options.log ? { log: options.log } : {}) });
  const host = options.host ?? '127.0.0.1';
  const work = await mkdtemp(join(tmpdir(), 'llmux-nats-'));
  const storeDir = options.storeDir ?? join(work, 'js');
  const configFile = join(work, 'nats-server.conf');
  // With a configuration file, JetStream is set in it rather than by `-js -sd`: nats-server 2.9 turns
  // flag-set JetStream off on a SIGHUP reload (every KV, ledger and journal call then fails with
  // "jetstream is not enabled"), and refuses a store_dir given both ways.
  const withJetStream = (config: string): string => `jetstream { store_dir: ${JSON.stringify(storeDir)} }\n${config}`;
  if (options.config !== undefined) await writeFile(configFile, withJetStream(options.config), { mode: 0o600 });
  const args = [...(options.config !== undefined ? ['-c', configFile] : ['-js', '-sd', storeDir]), '-a', host, '-p', String(options.port && options.port > 0 ? options.port : -1),
    '--ports_file_dir', work, ...(options.args ?? [])];
  const child = spawnTiedToParent(binary, args);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${binary}`);
  // 'exit' listeners must be synchronous: kill now, without waiting. SIGKILL when the store is our
  // temp dir, which goes too; SIGTERM lets a server with a caller's store directory close it cleanly.
  const killOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(options.storeDir ? 'SIGTERM' : 'SIGKILL');
    rmSync(work, { recursive: true, force: true });
  };
  process.on('exit', killOnExit);

  let port: number | undefined;
  for (let i = 0; i < 200 && port === undefined; i++) {
    if (child.exitCode !== null) break;
    port = await readPorts(work, pid);
    if (port === undefined) await sleep(25);
  }
  if (port === undefined) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    await rm(work, { recursive: true, force: true });
    throw new Error(`nats-server did not start: ${stderr.trim() || 'no output'}`);
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await waitExit(child);
      clearTimeout(killTimer);
      process.off('exit', killOnExit);
      await rm(work, { recursive: true, force: true });
    })();
    return stopping;
  };
  const reload = async (config: string): Promise<void> => {
    if (options.config === undefined) throw new Error('this nats-server was started without a configuration file to reload');
    await writeFile(configFile, withJetStream(config), { mode: 0o600 });
    const reloads = (): number => stderr.split('Reloaded server configuration').length;
    const before = reloads();
    child.kill('SIGHUP');
    // The server logs the reload once applied; the only acknowledgement there is.
    for (let i = 0; i < 200 && reloads() === before; i++) await sleep(25);
    if (reloads() === before) throw new Error(`nats-server did not reload its configuration: ${stderr.slice(-500)}`);
  };
  return { url: `nats://${host}:${port}`, port, pid, storeDir, reload, stop, [Symbol.asyncDispose]: stop };
}
