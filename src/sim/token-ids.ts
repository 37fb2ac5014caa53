/**
 * Deterministic token ids for the simulator, so its KV blocks hash the same way for the same prompt
 * in every process: a word's id is a 32-bit FNV-1a hash of the word, folded into Llama 3's 128,000
 * ordinary ids (it has 128,256 with the specials); the chat template's role markers, one per message
 * (prompt.ts counts them), are the special id 128,009 (`<|eot_id|>`), placed after the words so that
 * prompts sharing leading messages share leading blocks. A prompt given as token ids is its ids. A
 * continuation's answer tokens are the ids of the words the simulator generated for them. Not a
 * tokenizer: one word is one token, as everywhere else in the simulator.
 */
import { seedOf, tokenAt } from './generation.js';
import type { SimPrompt } from './prompt.js';

const ORDINARY_IDS = 128_000;
export const ROLE_MARKER_ID = 128_009;

export function wordId(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return (h >>> 0) % ORDINARY_IDS;
}

/** The id of the simulator's `i`-th output token for `seed` (generation.ts). */
export const outputTokenId = (seed: number, i: number): number => wordId(tokenAt(seed, i).trimStart());

/** Exactly `prompt.tokens` ids. */
export function promptTokenIds(prompt: SimPrompt): number[] {
  const ids = prompt.ids ? [...prompt.ids] : prompt.text.split(/\s+/).filter(Boolean).map(wordId);
  if (prompt.continues) {
    const seed = seedOf(prompt.text);
    for (let i = 0; i < prompt.continues.tokens; i++) ids.push(outputTokenId(seed, i));
  }
  while (ids.length < prompt.tokens) ids.push(ROLE_MARKER_ID);
  return ids.length > prompt.tokens ? ids.slice(0, prompt.tokens) : ids;
}
