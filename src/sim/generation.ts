/**
 * The simulator's output: one word per token, drawn from a fixed vocabulary by a hash of the prompt,
 * so the same prompt always gives the same text and a test can count tokens by counting words.
 */
import { createHash } from 'node:crypto';

// Plain lowercase words only: no quotes, brackets or escapes, so a token never needs JSON escaping
// and never spells a fault directive.
const vocabulary = (
  'the a sea wind light stone river over under quiet bright early late north south green blue ' +
  'model token stream engine route worker gateway answer question signal cache prefix batch ' +
  'and of to in on with from as at by for is was are were be been has have had will would ' +
  'one two three four five six seven eight nine ten many few some all each every other'
).split(' ');

const words = new Set(vocabulary);

/** Whether `word` is one the simulator generates (without its leading space). */
export const isVocabularyWord = (word: string): boolean => words.has(word);

/** The words the simulator generates. */
export const vocabularyWords: readonly string[] = vocabulary;

/** A 32-bit seed for a prompt's output. */
export function seedOf(promptText: string): number {
  return createHash('sha256').update(promptText).digest().readUInt32BE(0);
}

/**
 * seedOf(text.slice(0, cut)) for each cut, in ascending order, hashing the text once: the hash state
 * is copied at each cut rather than every prefix hashed from its start. Cuts fall on whole
 * characters, so each prefix encodes as it would on its own.
 */
export function* prefixSeeds(text: string, cuts: readonly number[]): Generator<number, void, undefined> {
  const hash = createHash('sha256');
  let hashed = 0;
  for (const cut of cuts) {
    hash.update(text.slice(hashed, cut));
    hashed = cut;
    yield hash.copy().digest().readUInt32BE(0);
  }
}

/**
 * The `i`-th token of the output for `seed`: a word, with a leading space except the first, so the
 * tokens concatenate into readable text. Each index is hashed on its own (a murmur3-style mix), so
 * a token costs O(1) and the words do not repeat in a short cycle.
 */
export function tokenAt(seed: number, i: number): string {
  let h = Math.imul(seed ^ Math.imul(i + 1, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  const word = vocabulary[(h >>> 0) % vocabulary.length] as string;
  return i === 0 ? word : ` ${word}`;
}

/** The first `count` tokens for `seed`, joined. */
export function textOf(seed: number, count: number): string {
  return textBetween(seed, 0, count);
}

/** Tokens `from` … `to` − 1 for `seed`, joined: what a continuation from token `from` generates. */
export function textBetween(seed: number, from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += tokenAt(seed, i);
  return text;
}

/** Whether `text` from `from` on is exactly the first `count` tokens for `seed`, stopping at the first token that differs. */
export function isTextOf(seed: number, count: number, text: string, from = 0): boolean {
  let at = from;
  for (let i = 0; i < count; i++) {
    const token = tokenAt(seed, i);
    if (!text.startsWith(token, at)) return false;
    at += token.length;
  }
  return at === text.length;
}
