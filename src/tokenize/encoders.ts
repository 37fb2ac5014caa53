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
import { isOpenAiEncoding, tokenizerFiles } from './tokenizer-names.js';

const require = createRequire(import.meta.url);

export interface Encoder {
  countText(text: string): number;
  countChat(messages: readonly ChatMessage[]): number;
}

/** OpenAI's counting for chat models: 3 tokens per message, 1 more for a name, 3 to prime the reply. */
function openAiEncoder(encoding: 'cl100k' | 'o200k'): Encoder {
  const module = require(`gpt-tokenizer/cjs/encoding/${encoding}_base`) as { countTokens(text: string): number };
  const countText = (text: string): number => (text === '' ? 0 : module.countTokens(text));
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
  const countText = (text: string): number => (text === '' ? 0 : tok.encode(text, { add_special_tokens: false }).length);
  return { countText, countChat: (messages) => countText(render(messages)) };
}

const loaded = new Map<string, Encoder>();

/** The encoder for `tokenizer` on this thread, loading it on first use. Throws for an unknown name. */
export function encoderFor(tokenizer: string): Encoder {
  let encoder = loaded.get(tokenizer);
  if (!encoder) {
    encoder = isOpenAiEncoding(tokenizer) ? openAiEncoder(tokenizer) : huggingFaceEncoder(tokenizer);
    loaded.set(tokenizer, encoder);
  }
  return encoder;
}

/** Whether this thread has `tokenizer` loaded already (counting with it costs no load). */
export const isLoaded = (tokenizer: string): boolean => loaded.has(tokenizer);
