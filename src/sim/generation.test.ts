// Deterministic output, prompt token counting and fault directives: the pure parts of the simulator.
import { describe, expect, it } from 'vitest';
import { cutAfterDirective, FAIL_DIRECTIVE, faultIn } from './faults.js';
import { seedOf, textOf, tokenAt } from './generation.js';
import { chatPrompt, completionPrompt } from './prompt.js';

describe('sim generation', () => {
  it('gives the same tokens for the same prompt', () => {
    expect(textOf(seedOf('hello there'), 50)).toBe(textOf(seedOf('hello there'), 50));
  });

  it('gives different text for different prompts', () => {
    expect(textOf(seedOf('hello there'), 20)).not.toBe(textOf(seedOf('hello here'), 20));
  });

  it('makes each token one word, with a leading space except the first', () => {
    const seed = seedOf('x');
    expect(tokenAt(seed, 0)).toMatch(/^[a-z]+$/);
    for (let i = 1; i < 100; i++) expect(tokenAt(seed, i)).toMatch(/^ [a-z]+$/);
    expect(textOf(seed, 37).split(' ')).toHaveLength(37);
  });
});

describe('sim prompt', () => {
  it('counts chat prompt tokens as words plus one per message', () => {
    const prompt = chatPrompt([{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'hi  there you' }] }]);
    expect(prompt.tokens).toBe(5 + 2);
    expect(prompt.text).toBe('be brief\nhi  there you');
  });

  it('counts a completion prompt as its words, or one per token id', () => {
    expect(completionPrompt('Once upon a time').tokens).toBe(4);
    expect(completionPrompt([1, 2, 3]).tokens).toBe(3);
    expect(completionPrompt('   ').tokens).toBe(1);
  });
});

describe('sim faults', () => {
  it('finds fault directives anywhere in the prompt', () => {
    expect(faultIn(`please ${FAIL_DIRECTIVE} now`)).toEqual({ type: 'fail' });
    expect(faultIn(`cut ${cutAfterDirective(7)}`)).toEqual({ type: 'cut-after', tokens: 7 });
    expect(faultIn('[[sim:cut-after:x]] nothing to see')).toEqual({ type: 'none' });
  });
});
