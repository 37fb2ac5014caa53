/**
 * What the client has received of an answer so far, kept so that another worker can carry the
 * answer on from exactly there (mid-stream migration), and so a failed request is charged for it.
 */
import type { Continuation, Delta } from '../../engine-adapters/adapter.js';

export class Delivered {
  /** The text of choice 0, exactly as sent. */
  text = '';
  /** Content deltas with text (one token each). */
  tokens = 0;
  /** Every delta received, empty ones included (what a failed or cancelled request is charged). */
  deltas = 0;
  finishReason: string | undefined;
  /** Tool calls, reasoning or a second choice: output another engine cannot be asked to continue as text. */
  #notText = false;

  add(deltas: readonly Delta[]): void {
    for (const d of deltas) {
      this.deltas++;
      if (d.finishReason) this.finishReason = d.finishReason;
      if (d.index !== 0 || d.toolCalls !== undefined || d.reasoning !== undefined) this.#notText = true;
      if (d.index === 0 && d.text) {
        this.text += d.text;
        this.tokens++;
      }
    }
  }

  /** Whether what was delivered is plain text another engine can continue. */
  get continuable(): boolean {
    return !this.#notText;
  }

  /** The continuation for another worker, with `maxTokens` the client's limit (absent: none). */
  continuation(maxTokens: number | undefined): Continuation {
    return { text: this.text, tokens: this.tokens, ...(maxTokens !== undefined ? { maxTokens: Math.max(0, maxTokens - this.tokens) } : {}) };
  }
}
