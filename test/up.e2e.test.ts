// `llmux up` as a user runs it: a real process that starts nats-server, the roles and simulators,
// prints a URL and a curl, answers requests, and on SIGTERM, SIGINT (once or twice) or SIGKILL leaves
// no process behind, even with hostile clients connected.
import { type ChildProcessByStdio, execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { alive, until } from './support/processes.js';

/** Direct children of `pid`, read from /proc (no dependency on procps). */
function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'.
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const comm = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

interface UpProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  baseUrl: string;
  model: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `llmux up`. With `before`, a shell runs that script first (its $$ is llmux's pid, as it execs
 * llmux), with the temp dir as $1: a local user's files, planted where llmux will run.
 */
async function startUp(args: string[], how: { before?: string; env?: NodeJS.ProcessEnv } = {}): Promise<UpProcess> {
  const argv = [process.execPath, 'bin/llmux.js', 'up', '--port', '0', ...args];
  const env = { ...process.env, LLMUX_LOG_LEVEL: 'warn', ...how.env };
  const child = how.before === undefined
    ? spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env })
    : spawn('/bin/sh', ['-c', `set -e; ${how.before}; shift; exec "$@"`, 'sh', tmpdir(), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })));
  await until(() => stdout.includes('Press Ctrl-C') || child.exitCode !== null, 20_000);
  expect(stdout, stderr).toContain('llmux is up.');
  return {
    child,
    baseUrl: /base URL\s+(\S+)/.exec(stdout)?.[1] ?? '',
    model: /models\s+(\S+)/.exec(stdout)?.[1] ?? '',
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
  };
}

/** A raw request on its own socket, from a client that never reads the response. */
function neverReadingClient(baseUrl: string, body: string): Socket {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect({ host: hostname, port: Number(port) }, () => {
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    socket.write(body);
  });
  socket.on('error', () => undefined);
  return socket;
}

/**
 * Long streams (8,000 tokens, the context's worth, at 5 ms apiece: 40 s) from clients that never read,
 * plus one body over 1 MB (more than NATS carries in a message). Resolves once every stream has begun.
 */
async function hostileLoad(up: UpProcess): Promise<Socket[]> {
  const body = (extra: object): string => JSON.stringify({ model: up.model, stream: true, max_tokens: 8_000, messages: [{ role: 'user', content: 'hello' }], ...extra });
  const streams = Array.from({ length: 6 }, (_, i) => neverReadingClient(up.baseUrl, body({ user: `client-${i}` })));
  const large = neverReadingClient(up.baseUrl, body({ user: 'x'.repeat(1_200_000) }));
  // A 'readable' listener puts a socket in paused mode; never calling read() leaves the stream unread.
  await Promise.all(streams.map((s) => new Promise((resolve) => s.once('readable', resolve))));
  return [...streams, large];
}

/** The private directory holding the admin key and the NATS control seed, as the banner names it. */
const secretsDir = (up: UpProcess): string | undefined => {
  // Only a directory llmux made for itself: never the temp dir itself, whatever the banner says.
  const file = /admin\s+key in (\S+)/.exec(up.stdout())?.[1];
  return file !== undefined && /^llmux-up-/.test(basename(dirname(file))) ? dirname(file) : undefined;
};

/** What one `llmux up` started outside itself: child processes, and files a SIGKILL leaves behind. */
function startedBy(up: UpProcess): { children: number[]; files: string[] } {
  const children = childPids(up.child.pid!);
  const nats = children.find((pid) => comm(pid) === 'nats-server');
  const argv = nats === undefined ? [] : readFileSync(`/proc/${nats}/cmdline`, 'utf8').split('\0');
  const natsDir = argv.includes('--ports_file_dir') ? argv[argv.indexOf('--ports_file_dir') + 1] : undefined;
  const secrets = secretsDir(up);
  const files = [...(secrets ? [secrets] : []), ...(natsDir ? [natsDir] : [])];
  return { children, files };
}

/** Ends what a test started: its sockets, llmux, and whatever it left behind (nats-servers by pid, only those seen). */
function cleanUp(up: UpProcess, sockets: Socket[], started: { children: number[]; files: string[] }): void {
  for (const s of sockets) s.destroy();
  if (up.child.exitCode === null && up.child.signalCode === null) up.child.kill('SIGKILL');
  for (const pid of started.children) if (alive(pid) && comm(pid) === 'nats-server') process.kill(pid, 'SIGKILL');
  for (const file of started.files) rmSync(file, { recursive: true, force: true });
}

const hostileArgs = ['--workers', '2', '--ttft-ms', '0', '--itl-ms', '5'];

/** `llmux up` with never-reading streams and an oversized body in flight, and what it started (its nats-server among them). */
async function upUnderHostileLoad(): Promise<{ up: Awaited<ReturnType<typeof startUp>>; sockets: Awaited<ReturnType<typeof hostileLoad>>; started: ReturnType<typeof startedBy>; children: number[] }> {
  const up = await startUp(hostileArgs);
  const sockets = await hostileLoad(up);
  const started = startedBy(up);
  return { up, sockets, started, children: started.children };
}

