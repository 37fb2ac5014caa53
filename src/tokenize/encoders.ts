/**
 * Loading a tokenizer and counting with it, synchronously, on whichever thread calls: the pool's
 * worker threads, and the gateway's own thread for short prompts. Each thread loads a vocabulary
 * once, on first use.
 *
 * Chat counts are the prompt as the engine sees it: Hugging Face families render the model's chat
 * template and encode the result with its special tokens (what vLLM does: template, then encode
 * without adding another BOS); OpenAI encodings use OpenAI's documented per-message overhead.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { TokenizerLoader } from '@lenml/tokenizers';
import type { ChatMessage } from '../engine-adapters/adapter.js';
import { loadChatTemplate, plainMessages } from './chat-template.js';
import { simCountChat, simCountText } from './sim-tokenizer.js';
import { isHuggingFaceFamily, isOpenAiEncoding, simTokenizerName, tokenizerFiles, VocabularyMissingError } from './tokenizer-names.js';

const require = createRequire(import.meta.url);

export interface Encoder {
  countText(text: string): number;
  countChat(messages: readonly ChatMessage[]): number;
}

/**
 * The longest run without whitespace counted in one piece. BPE merging is quadratic in the length of
 * a pre-token, and a run without whitespace is one pre-token: 100,000 copies of one letter took 12 s
 * with o200k, 300,000 took 86 s, one hostile request holding a pool thread. Longer runs are counted
 * in slices of this many characters, which costs at most about one token per slice (a run that long
 * is never natural text); text with whitespace at least this often is counted exactly as before.
 */
export const maxRunChars = 256;
const longRun = new RegExp(`\\S{${maxRunChars + 1},}`, 'g');

/** `count` over `text`, with every run of more than maxRunChars non-whitespace characters counted slice by slice. */
export function countInPieces(text: string, count: (piece: string) => number): number {
  longRun.lastIndex = 0;
  if (!longRun.test(text)) return count(text);
  longRun.lastIndex = 0;
  let total = 0;
  let from = 0;
  for (const match of text.matchAll(longRun)) {
    if (match.index > from) total += count(text.slice(from, match.index));
    for (let i = 0; i < match[0].length; i += maxRunChars) total += count(match[0].slice(i, i + maxRunChars));
    from = match.index + match[0].length;
  }
  if (from < text.length) total += count(text.slice(from));
  return total;
}

/** OpenAI's counting for chat models: 3 tokens per message, 1 more for a name, 3 to prime the reply. */
function openAiEncoder(encoding: 'cl100k' | 'o200k'): Encoder {
  const module = require(`gpt-tokenizer/cjs/encoding/${encoding}_base`) as { countTokens(text: string): number };
  const countText = (text: string): number => (text === '' ? 0 : countInPieces(text, (piece) => module.countTokens(piece)));
  return {
    countText,
    countChat(messages) {
      let n = 3;
      for (const m of plainMessages(messages)) {
        n += 3 + countText(m.role) + countText(m.content);
        if (m.name !== undefined) n += 1 + countText(m.name);
      }
      return n;
    },
  };
}

function huggingFaceEncoder(tokenizer: string): Encoder {
  const files = tokenizerFiles(tokenizer) as { json: string; config: string };
  const tokenizerJSON = JSON.parse(readFileSync(files.json, 'utf8')) as object;
  let tokenizerConfig: object = {};
  try {
    tokenizerConfig = JSON.parse(readFileSync(files.config, 'utf8')) as object;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
  const render = loadChatTemplate(tokenizer);
  const countText = (text: string): number => (text === '' ? 0 : countInPieces(text, (piece) => tok.encode(piece, { add_special_tokens: false }).length));
  return { countText, countChat: (messages) => countText(render(messages)) };
}

const loaded = new Map<string, Encoder>();

/** The encoding a family name is counted with while its vocabulary is not installed: an estimate. */
export const fallbackEncoding = 'o200k';

/**
 * The encoder for `tokenizer` on this thread, loading it on first use. Throws for an unknown name, a
 * missing file or a missing `hf:` model. A family name (llama3, …) whose vocabulary package is not
 * installed is counted with {@link fallbackEncoding} instead, as an unknown model name is, and says so
 * once per thread on stderr with how to install it (docs/tokenization.md).
 */
export function encoderFor(tokenizer: string): Encoder {
  let encoder = loaded.get(tokenizer);
  if (!encoder) {
    try {
      encoder = isOpenAiEncoding(tokenizer) ? openAiEncoder(tokenizer)
        : tokenizer === simTokenizerName ? { countText: simCountText, countChat: simCountChat }
          : huggingFaceEncoder(tokenizer);
    } catch (error) {
      if (!(error instanceof VocabularyMissingError) || !isHuggingFaceFamily(tokenizer)) throw error;
      process.stderr.write(`${JSON.stringify({ level: 40, time: Date.now(), msg: `${error.message}; counting with ${fallbackEncoding} meanwhile (an estimate)`, tokenizer })}\n`);
      encoder = encoderFor(fallbackEncoding);
    }
    loaded.set(tokenizer, encoder);
  }
  return encoder;
}

/** Whether this thread has `tokenizer` loaded already (counting with it costs no load). */
export const isLoaded = (tokenizer: string): boolean => loaded.has(tokenizer);
