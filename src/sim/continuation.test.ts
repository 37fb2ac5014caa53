// Recognizing a continuation, the pure part: where a text prompt's partial answer starts (the
// suffix trick), a chat's partial answer checked against the simulator's own text, and the helpers
// they stand on.
import { describe, expect, it } from 'vitest';
import { continuedChat, continuedText, maxContinuedTokens, splitContinuation } from './continuation.js';
import { directivesIn, faultIn, prefillMsDirective, stallAfterDirective } from './faults.js';
import { isTextOf, prefixSeeds, seedOf, textBetween, textOf } from './generation.js';
import { chatPrompt, completionPrompt } from './prompt.js';

const answered = (original: string, tokens: number): string => original + textOf(seedOf(original), tokens);

describe('sim continuation - a text prompt ending with an answer', () => {
  const originals = ['Once upon', 'x', 'tell me about the sea', 'ends with a space ', 'line\n', '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n', 'wörld €'];

  it('finds where the original prompt ends, for any number of answer tokens', () => {
    for (const original of originals) {
      for (const tokens of [1, 2, 3, 17, 300]) {
        expect({ original, tokens, split: splitContinuation(answered(original, tokens)) }).toEqual({ original, tokens, split: { original, tokens } });
      }
    }
  });

  it('finds none in a prompt that does not end with its own answer (an original prompt is never empty)', () => {
    for (const prompt of [...originals, 'the sea the sea the sea', 'a', 'Once upon' + textOf(seedOf('Once upo'), 3), textOf(seedOf(''), 3)]) expect(splitContinuation(prompt), prompt).toBeUndefined();
  });

  it('looks back at most maxContinuedTokens tokens', () => {
    expect(splitContinuation(answered('go', maxContinuedTokens))).toEqual({ original: 'go', tokens: maxContinuedTokens });
    expect(splitContinuation(answered('go', maxContinuedTokens + 1))).toBeUndefined();
  });

  it('counts the original prompt’s words plus the answer’s tokens, the answer glued to the prompt or not', () => {
    // 'Once upon' + 'the' reads as 'Once uponthe': the count still adds one per answer token.
    expect(continuedText(answered('Once upon', 4))).toEqual({ text: 'Once upon', tokens: 2 + 4, continues: { tokens: 4, exact: true } });
    expect(continuedText('Once upon a time')).toEqual(completionPrompt('Once upon a time'));
  });
});

describe('sim continuation - a chat’s final assistant message', () => {
  const before = chatPrompt([{ role: 'user', content: 'hi there' }]);

  it('resumes after its words, counting them as prompt tokens, exact when it is the simulator’s own text', () => {
    expect(continuedChat(before, textOf(seedOf(before.text), 5))).toEqual({ text: before.text, tokens: before.tokens + 5, continues: { tokens: 5, exact: true } });
    expect(continuedChat(before, 'not  the answer')).toEqual({ text: before.text, tokens: before.tokens + 3, continues: { tokens: 3, exact: false } });
    expect(continuedChat(before, '')).toEqual({ text: before.text, tokens: before.tokens, continues: { tokens: 0, exact: true } });
  });
});

describe('sim generation - helpers for continuations', () => {
  it('seeds every prefix as seedOf would, in one pass', () => {
    const text = 'héllo wörld, 😀 and more';
    const cuts = [1, 5, 5, 12, 15, text.length]; // whole characters: 13–14 is one emoji
    expect([...prefixSeeds(text, cuts)]).toEqual(cuts.map((c) => seedOf(text.slice(0, c))));
  });

  it('checks text against the tokens for a seed, and joins a range of them', () => {
    const seed = seedOf('p');
    expect(isTextOf(seed, 4, textOf(seed, 4))).toBe(true);
    expect(isTextOf(seed, 3, textOf(seed, 4))).toBe(false);
    expect(isTextOf(seed, 4, `>>${textOf(seed, 4)}`, 2)).toBe(true);
    expect(textOf(seed, 3) + textBetween(seed, 3, 9)).toBe(textOf(seed, 9));
  });
});

describe('sim faults - the stall and prefill directives', () => {
  it('reads stall-after and prefill-ms, the prefill alongside a fault', () => {
    expect(faultIn(`x ${stallAfterDirective(4)}`)).toEqual({ type: 'stall-after', tokens: 4 });
    expect(directivesIn(`x ${prefillMsDirective(250)} ${stallAfterDirective(1)}`)).toEqual({ fault: { type: 'stall-after', tokens: 1 }, prefillMs: 250 });
    expect(directivesIn('nothing here')).toEqual({ fault: { type: 'none' }, prefillMs: 0 });
  });
});
