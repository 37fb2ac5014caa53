import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPorts } from './nats-server-process.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('nats-server ports file', () => {
  it('readPorts - a file not there yet, created but not yet written, or cut short is "not yet", not an error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llmux-ports-'));
    dirs.push(dir);
    const file = join(dir, 'nats-server_4242.ports');
    expect(await readPorts(dir, 4242)).toBeUndefined();
    const full = JSON.stringify({ nats: ['nats://127.0.0.1:40123'], monitoring: ['http://127.0.0.1:40124'] });
    for (const partial of ['', full.slice(0, 9), full.slice(0, full.length - 1), '{}', '{"nats":[]}', '{"nats":["not a url"]}', 'null']) {
      await writeFile(file, partial);
      expect(await readPorts(dir, 4242), JSON.stringify(partial)).toBeUndefined();
    }
    await writeFile(file, full);
    expect(await readPorts(dir, 4242)).toBe(40123);
    // Another server's file in the same directory is not this one's.
    expect(await readPorts(dir, 4243)).toBeUndefined();
  });
});
