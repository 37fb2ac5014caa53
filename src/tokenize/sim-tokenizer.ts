/**
 * `llmux-sim`: the engine simulator's own tokenization, as a tokenizer llmConfig can name, so a model
 * served by simulators is counted as they count (one token per word, plus one per chat message) and
 * its prompts' token ids are the ones the simulator's KV events carry (src/sim/token-ids.ts). The
 * simulator's functions are used as they are, so the two cannot drift apart.
 */
import type { ChatMessage } from '../engine-adapters/adapter.js';
import { chatPrompt, completionPrompt } from '../sim/prompt.js';
import { promptTokenIds } from '../sim/token-ids.js';

export { simTokenizerName as simTokenizer } from './tokenizer-names.js';

export const simCountText = (text: string): number => (text === '' ? 0 : completionPrompt(text).tokens);
export const simCountChat = (messages: readonly ChatMessage[]): number => chatPrompt(messages).tokens;

/** The token ids the simulator computes for a chat's messages or a completion's prompt. */
export function simTokenIds(input: { messages: readonly ChatMessage[] } | { prompt: string | readonly number[] }): number[] {
  return promptTokenIds('messages' in input ? chatPrompt(input.messages) : completionPrompt(input.prompt));
}
