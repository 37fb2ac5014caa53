// Adding an engine is one file plus one registry line: these fail when an adapter file is not
// registered, a registered engine has no transcripts, or code elsewhere branches on an engine name.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { engineAdapters, engineKinds, engineKindsServing } from './registry.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const src = join(here, '..');
/** The signature of an engine's factory: what makes a file an adapter file. */
const factory = /export function (create\w+Adapter)\(options: EngineAdapterOptions\): EngineAdapter/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('engine adapter registry', () => {
  it('registers every adapter file in src/engine-adapters/', async () => {
    const registered = new Set<unknown>(Object.values(engineAdapters));
    const adapterFiles = readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && factory.test(readFileSync(join(here, f), 'utf8')));
    expect(adapterFiles.length).toBe(engineKinds().length);
    for (const file of adapterFiles) {
      const name = factory.exec(readFileSync(join(here, file), 'utf8'))![1]!;
      const module = (await import(`./${file.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
      expect(registered.has(module[name]), `${file}'s ${name} is not in registry.ts`).toBe(true);
    }
  });

  it('has transcripts for every registered engine: an error answer; a stream and a cut where it generates, an answer where it embeds', () => {
    for (const kind of engineKinds()) {
      const dir = join(here, 'fixtures', kind);
      const names = statSync(dir, { throwIfNoEntry: false })?.isDirectory() ? readdirSync(dir) : [];
      expect(names.some((n) => /^error-\d+\.json$/.test(n)), `fixtures/${kind} has no error answer`).toBe(true);
    }
    for (const kind of engineKindsServing('embed')) {
      const dir = join(here, 'fixtures', kind);
      const names = statSync(dir, { throwIfNoEntry: false })?.isDirectory() ? readdirSync(dir) : [];
      expect(names.includes('embed.json'), `fixtures/${kind} has no embeddings answer`).toBe(true);
    }
    for (const kind of engineKindsServing('generate')) {
      const dir = join(here, 'fixtures', kind);
      const names = statSync(dir, { throwIfNoEntry: false })?.isDirectory() ? readdirSync(dir) : [];
      expect(names.some((n) => /stream/.test(n)), `fixtures/${kind} has no stream transcript`).toBe(true);
      expect(names.some((n) => /^error-\d+\.json$/.test(n)), `fixtures/${kind} has no error answer`).toBe(true);
      expect(names.some((n) => /cut/.test(n)), `fixtures/${kind} has no cut transcript`).toBe(true);
    }
  });

  it('nothing outside src/engine-adapters/ and src/sim/ branches on an engine name', () => {
    // Defaults for an option, not branches: `--engine` defaults to vllm.
    const allowed = new Map([['cli/main.ts', ".default('vllm')"], ['launch/local-stack.ts', "?? 'vllm'"]]);
    const kinds = engineKinds().map((k) => k.replace(/[-]/g, '\\-')).join('|');
    const literal = new RegExp(`(['"\`])(${kinds})\\1`, 'g');
    const found: string[] = [];
    for (const path of files(src)) {
      const rel = relative(src, path);
      if (!rel.endsWith('.ts') || rel.endsWith('.test.ts') || rel.startsWith('engine-adapters') || rel.startsWith('sim')) continue;
      const code = readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      for (const line of code.split('\n')) {
        if (!literal.test(line)) continue;
        literal.lastIndex = 0;
        if (allowed.has(rel) && line.includes(allowed.get(rel)!)) continue;
        found.push(`${rel}: ${line.trim()}`);
      }
    }
    expect(found).toEqual([]);
  });
});
