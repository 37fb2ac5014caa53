// cluster/example is what `llmux cluster init --without-secrets` writes today, and holds no secret:
// regenerated here and compared file by file (configs, manifest, README; keys and certificates differ
// by nature and are only checked for presence).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const example = join('cluster', 'example');
const work = mkdtempSync(join(tmpdir(), 'llmux-cluster-example-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const files = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();

describe('cluster/example', () => {
  it('cluster example - matches what cluster init writes now, and holds no private key, seed or password', () => {
    const fresh = join(work, 'example');
    execFileSync(process.execPath, ['bin/llmux.js', 'cluster', 'init', '--clusters', 'us-east,us-west', '--servers-per-cluster', '2', '--workers-per-cluster', '1',
      '--leaf', 'edge@us-east', '--without-secrets', '--out', fresh], { stdio: 'ignore' });
    expect(files(example)).toEqual(files(fresh));
    const deterministic = files(fresh).filter((f) => /(nats-server\.conf|deployment\.json|README\.md)$/.test(f));
    expect(deterministic).toHaveLength(7);
    for (const f of deterministic) {
      expect({ file: f, text: readFileSync(join(example, f), 'utf8') }, `cluster/example/${f} is stale: regenerate it (cluster/README.md)`)
        .toEqual({ file: f, text: readFileSync(join(fresh, f), 'utf8') });
    }
    for (const f of files(example)) {
      const text = readFileSync(join(example, f), 'utf8');
      expect(text, f).not.toMatch(/PRIVATE KEY|\bSU[A-Z2-7]{56}\b/);
      expect(f).not.toMatch(/\.(key|seed)$/);
    }
    expect(readFileSync(join(example, 'servers', 'us-east-1', 'nats-server.conf'), 'utf8')).toContain('password: "example-only-not-a-secret"');
  });
});
