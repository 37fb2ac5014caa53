/**
 * Continuations (mid-stream migration): a request that carries the first tokens of an answer the
 * simulator gave, for it to carry on exactly as if it had never stopped. The answer is seeded from
 * the prompt without those tokens, generation resumes at the next token, and the answer ends where
 * the undisturbed one would have (serve-generation.ts).
 *
 *   chat        the final assistant message is the partial answer (with `continue_final_message`,
 *               or a trailing assistant message for engines that continue one by themselves); the
 *               prompt is the messages before it. Its k tokens are its words: when it is not the
 *               text the simulator would have given (another engine's answer), the simulator still
 *               carries on from token k, and counts the continuation as inexact.
 *   completion  the prompt is the original prompt plus the partial answer, and nothing says where
 *               one ends. The simulator tries every split that leaves j whole answer tokens at the
 *               end (one bare word glued to the original, then " word" each) and keeps the largest j
 *               for which prompt = P + textOf(seedOf(P), j): a match by chance would need a
 *               32-bit seed to spell j words. At most 8192 tokens back; a candidate fails at its
 *               first differing token, and the prefixes are hashed in one pass.
 */
import { isTextOf, isVocabularyWord, prefixSeeds, seedOf, vocabularyWords } from './generation.js';
import { completionPrompt, type SimPrompt, wordCount } from './prompt.js';

/** How far back a completion's partial answer is looked for, in tokens. */
export const maxContinuedTokens = 8192;

/** A chat whose final assistant message `partial` continues the answer to `before` (the messages before it). */
export function continuedChat(before: SimPrompt, partial: string): SimPrompt {
  const tokens = wordCount(partial);
  return { text: before.text, tokens: before.tokens + tokens, continues: { tokens, exact: isTextOf(seedOf(before.text), tokens, partial) } };
}

/** A text prompt, recognized as a continuation when it ends with an answer to what comes before it. */
export function continuedText(prompt: string): SimPrompt {
  const split = splitContinuation(prompt);
  if (!split) return completionPrompt(prompt);
  const original = completionPrompt(split.original);
  return { text: original.text, tokens: original.tokens + split.tokens, continues: { tokens: split.tokens, exact: true } };
}

/** The original prompt and the number of answer tokens after it, for the longest answer `prompt` ends with. */
export function splitContinuation(prompt: string): { original: string; tokens: number } | undefined {
  const candidates: Array<{ cut: number; tokens: number }> = [];
  let end = prompt.length; // where the candidate's first token would end
  for (let later = 0; later < maxContinuedTokens; later++) {
    for (const word of vocabularyWords) {
      const cut = end - word.length;
      if (cut > 0 && prompt.startsWith(word, cut)) candidates.push({ cut, tokens: later + 1 });
    }
    const space = prompt.lastIndexOf(' ', end - 1);
    if (space < 0 || !isVocabularyWord(prompt.slice(space + 1, end))) break;
    end = space;
  }
  candidates.sort((a, b) => a.cut - b.cut);
  let best: { original: string; tokens: number } | undefined;
  let i = 0;
  for (const seed of prefixSeeds(prompt, candidates.map((c) => c.cut))) {
    const c = candidates[i++]!;
    if (c.tokens > (best?.tokens ?? 0) && isTextOf(seed, c.tokens, prompt, c.cut)) best = { original: prompt.slice(0, c.cut), tokens: c.tokens };
  }
  return best;
}
