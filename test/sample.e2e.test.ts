// The end-to-end sample (samples/end-to-end/run.sh) runs here so it never rots, and the admin CLI
// is driven as a user would: apply -f twice (the second time changes nothing), errors with the
// server's message, --help with an example on every command.
import { execFile } from 'node:child_process';
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

  it('has --help with an example on every admin command', async () => {
    for (const cmd of [['functions', 'list'], ['functions', 'create'], ['functions', 'get'], ['functions', 'delete'], ['functions', 'update-model'],
      ['functions', 'deploy'], ['functions', 'undeploy'], ['functions', 'status'], ['functions', 'versions', 'list'], ['functions', 'versions', 'create'],
      ['functions', 'versions', 'get'], ['workers', 'list'], ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke'], ['apply'], ['usage'], ['limiter']]) {
      const { stdout } = await llmux([...cmd, '--help']);
      expect(stdout, cmd.join(' ')).toMatch(/Example/);
    }
  });
});
