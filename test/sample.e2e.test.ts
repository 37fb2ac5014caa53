// The end-to-end sample (samples/end-to-end/run.sh) runs here so it never rots, and the admin CLI
// is driven as a user would: apply -f twice (the second time changes nothing), errors with the
// server's message, --help with an example on every command.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../src/launch/local-stack.js';
import { startTestStack, testAdminKey } from './support/stack.js';

const run = promisify(execFile);
const llmux = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['bin/llmux.js', ...args], { env: { ...process.env, LLMUX_LOG_LEVEL: 'silent', ...env }, timeout: 60_000 });

describe('the end-to-end sample', () => {
  it('goes from nothing to a streamed answer through the CLI', async () => {
    const { stdout } = await run('bash', ['samples/end-to-end/run.sh'], { timeout: 120_000 });
    expect(stdout).toContain("created function 'summarize'");
    expect(stdout).toContain('deployed version');
    expect(stdout).toMatch(/"finish_reason":"length"/);
    expect(stdout).toContain('data: [DONE]');
    expect(stdout).toMatch(/│ acme\s+│ llama-sim-8b │\s+1 │/);
  }, 120_000);
});

describe('llmux up --config', () => {
  it('applies the resources once the stack is up, so the first request already works', async () => {
    const child = spawn(process.execPath, ['bin/llmux.js', 'up', '--port', '0', '--workers', '1', '--function', 'summarize', '--model', 'llama-sim-8b',
      '--config', 'samples/end-to-end/llmux.yaml', '--ttft-ms', '0', '--itl-ms', '0'], { env: { ...process.env, LLMUX_LOG_LEVEL: 'silent' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      for (let i = 0; i < 150 && !out.includes('llmux is up'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(err).toContain('function/summarize created');
      expect(err).toContain('functionversion/summarize/v1 created, deployed');
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out)?.[0];
      const key = /apikey\/sample created \(key_[0-9a-f]+\): (\S+)/.exec(err)?.[1];
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'summarize/llama-sim-8b', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60_000);
});

describe('the admin CLI', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ workers: 1, functionId: 'summarize', model: 'llama-sim-8b' });
  });
  afterAll(async () => stack?.stop());
  const admin = () => ['--url', stack.gatewayUrl, '--admin-key', testAdminKey];

  it('applies a YAML file, and applying it again changes nothing', async () => {
    const first = await llmux(['apply', '-f', 'samples/end-to-end/llmux.yaml', ...admin()]);
    expect(first.stdout).toContain('function/summarize created');
    expect(first.stdout).toContain('functionversion/summarize/v1 created, deployed');
    expect(first.stdout).toContain('tenant/acme configured');
    const key = /apikey\/sample created \(key_[0-9a-f]+\): (\S+)/.exec(first.stdout)?.[1];
    expect(key).toMatch(/^sk-llmux-/);
    const second = await llmux(['apply', '-f', 'samples/end-to-end/llmux.yaml', ...admin()]);
    expect(second.stdout).toContain('function/summarize unchanged');
    expect(second.stdout).toContain('functionversion/summarize/v1 unchanged');
    expect(second.stdout).toContain('apikey/sample unchanged');
    const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'summarize/llama-sim-8b', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const listed = JSON.parse((await llmux(['functions', 'list', '--json', ...admin()])).stdout);
    expect(listed.map((f: { id: string }) => f.id)).toContain('summarize');
    const status = (await llmux(['functions', 'status', 'summarize', 'v1', ...admin()])).stdout;
    expect(status).toContain('summarize v1: deployed; 1 worker(s) registered of 2 wanted, 1 healthy, 0 draining');
  });

  it("prints the server's message on errors, and an error for a bad file names the document and field", async () => {
    const missing = await llmux(['functions', 'get', 'nope', ...admin()]).catch((e: { stderr: string; code: number }) => e);
    expect((missing as { code: number }).code).toBe(1);
    expect((missing as { stderr: string }).stderr).toContain("404: no function 'nope'");
    const bad = await llmux(['functions', 'update-model', 'summarize', 'v1', 'llama-sim-8b', '--token-rate-limit', 'lots', ...admin()])
      .catch((e: { stderr: string }) => e);
    expect((bad as { stderr: string }).stderr).toContain('(field: tokenRateLimit)');
    const noKey = await llmux(['keys', 'list', '--url', stack.gatewayUrl, '--config-file', '/dev/null']).catch((e: { stderr: string }) => e);
    expect((noKey as { stderr: string }).stderr).toMatch(/no admin key|not valid JSON/);
    const file = join(mkdtempSync(join(tmpdir(), 'llmux-apply-')), 'bad.yaml');
    writeFileSync(file, 'apiVersion: llmux/v1\nkind: Function\nmetadata: {name: ok}\n---\napiVersion: llmux/v1\nkind: FunctionVersion\nmetadata: {name: v1, function: ok}\nspec: {models: []}\n');
    const yaml = await llmux(['apply', '-f', file, ...admin()]).catch((e: { stderr: string }) => e);
    expect((yaml as { stderr: string }).stderr).toContain('document 2: spec.models:');
  });

  it('sets backends and routes from the CLI, reading a provider key only from the environment', async () => {
    const set = await llmux(['backends', 'set', 'prov', '--engine', 'openai', '--backend-url', 'http://127.0.0.1:9', '--api-key-env', 'PROV_KEY', ...admin()], { PROV_KEY: 'sk-secret-prov' });
    expect(set.stdout).toContain("backend 'prov' set: openai at http://127.0.0.1:9");
    const missing = await llmux(['backends', 'set', 'prov', '--engine', 'openai', '--backend-url', 'http://127.0.0.1:9', '--api-key-env', 'NOT_SET_ANYWHERE', ...admin()])
      .catch((e: { stderr: string }) => e);
    expect((missing as { stderr: string }).stderr).toContain('NOT_SET_ANYWHERE: that environment variable is not set');
    expect((await llmux(['backends', 'list', ...admin()])).stdout).not.toContain('sk-secret-prov');
    await llmux(['routes', 'set', 'gpt', '--model', 'gpt-4o-mini', '--backend', 'prov:2:team-a', '--retry-on', '429,5xx', '--attempts', '2', ...admin()]);
    const routes = JSON.parse((await llmux(['routes', 'list', '--json', ...admin()])).stdout);
    expect(routes.find((r: { name: string }) => r.name === 'gpt')).toMatchObject({
      match: { models: ['gpt-4o-mini'] }, backends: [{ backend: 'prov', weight: 2, ownedBy: 'team-a' }], retry: { retryOn: ['429', '5xx'], attempts: 2 },
    });
    const bad = await llmux(['routes', 'set', 'gpt', '--model', 'x', '--backend', 'ghost', ...admin()]).catch((e: { stderr: string }) => e);
    expect((bad as { stderr: string }).stderr).toContain('(field: backends.0.backend)');
    await llmux(['routes', 'delete', 'gpt', ...admin()]);
    await llmux(['backends', 'delete', 'prov', ...admin()]);
  });

  it('has --help with an example on every admin command', async () => {
    for (const cmd of [['functions', 'list'], ['functions', 'create'], ['functions', 'get'], ['functions', 'delete'], ['functions', 'update-model'],
      ['functions', 'deploy'], ['functions', 'undeploy'], ['functions', 'status'], ['functions', 'versions', 'list'], ['functions', 'versions', 'create'],
      ['functions', 'versions', 'get'], ['workers', 'list'], ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke'], ['apply'], ['usage'], ['limiter'],
      ['backends', 'list'], ['backends', 'set'], ['backends', 'delete'], ['routes', 'list'], ['routes', 'set'], ['routes', 'delete']]) {
      const { stdout } = await llmux([...cmd, '--help']);
      expect(stdout, cmd.join(' ')).toMatch(/Example/);
    }
  });
});
