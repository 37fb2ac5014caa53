/**
 * A prompt's token ids on the gateway's own thread, for routing on engines' KV events: only where
 * they are cheap and exactly what the engine computes. Today that is the simulator's tokenization
 * (`llmux-sim`); for other tokenizers this answers undefined and routers use their approximate
 * prefix index. (A Hugging Face tokenizer with the model's chat template could answer too, from
 * the token-counting pool, as llm-d's precise prefix scorer tokenizes; not done yet.)
 */
import type { ChatMessage } from '../engine-adapters/adapter.js';
import { simTokenIds } from './sim-tokenizer.js';
import { simTokenizerName } from './tokenizer-names.js';

/** `body`: a validated chat body (`messages`) or completion body (`prompt`, one prompt). */
export function promptTokenIds(tokenizer: string, body: Readonly<Record<string, unknown>>): number[] | undefined {
  if (tokenizer !== simTokenizerName) return undefined;
  if (Array.isArray(body.messages)) return simTokenIds({ messages: body.messages as ChatMessage[] });
  const prompt = body.prompt;
  if (typeof prompt === 'string') return simTokenIds({ prompt });
  if (Array.isArray(prompt) && prompt.every((t) => Number.isInteger(t))) return simTokenIds({ prompt: prompt as number[] });
  return undefined;
}
