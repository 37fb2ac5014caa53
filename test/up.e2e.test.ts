// `llmux up` as a user runs it: a real process that starts nats-server, the roles and simulators,
// prints a URL and a curl, answers requests, and on SIGTERM leaves no process behind.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

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

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('llmux up', () => {
  it('starts the stack, prints a working URL and curl, and stops everything on SIGTERM', async () => {
    const child = spawn(process.execPath, ['bin/llmux.js', 'up', '--port', '0', '--workers', '2', '--api-key', 'sk-up-test', '--ttft-ms', '0', '--itl-ms', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LLMUX_LOG_LEVEL: 'warn' },
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
      expect(stdout).toContain('Authorization: Bearer sk-up-test');

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

  it('refuses to bind a public address without an API key', async () => {
    const child = spawn(process.execPath, ['bin/llmux.js', 'up', '--host', '0.0.0.0', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('--api-key');
  });

  it('prints help with an example in well under a second', () => {
    const started = process.hrtime.bigint();
    const out = execFileSync(process.execPath, ['bin/llmux.js', 'up', '--help'], { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(out).toMatch(/Examples?:\n  llmux up/);
    expect(out).toContain('--engine-url');
    // Generous bound for a busy CI machine; typical is ~60 ms (lazy subcommand imports).
    expect(ms).toBeLessThan(1000);
  });
});
