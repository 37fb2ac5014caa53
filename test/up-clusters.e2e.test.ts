// `llmux up --clusters a,b` as a user runs it: one line per cluster, each gateway served by its own
// cluster, the printed `llmux usage` command working over TLS, and SIGINT leaving no process behind.
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { alive, until } from './support/processes.js';

/** Every descendant of `pid`, read from /proc. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parentOf.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

describe('llmux up --clusters', () => {
  it('prints a line per cluster, serves each gateway from its own cluster, and stops everything on SIGINT', async () => {
    const child = spawn(process.execPath, ['bin/llmux.js', 'up', '--clusters', 'east,west', '--workers', '1', '--port', '0', '--ttft-ms', '0', '--itl-ms', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LLMUX_LOG_LEVEL: 'warn' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null }>((resolve) => child.on('exit', (code) => resolve({ code })));
    try {
      await until(() => stdout.includes('Press Ctrl-C') || child.exitCode !== null, 45_000);
      expect(stdout, stderr).toContain('Press Ctrl-C');
      const lines = [...stdout.matchAll(/^cluster (\S+)\s+gateway (\S+)\s+nats (\S+)$/gm)].map((m) => ({ name: m[1], gateway: m[2], nats: m[3] }));
      expect(lines.map((l) => l.name)).toEqual(['east', 'west']);
      for (const l of lines) expect(l.nats).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
      for (const l of lines) {
        const res = await fetch(`${l.gateway}/v1/chat/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'x-llmux-debug': '1' },
          body: JSON.stringify({ model: 'demo/llmux-sim-8b', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('x-llmux-worker')).toBe(`${l.name}-worker-1`);
      }
      // The printed usage command, as a user would paste it, over TLS with the control identity.
      const usageLine = /^ {2}usage\s+llmux usage (.*) \\\n\s+(.*)$/m.exec(stdout);
      expect(usageLine, stdout).not.toBeNull();
      const args = `${usageLine?.[1]} ${usageLine?.[2]}`.split(/\s+/).filter(Boolean);
      const usage = await promisify(execFile)(process.execPath, ['bin/llmux.js', 'usage', ...args, '--since', '10m', '--by', 'cluster', '--format', 'json'], { timeout: 30_000 });
      const rows = (JSON.parse(usage.stdout) as { rows: Array<{ group: { cluster: string }; requests: number }> }).rows;
      expect(rows.map((r) => [r.group.cluster, r.requests])).toEqual([['east', 1], ['west', 1]]);
    } finally {
      const family = descendants(child.pid as number);
      expect(family.length).toBeGreaterThanOrEqual(2);
      child.kill('SIGINT');
      const { code } = await exited;
      expect(code, stderr.slice(-2000)).toBe(0);
      expect(await until(() => family.every((p) => !alive(p)), 5_000), `left running: ${family.filter(alive).join(', ')}`).toBe(true);
    }
  }, 90_000);
});
