/**
 * Starts and stops a nats-server child process with JetStream on a random loopback port. Used by
 * `llmux up` (the managed server) and by integration tests (each starts its own).
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

async function readPorts(dir: string, pid: number): Promise<number | undefined> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const file = files.find((f) => f.endsWith(`_${pid}.ports`));
  if (!file) return undefined;
  const ports = JSON.parse(await readFile(join(dir, file), 'utf8')) as { nats?: string[] };
  const url = ports.nats?.[0];
  return url ? Number(new URL(url).port) : undefined;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = await ensureNatsServerBinary({ install: options.install ?? false, ...(options.log ? { log: options.log } : {}) });
  const host = options.host ?? '127.0.0.1';
  const work = await mkdtemp(join(tmpdir(), 'llmux-nats-'));
  const storeDir = options.storeDir ?? join(work, 'js');
  const configFile = join(work, 'nats-server.conf');
  if (options.config !== undefined) await writeFile(configFile, options.config, { mode: 0o600 });
  const args = [...(options.config !== undefined ? ['-c', configFile] : []), '-a', host, '-p', String(options.port && options.port > 0 ? options.port : -1), '-js', '-sd', storeDir,
    '--ports_file_dir', work, ...(options.args ?? [])];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${binary}`);

  let port: number | undefined;
  for (let i = 0; i < 200 && port === undefined; i++) {
    if (child.exitCode !== null) break;
    port = await readPorts(work, pid);
    if (port === undefined) await sleep(25);
  }
  if (port === undefined) {
    child.kill('SIGKILL');
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
      await rm(work, { recursive: true, force: true });
    })();
    return stopping;
  };
  const reload = async (config: string): Promise<void> => {
    if (options.config === undefined) throw new Error('this nats-server was started without a configuration file to reload');
    await writeFile(configFile, config, { mode: 0o600 });
    const reloads = (): number => stderr.split('Reloaded server configuration').length;
    const before = reloads();
    child.kill('SIGHUP');
    // The server logs the reload once applied; the only acknowledgement there is.
    for (let i = 0; i < 200 && reloads() === before; i++) await sleep(25);
    if (reloads() === before) throw new Error(`nats-server did not reload its configuration: ${stderr.slice(-500)}`);
  };
  return { url: `nats://${host}:${port}`, port, pid, storeDir, reload, stop, [Symbol.asyncDispose]: stop };
}
