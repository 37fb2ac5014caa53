// `llmux top` against a real stack (nats-server, router, gateway, two workers on simulators): real
// requests, then the CLI as a user runs it (bin/llmux.js from dist/, so `npm run build` first):
// `--once`, `--json`, and the live view in a real terminal (tmux), refreshed, resized, quit with q.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import type { StatsSnapshot } from '../src/admin-api/stats-snapshot.js';
import { chat } from './support/routing.js';
import { startTestStack, testAdminKey, waitFor } from './support/stack.js';

const run = promisify(execFile);

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ workers: 2, sim: { itlMs: 1 } });
  // Streamed, so the gateway sees first tokens (TTFT).
  for (let i = 0; i < 6; i++) expect((await chat(stack, { max_tokens: 5, stream: true, stream_options: { include_usage: true } })).status).toBe(200);
  expect((await chat(stack, { model: 'demo/no-such-model' })).status).toBe(404);
  // An admitted request the engines fail (on each worker it is tried on): a 502 with a usage record.
  expect((await chat(stack, { messages: [{ role: 'user', content: 'hello [[sim:fail]]' }] })).status).toBe(502);
}, 60_000);
afterAll(async () => stack?.stop());

const top = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['bin/llmux.js', 'top', '--url', stack.gatewayUrl, ...args], { env: { ...process.env, ...env }, timeout: 20_000 });

const workerIds = (): string[] => stack.workers.map((w) => w.descriptor.workerId);
const model = (): string => stack.models[0] as string;

