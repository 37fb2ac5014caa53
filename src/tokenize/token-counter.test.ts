import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../engine-adapters/adapter.js';
import { createChatPromptRenderer } from './chat-template.js';
import { createTokenCounter } from './token-counter.js';
import { guessTokenizer } from './tokenizer-names.js';

const chats = JSON.parse(readFileSync(new URL('./fixtures/chats.json', import.meta.url), 'utf8')) as Record<string, { messages: ChatMessage[] }>;
const cookbook = chats['openai-cookbook']!.messages;
const unicodeChat = chats['multi-turn-unicode']!.messages;

const inline = createTokenCounter({ threads: 1 });
const pooled = createTokenCounter({ threads: 2, inlineMaxChars: 0 });
afterAll(async () => {
  await inline.close();
  await pooled.close();
});

describe('token counts - real vocabularies', () => {
  it('counts known strings as the published encodings do', async () => {
    expect(await inline.countText('cl100k', 'hello world')).toBe(2);
    expect(await inline.countText('o200k', 'hello world')).toBe(2);
    expect(await inline.countText('cl100k', '')).toBe(0);
    expect(await pooled.countText('llama3', 'hello world')).toBe(2);
  });

  it("matches the prompt tokens OpenAI's API reported for the cookbook conversation (129 cl100k, 124 o200k)", async () => {
    expect(await inline.countChat('cl100k', cookbook)).toBe(129);
    expect(await inline.countChat('o200k', cookbook)).toBe(124);
  });

  it('counts a Hugging Face chat as its rendered template, special tokens included', async () => {
    const render = createChatPromptRenderer('llama3');
    const text = render([{ role: 'user', content: 'Hello there' }]);
    expect(text).toBe('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    // 1 BOS + 3 header tokens + 2 + 1 EOT + 3 header tokens + ... : the special tokens count as one each.
    expect(await pooled.countChat('llama3', [{ role: 'user', content: 'Hello there' }])).toBe(await pooled.countText('llama3', text));
    expect(await pooled.countText('llama3', '<|eot_id|>')).toBe(1);
    for (const family of ['llama3', 'qwen3', 'gemma3', 'deepseek_v3']) {
      const count = await pooled.countChat(family, unicodeChat);
      expect(count).toBe(await pooled.countText(family, createChatPromptRenderer(family)(unicodeChat)));
      expect(count).toBeGreaterThan(40);
    }
  });

  it("reports a conversation the model's template refuses as a ChatTemplateError", async () => {
    await expect(pooled.countChat('gemma3', cookbook)).rejects.toMatchObject({ name: 'ChatTemplateError', message: expect.stringContaining('alternate') });
  });

  it('names the known tokenizers when given an unknown one, and fails cleanly on a missing file', async () => {
    await expect(pooled.countText('llama2', 'x')).rejects.toMatchObject({ name: 'UnknownTokenizerError', message: expect.stringContaining('cl100k, o200k, llama3') });
    await expect(pooled.countText('/nonexistent/tokenizer.json', 'x')).rejects.toThrow(/ENOENT/);
  });

  it('guesses the tokenizer family from a model name', () => {
    expect(guessTokenizer('meta-llama/Llama-3.1-8B-Instruct')).toBe('llama3');
    expect(guessTokenizer('Qwen/Qwen3-8B')).toBe('qwen3');
    expect(guessTokenizer('google/gemma-3-4b-it')).toBe('gemma3');
    expect(guessTokenizer('deepseek-ai/DeepSeek-V3')).toBe('deepseek_v3');
    expect(guessTokenizer('gpt-4o-mini')).toBe('o200k');
    expect(guessTokenizer('gpt-4-turbo')).toBe('cl100k');
    expect(guessTokenizer('some-unknown-model')).toBe('o200k');
  });
});

describe('token counter - the pool', () => {
  it('counts the same on the pool as inline, for any text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 300 }), async (text) => {
        expect(await pooled.countText('cl100k', text)).toBe(await inline.countText('cl100k', text));
      }),
      { numRuns: 60 },
    );
  });

  it('sends the jobs asked for in one event-loop turn as one task per 64', async () => {
    const counter = createTokenCounter({ threads: 1, inlineMaxChars: 0 });
    try {
      const counts = await Promise.all(Array.from({ length: 100 }, (_, i) => counter.countText('cl100k', `prompt number ${i}`)));
      expect(counts.every((n) => n >= 3)).toBe(true);
      expect(counter.stats()).toEqual({ inline: 0, pooled: 100, batches: 2 });
    } finally {
      await counter.close();
    }
  });

  it('counts a short OpenAI-encoded prompt inline, without a thread hop', async () => {
    const counter = createTokenCounter({ threads: 1 });
    try {
      await counter.countChat('o200k', [{ role: 'user', content: 'short' }]);
      expect(counter.stats()).toEqual({ inline: 1, pooled: 0, batches: 0 });
    } finally {
      await counter.close();
    }
  });

  it('counts a long prompt off the event loop: timers keep firing while it is counted', async () => {
    const long = 'The quick brown fox jumps over the lazy dog; 大洋 🌊. '.repeat(20_000); // ~1 MB
    const before = inline.stats();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const tokens = await inline.countText('cl100k', long);
    clearInterval(timer);
    expect(tokens).toBeGreaterThan(200_000);
    expect(inline.stats().pooled).toBe(before.pooled + 1);
    expect(inline.stats().inline).toBe(before.inline);
    expect(ticks).toBeGreaterThan(0);
  });

  it('refuses to count once closed', async () => {
    const counter = createTokenCounter();
    await counter.close();
    await expect(counter.countText('cl100k', 'x')).rejects.toThrow(/closed/);
  });
});

describe('token counts - hostile text', () => {
  it('counts a long run without whitespace in slices: close to the exact count, and in linear time', async () => {
    // Exact on a run BPE can still handle whole (10,000 'a' are 1,250 o200k tokens): within 3 %.
    const sliced = await pooled.countText('o200k', 'a'.repeat(10_000));
    expect(Math.abs(sliced - 1_250) / 1_250).toBeLessThan(0.03);
    // 300,000 of them took 86 s counted whole; sliced it is well inside the test's timeout.
    expect(await pooled.countText('o200k', 'a'.repeat(300_000))).toBeGreaterThan(30_000);
    expect(await pooled.countText('llama3', 'b'.repeat(100_000))).toBeGreaterThan(1_000);
  });

  it('counts text with ordinary whitespace exactly as before', async () => {
    const text = readFileSync(new URL('./fixtures/chats.json', import.meta.url), 'utf8');
    const { countInPieces } = await import('./encoders.js');
    let calls = 0;
    expect(countInPieces(text, () => ++calls)).toBe(1);
  });
});
