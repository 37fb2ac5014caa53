import { describe, expect, it } from 'vitest';
import { chat } from '../../operations/chat.js';
import { completion } from '../../operations/completion.js';
import { LlmuxError } from '../../errors.js';
import { tokenBlocks } from '../router/token-blocks.js';
import { chatPrompt } from '../../sim/prompt.js';
import { promptTokenIds } from '../../sim/token-ids.js';
import { validateRequest } from './request-schema.js';
import { routingHints } from './routing-hints.js';

const words = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
const messages = [{ role: 'system', content: words(40) }, { role: 'user', content: words(30) }];

function chatRequest() {
  const v = validateRequest(chat, { model: 'demo/m', messages });
  if (v instanceof LlmuxError) throw v;
  return v;
}

describe('routing hints - KV blocks', () => {
  it('names a chat prompt\'s token-id blocks as the simulator tokenizes it, in the model\'s block size', () => {
    const hints = routingHints(chatRequest(), {}, 'cost-model', undefined, 72, 16, { tokenizer: 'llmux-sim', blockSize: 8 });
    const ids = promptTokenIds(chatPrompt(messages));
    expect(ids).toHaveLength(72); // 70 words and a role marker per message
    expect(hints.blockSize).toBe(8);
    expect(hints.tokenBlocks).toEqual(tokenBlocks(ids, 8));
    expect(hints.tokenBlocks).toHaveLength(9);
  });

  it('gives two prompts the same names exactly for their full leading blocks of equal tokens', () => {
    const other = [{ role: 'system', content: words(40) }, { role: 'user', content: `different ${words(29)}` }];
    const v = validateRequest(chat, { model: 'demo/m', messages: other });
    if (v instanceof LlmuxError) throw v;
    const a = routingHints(chatRequest(), {}, 'prefix-aware', undefined, 72, 16, { tokenizer: 'llmux-sim' }).tokenBlocks as number[];
    const b = routingHints(v, {}, 'prefix-aware', undefined, 72, 16, { tokenizer: 'llmux-sim' }).tokenBlocks as number[];
    const shared = a.findIndex((x, i) => x !== b[i]);
    expect(shared).toBe(2); // the 40 system words are 2.5 blocks of 16: two full blocks shared
  });

  it('names a completion prompt given as token ids by those ids', () => {
    const v = validateRequest(completion, { model: 'demo/m', prompt: Array.from({ length: 40 }, (_, i) => i + 7) });
    if (v instanceof LlmuxError) throw v;
    const hints = routingHints(v, {}, 'kv-aware', undefined, 40, 16, { tokenizer: 'llmux-sim' });
    expect(hints.tokenBlocks).toEqual(tokenBlocks(Array.from({ length: 40 }, (_, i) => i + 7), 16));
  });

  it('sends none for a method that does not use prefixes, a tokenizer without cheap ids, or without the kv argument', () => {
    expect(routingHints(chatRequest(), {}, 'least-busy', undefined, 72, 16, { tokenizer: 'llmux-sim' }).tokenBlocks).toBeUndefined();
    expect(routingHints(chatRequest(), {}, 'cost-model', undefined, 72, 16, { tokenizer: 'o200k' }).tokenBlocks).toBeUndefined();
    const plain = routingHints(chatRequest(), {}, 'cost-model', undefined, 72, 16);
    expect(plain.tokenBlocks).toBeUndefined();
    expect(plain.blocks?.length).toBeGreaterThan(0);
  });
});
