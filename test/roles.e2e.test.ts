// A deployment with one process per role, as in production: `llmux credentials` makes the NATS
// identities, nats-server runs with their authorization block, and `llmux sim`, `llmux router`,
// `llmux limiter`, `llmux worker` and `llmux gateway` each connect with their seed; a streamed request.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { spawnRole } from './support/processes.js';
import { afterAll, describe, expect, it } from 'vitest';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';

const children: ChildProcess[] = [];
let nats: NatsServerHandle | undefined;

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  await nats?.stop();
});

const role = (args: string[], ready: RegExp): Promise<string> => spawnRole(children, args, ready);

describe('one process per role', () => {
  it('serves a streamed chat request through separately started gateway, router and worker', async () => {
    const ids = join(mkdtempSync(join(tmpdir(), 'llmux-ids-')), 'ids');
    const made = execFileSync(process.execPath, ['bin/llmux.js', 'credentials', '--worker', 'w-one', '--out', ids], { encoding: 'utf8' });
    expect(made).toContain('nats-auth.conf');
    nats = await startNatsServer({ config: readFileSync(join(ids, 'nats-auth.conf'), 'utf8') });
    const control = ['--nkey-seed-file', join(ids, 'control.seed')];
    // Without an identity nothing connects.
    expect(() => execFileSync(process.execPath, ['bin/llmux.js', 'register-demo', '--nats', nats!.url, '--model', 'tiny'], { encoding: 'utf8', stdio: 'pipe' }))
      .toThrow(/Authorization Violation/);
    const registered = execFileSync(process.execPath, ['bin/llmux.js', 'register-demo', '--nats', nats.url, ...control, '--model', 'tiny'], { encoding: 'utf8' });
    expect(registered).toContain("'demo/tiny'");
    // Routers with an identity refuse a worker without a binding: bind w-one to what it serves.
    const bound = execFileSync(process.execPath, ['bin/llmux.js', 'credentials', '--nats', nats.url, ...control, '--worker', 'w-one', '--function', 'demo', '--model', 'tiny'], { encoding: 'utf8' });
    expect(bound).toContain("bound w-one to function 'demo', version any, model 'tiny'");
    const simUrl = await role(['sim', '--port', '0', '--model', 'tiny'], /listening on (http:\/\/\S+)/);
    await role(['router', '--nats', nats.url, ...control], /router running/);
    await role(['limiter', '--nats', nats.url, ...control], /limiter running/);
    await role(['worker', '--nats', nats.url, '--nkey-seed-file', join(ids, 'w-one.seed'), '--engine-url', simUrl, '--function', 'demo', '--model', 'tiny', '--id', 'w-one'], /worker registered/);
    const gatewayUrl = await role(['gateway', '--nats', nats.url, ...control, '--port', '0', '--api-key', 'k1'], /"url":"(http:\/\/[^"]+)"/);
    const client = new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: 'k1', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'demo/tiny', stream: true, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.split(' ')).toHaveLength(4);
  });
});