describe('llmux top', () => {
  it('--once prints the workers, the model with its request and token counts, the errors and the tenant, with no escape codes', async () => {
    const { stdout } = await top(['--once'], { LLMUX_ADMIN_KEY: testAdminKey });
    expect(stdout).not.toContain('\x1b');
    for (const id of workerIds()) expect(stdout).toMatch(new RegExp(`^  ${id}\\s+llmux-sim-8b\\s+demo/v1\\s+local\\s+active\\s+healthy\\s+closed\\s+\\d+/64`, 'm'));
    const row = new RegExp(`^  ${model()}\\s+-\\s+(\\d+)\\s+(\\d+)\\s+(\\d+) ms\\s+(\\d+) ms\\s+-\\s+([\\d,]+)\\s+([\\d,]+)$`, 'm').exec(stdout);
    expect(row, stdout).not.toBeNull();
    const [, requests, errors, , , outTokens, inTokens] = row as RegExpExecArray;
    expect(Number(requests)).toBeGreaterThanOrEqual(7);
    expect(Number(errors)).toBe(1);
    expect(Number(outTokens?.replace(/,/g, ''))).toBeGreaterThanOrEqual(6 * 5);
    expect(Number(inTokens?.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(stdout).toMatch(/^  404\s+\/v1\/chat\/completions\s+1$/m);
    expect(stdout).toMatch(/^  502\s+\/v1\/chat\/completions\s+1$/m);
    // The ledger is read in the background: a later snapshot has every record.
    await waitFor(async () => {
      const later = (await top(['--once', '--admin-key', testAdminKey])).stdout;
      return /^  default\s+([7-9]|\d\d+)\s+\d+\s+1\s+/m.test(later) && /error codes \(usage ledger, last 5 min\): upstream_error 1$/m.test(later);
    }, 10_000, 200);
  });

  it('--json prints the snapshot: workers with circuit and load, the model\'s counters and TTFT quantiles, usage per tenant', async () => {
    const { stdout } = await top(['--json', '--admin-key', testAdminKey]);
    const snap = JSON.parse(stdout) as StatsSnapshot;
    expect(snap.routers).toHaveLength(1);
    expect(snap.workers.map((w) => w.workerId).sort()).toEqual(workerIds().sort());
    for (const w of snap.workers) {
      expect(w).toMatchObject({ model: 'llmux-sim-8b', healthy: true, breaker: 'closed', capacity: 64, state: 'active', inFlight: 0, load: 0 });
      // The simulators report their KV cache, as vLLM's /metrics does.
      expect(w.kvCacheUsage).toBeGreaterThanOrEqual(0);
    }
    const m = snap.models.find((x) => x.model === model());
    expect(m).toBeDefined();
    expect(m?.requests).toBeGreaterThanOrEqual(7);
    expect(m?.errors).toBe(1);
    expect(m?.outputTokens).toBeGreaterThanOrEqual(30);
    expect(m?.ttft.count).toBeGreaterThanOrEqual(6);
    expect(m?.ttft.p50Seconds).toBeGreaterThan(0);
    expect(m?.ttft.p95Seconds).toBeGreaterThanOrEqual(m?.ttft.p50Seconds ?? Infinity);
    expect(snap.errors).toContainEqual({ route: '/v1/chat/completions', status: 404, count: 1 });
    expect(snap.errors).toContainEqual({ route: '/v1/chat/completions', status: 502, count: 1 });
    expect(snap.usage.errorCodes).toEqual([{ code: 'upstream_error', count: 1 }]);
    expect(snap.usage.windowSeconds).toBe(300);
    expect(snap.usage.tenants.find((t) => t.group.tenant === 'default')?.requests ?? 0).toBeGreaterThanOrEqual(6);
  });

  it('refuses without the admin key, and says so when the gateway cannot be reached', async () => {
    const noKey = await top(['--once', '--admin-key', 'wrong']).catch((e: { code: number; stderr: string }) => e);
    expect(noKey).toMatchObject({ code: 1 });
    expect((noKey as { stderr: string }).stderr).toMatch(/401/);
    const away = await run(process.execPath, ['bin/llmux.js', 'top', '--once', '--url', 'http://127.0.0.1:9', '--admin-key', testAdminKey], { timeout: 20_000 })
      .catch((e: { code: number; stderr: string }) => e);
    expect(away).toMatchObject({ code: 1 });
    expect((away as { stderr: string }).stderr).toMatch(/cannot reach llmux at http:\/\/127\.0\.0\.1:9/);
  });
});

const hasTmux = ((): boolean => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasTmux)('llmux top in a terminal (tmux; skipped when tmux is not installed)', () => {
  const socket = `llmux-top-${process.pid}`;
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const screen = (): string => tmux('capture-pane', '-p', '-t', 'top');
  const alive = (): boolean => {
    try {
      tmux('has-session', '-t', 'top');
      return true;
    } catch {
      return false;
    }
  };
  afterAll(() => {
    try {
      tmux('kill-server');
    } catch {
      // already gone: the session ended when top quit
    }
  });

  const requestsShown = (text: string): number | undefined => {
    const m = new RegExp(`^  ${model()}\\s+\\S+\\s+(\\d+)\\s`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };

  it('shows the workers, refreshes as requests arrive, and quits on q giving the terminal back', async () => {
    tmux('new-session', '-d', '-s', 'top', '-x', '160', '-y', '50',
      `${process.execPath} bin/llmux.js top --url ${stack.gatewayUrl} --admin-key ${testAdminKey}; sleep 30`);
    let text = '';
    await waitFor(() => {
      text = screen();
      return workerIds().every((id) => text.includes(id)) && requestsShown(text) !== undefined;
    }, 15_000, 100);
    expect(text).toMatch(/^llmux top  http:\/\/127\.0\.0\.1:\d+  .*\(q: quit\)$/m);
    expect(text).toContain('WORKERS (2)');
    expect(text).toMatch(/USAGE BY TENANT/);
    const before = requestsShown(text) as number;
    for (let i = 0; i < 5; i++) expect((await chat(stack, { max_tokens: 5, stream: true })).status).toBe(200);
    await waitFor(() => {
      text = screen();
      return (requestsShown(text) ?? 0) >= before + 5;
    }, 10_000, 100);
    // The refresh that saw the new requests shows a rate; later ones fall back to 0/s: wait for either.
    expect(text).toMatch(new RegExp(`^  ${model()}\\s+\\d+(\\.\\d)?/s\\s`, 'm'));

    tmux('send-keys', '-t', 'top', 'q');
    // top gives the terminal back (the main screen, where the shell's `sleep` now runs): its lines are gone.
    await waitFor(() => !screen().includes('WORKERS ('), 5_000, 100);
    // ... and has exited: the pane runs the shell's `sleep` now.
    await waitFor(() => tmux('list-panes', '-t', 'top', '-F', '#{pane_current_command}').trim() === 'sleep', 5_000, 100);
    tmux('kill-session', '-t', 'top');
    expect(alive()).toBe(false);
  });

  it('redraws at once when the terminal is resized, not only at the next refresh', async () => {
    // A refresh a minute apart: only the resize can bring the lines cut off at 8 rows on screen.
    tmux('new-session', '-d', '-s', 'top', '-x', '160', '-y', '8',
      `${process.execPath} bin/llmux.js top --interval-ms 60000 --url ${stack.gatewayUrl} --admin-key ${testAdminKey}`);
    await waitFor(() => screen().includes('WORKERS (2)'), 10_000, 100);
    expect(screen()).not.toContain('USAGE BY TENANT');
    tmux('resize-window', '-t', 'top', '-x', '100', '-y', '50');
    await waitFor(() => screen().includes('USAGE BY TENANT'), 3_000, 100);
    expect(screen().split('\n').every((l) => l.length <= 100)).toBe(true);
    tmux('send-keys', '-t', 'top', 'q');
    await waitFor(() => !alive(), 5_000, 100);
  });

  it('keeps running with an error line while the gateway cannot be reached, and Ctrl-C quits', async () => {
    tmux('new-session', '-d', '-s', 'top', '-x', '160', '-y', '50',
      `${process.execPath} bin/llmux.js top --url http://127.0.0.1:9 --admin-key ${testAdminKey}`);
    await waitFor(() => /^!! cannot reach llmux at http:\/\/127\.0\.0\.1:9.*retrying every 1 s/m.test(screen()), 10_000, 100);
    tmux('send-keys', '-t', 'top', 'C-c');
    await waitFor(() => !alive(), 5_000, 100);
  });
});