describe('llmux up', () => {
  it('starts the stack, prints a working URL and curl, and stops everything on SIGTERM', async () => {
    const child = spawn(process.execPath, ['bin/llmux.js', 'up', '--port', '0', '--workers', '2', '--ttft-ms', '0', '--itl-ms', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LLMUX_LOG_LEVEL: 'warn', LLMUX_API_KEY: 'sk-up-test' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const started = Date.now();
      while (!stdout.includes('Press Ctrl-C') && Date.now() - started < 20_000 && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(stdout, stderr).toContain('llmux is up.');
      const baseUrl = /base URL\s+(\S+)/.exec(stdout)?.[1];
      const model = /models\s+(\S+)/.exec(stdout)?.[1];
      expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      expect(model).toBe('demo/llmux-sim-8b');
      expect(stdout).toContain("curl -sN");
      // The curl reads the key from the environment: printed, it would land in terminal logs.
      expect(stdout).toContain('-H "Authorization: Bearer $LLMUX_API_KEY"');
      expect(stdout + stderr).not.toContain('sk-up-test');
      expect(stderr).not.toContain('warning: --api-key');

      const res = await fetch(`${baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer sk-up-test', 'content-type': 'application/json' },
        body: JSON.stringify({ model, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
      expect(body.choices[0]?.message.content.split(' ')).toHaveLength(3);

      const children = childPids(child.pid!);
      expect(children.length).toBeGreaterThanOrEqual(1); // the managed nats-server
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      for (const pid of children) expect(alive(pid), `child ${pid} still running`).toBe(false);
      expect(stderr).toContain('stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('stops everything within a bound on SIGINT while clients never read their streams', async () => {
    const { up, sockets, started, children } = await upUnderHostileLoad();
    try {
      expect(children.map(comm)).toContain('nats-server');
      up.child.kill('SIGINT');
      // Gateway (2 s to close its connections), then both workers at once (10 s to drain), then the rest.
      const ended = await Promise.race([up.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 15_000))]);
      expect(ended, up.stderr()).not.toBe('late');
      expect(ended, up.stderr()).toEqual({ code: 0, signal: null });
      for (const pid of children) expect(alive(pid), `child ${pid} (${comm(pid)}) still running`).toBe(false);
      expect(up.stderr()).toContain('stopping gateway ...');
      // Both workers at once: on the main thread, or in the one worker thread that holds them (two cores).
      expect(up.stderr()).toMatch(/stopping (2 workers|worker thread) \.\.\./);
      expect(up.stderr()).toContain('llmux: stopped');
      for (const file of started.files) expect(existsSync(file), `${file} left behind`).toBe(false);
    } finally {
      cleanUp(up, sockets, started);
    }
  });

  it('stops within its OTLP export timeout when the trace collector accepts connections and never answers', async () => {
    // A collector that takes the export's connection and never replies: the last export at the stop
    // waits out OTEL_EXPORTER_OTLP_TIMEOUT, and says so, rather than holding the stop silently.
    const held: Socket[] = [];
    const collector = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const up = await startUp(['--workers', '1', '--ttft-ms', '0', '--itl-ms', '0'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_TIMEOUT: '1500' } });
    const started = startedBy(up);
    try {
      expect(started.children.map(comm)).toContain('nats-server');
      const res = await fetch(`${up.baseUrl}/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: up.model, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
      up.child.kill('SIGTERM');
      // Held for the export's timeout (1.5 s), not for the 15 s stop deadline.
      const ended = await Promise.race([up.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 12_000))]);
      expect(ended, up.stderr()).toEqual({ code: 0, signal: null });
      expect(up.stderr()).toContain('llmux: exporting the spans still buffered (up to the OTLP export timeout) ...');
      expect(up.stderr()).toContain('llmux: stopped');
      // The export was attempted.
      expect(held.length).toBeGreaterThan(0);
      for (const pid of started.children) expect(alive(pid), `child ${pid} (${comm(pid)}) still running`).toBe(false);
    } finally {
      cleanUp(up, held, started);
      collector.close();
    }
  });

  it('exits at once on a second SIGINT and still stops its nats-server', async () => {
    const { up, sockets, started, children } = await upUnderHostileLoad();
    try {
      expect(children.map(comm)).toContain('nats-server');
      up.child.kill('SIGINT');
      await until(() => up.stderr().includes('SIGINT received'), 2_000);
      const signalled = Date.now();
      up.child.kill('SIGINT');
      const { code } = await up.exited;
      expect(Date.now() - signalled, up.stderr()).toBeLessThan(2_000);
      expect(code).toBe(130);
      for (const pid of children) expect(await until(() => !alive(pid), 2_000), `child ${pid} (${comm(pid)}) still running`).toBe(true);
      for (const file of started.files) expect(existsSync(file), `${file} left behind`).toBe(false);
    } finally {
      cleanUp(up, sockets, started);
    }
  });

  it('takes its nats-server down with it when killed with SIGKILL', async () => {
    const { up, sockets, started, children } = await upUnderHostileLoad();
    try {
      expect(children.map(comm)).toContain('nats-server');
      up.child.kill('SIGKILL');
      expect((await up.exited).signal).toBe('SIGKILL');
      for (const pid of children) expect(await until(() => !alive(pid), 2_000), `child ${pid} (${comm(pid)}) still running`).toBe(true);
    } finally {
      cleanUp(up, sockets, started);
    }
  });

  it('keeps its secrets in a fresh private directory, never in files or symlinks another local user planted', async () => {
    // What a local user could do before: guess the paths from the pid, and plant a symlink to a file
    // of theirs (llmux would write the admin key through it) and a world-readable file (the seed).
    const decoy = join(tmpdir(), `llmux-test-decoy-${process.pid}`);
    writeFileSync(decoy, 'decoy\n', { mode: 0o644 });
    const plant = 'ln -s "$1/llmux-test-decoy-' + process.pid + '" "$1/llmux-admin-key-$$"; printf planted > "$1/llmux-nats-seed-$$"; chmod 644 "$1/llmux-nats-seed-$$"';
    const up = await startUp(['--workers', '1', '--ttft-ms', '0', '--itl-ms', '0', '--engine-api-key', 'sk-engine-flag'], { before: plant });
    const planted = { key: join(tmpdir(), `llmux-admin-key-${up.child.pid}`), seed: join(tmpdir(), `llmux-nats-seed-${up.child.pid}`) };
    const started = startedBy(up);
    try {
      expect(readlinkSync(planted.key)).toBe(decoy);
      expect(readFileSync(decoy, 'utf8')).toBe('decoy\n');
      expect(readFileSync(planted.seed, 'utf8')).toBe('planted');
      const dir = secretsDir(up);
      expect(dir, up.stdout()).toBeDefined();
      const keyFile = join(dir!, 'admin-key');
      const seedFile = /--nkey-seed-file (\S+)/.exec(up.stdout())?.[1];
      expect(seedFile && dirname(seedFile)).toBe(dir);
      // The directory: ours, a real directory, listable and enterable by us alone.
      const dirStat = lstatSync(dir!);
      expect(dirStat.isDirectory()).toBe(true);
      expect(dirStat.uid).toBe(process.getuid!());
      expect(dirStat.mode & 0o777).toBe(0o700);
      for (const file of [keyFile, seedFile!]) {
        const stat = lstatSync(file);
        expect(stat.isFile(), file).toBe(true);
        expect(stat.mode & 0o777, file).toBe(0o600);
      }
      expect(readdirSync(dir!).sort()).toEqual(['admin-key', 'nats-control-seed']);
      // The key in the file is the admin key.
      const adminKey = readFileSync(keyFile, 'utf8').trim();
      const res = await fetch(`${new URL(up.baseUrl).origin}/admin/api/keys`, { headers: { authorization: `Bearer ${adminKey}` } });
      expect(res.status).toBe(200);
      // A secret given as a flag is shown to every local user by ps: llmux says so.
      expect(up.stderr()).toContain('--engine-api-key on the command line is visible to every local user');
      up.child.kill('SIGTERM');
      expect((await up.exited).code, up.stderr()).toBe(0);
      expect(existsSync(dir!), `${dir} left behind`).toBe(false);
      expect(readFileSync(decoy, 'utf8')).toBe('decoy\n');
      expect(statSync(planted.seed).size).toBe('planted'.length);
    } finally {
      cleanUp(up, [], started);
      for (const file of [decoy, planted.key, planted.seed]) rmSync(file, { force: true });
    }
  });

  it('refuses to bind a public address without an API key', async () => {
    const child = spawn(process.execPath, ['bin/llmux.js', 'up', '--host', '0.0.0.0', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('--api-key');
  });

  it('prints help with an example, loading no subcommand: main.ts reaches none statically', () => {
    const out = execFileSync(process.execPath, ['bin/llmux.js', 'up', '--help'], { encoding: 'utf8' });
    expect(out).toMatch(/Examples?:\n  llmux up/);
    expect(out).toContain('--engine-url');
    // What makes `--help` fast (~60 ms here when idle) is that subcommands, roles and NATS are imported
    // only when their command runs. A wall-clock bound flaked on a loaded 2-core machine (2.2 s at a
    // load average of 9), so this checks the cause instead: the static import graph of the CLI entry.
    const reached = new Set<string>();
    const visit = (file: string): void => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const m of readFileSync(file, 'utf8').matchAll(/^import\s[^'"]*['"](\.{1,2}\/[^'"]+)['"]/gm)) visit(join(dirname(file), m[1] as string));
    };
    visit('dist/src/cli/main.js');
    const heavy = [...reached].filter((f) => /\/(commands|launch|transport|engine-adapters|tokenize|sim)\//.test(f) || /actors\/(gateway|router|worker)\/(?!http-limits)/.test(f));
    expect(heavy).toEqual([]);
  });
});
