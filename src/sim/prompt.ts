/**
 * The prompt of a request as the simulator sees it: its text (what output is seeded from and where
 * fault directives are looked for) and a stand-in token count.
 *
 * Prompt token count, deterministic and tokenizer-free:
 *   chat         whitespace-separated words over all message contents, plus 1 per message (the
 *                chat template's role markers)
 *   completion   whitespace-separated words of the prompt text; a prompt of token ids counts one
 *                per id
 * and never less than 1, since a real engine always has at least one prompt token. A continuation
 * (continuation.ts) counts the original prompt plus the answer tokens it carries.
 */

export interface SimPrompt {
  text: string;
  tokens: number;
  /**
   * A continuation (continuation.ts): the answer's first `tokens` tokens are already in the request,
   * `text` is the prompt without them and `tokens` (above) counts them too. `exact`: they are the
   * tokens the simulator generates for `text`.
   */
  continues?: { tokens: number; exact: boolean };
  /** A prompt given as token ids: its ids (token-ids.ts derives ids from the words otherwise). */
  ids?: readonly number[];
}

export const wordCount = (text: string): number => text.split(/\s+/).filter(Boolean).length;

/** A message's content: a string, or OpenAI content parts of which only the text parts count. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => {
      const text = (part as { text?: unknown } | null)?.text;
      return typeof text === 'string' ? text : '';
    })
    .join(' ');
}

/** `messages` has been checked to be a list of objects. */
export function chatPrompt(messages: readonly object[]): SimPrompt {
  const text = messages.map((m) => contentText((m as { content?: unknown }).content)).join('\n');
  return { text, tokens: Math.max(1, wordCount(text) + messages.length) };
}

/** One completion prompt: text, or token ids (whose text, for seeding, is the ids joined). */
export function completionPrompt(prompt: string | readonly number[]): SimPrompt {
  if (typeof prompt === 'string') return { text: prompt, tokens: Math.max(1, wordCount(prompt)) };
  return { text: prompt.join(' '), tokens: Math.max(1, prompt.length), ids: prompt };
}
