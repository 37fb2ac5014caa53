/**
 * Deterministic output for the simulator: the same request always gives the same words, one word
 * per token, so tests can assert on text and exact token counts.
 */
import { createHash } from 'node:crypto';

const vocabulary = (
  'the a sea wind light stone river over under quiet bright early late north south green blue ' +
  'model token stream engine route worker gateway answer question signal cache prefix batch ' +
  'and of to in on with from as at by for is was are were be been has have had will would ' +
  'one two three four five six seven eight nine ten many few some all each every other'
).split(' ');

/** The prompt text a request carries (chat messages joined, or the completion prompt). */
export function promptText(body: Record<string, unknown>): string {
  if (Array.isArray(body.messages)) {
    return body.messages
      .map((m) => {
        const content = (m as { content?: unknown }).content;
        if (typeof content === 'string') return content;
        if (Array.isArray(content)) return content.map((p) => (p as { text?: unknown }).text ?? '').join(' ');
        return '';
      })
      .join('\n');
  }
  const prompt = body.prompt;
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt)) return prompt.map((p) => (Array.isArray(p) ? p.join(' ') : String(p))).join('\n');
  return '';
}

/**
 * A stand-in prompt token count: whitespace-separated words, plus 4 per chat message for the
 * template's role markers (what a Llama-3-style template adds, roughly). Token ids count one each.
 */
export function countPromptTokens(body: Record<string, unknown>): number {
  if (Array.isArray(body.prompt) && body.prompt.every((p) => typeof p === 'number')) return body.prompt.length;
  const words = promptText(body).split(/\s+/).filter(Boolean).length;
  const messages = Array.isArray(body.messages) ? body.messages.length : 0;
  return words + 4 * messages + 1;
}

/** The `i`-th output token for a prompt: a word, with a leading space except the first. */
export function tokenAt(seed: number, i: number): string {
  const word = vocabulary[(seed + i * 7919) % vocabulary.length] as string;
  return i === 0 ? word : ` ${word}`;
}

export function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}
