/** OpenAI chunk JSON (chat and completions, streamed) → normalized engine events. */
import type { Delta, EngineEvent, Usage } from './adapter.js';

type Json = Record<string, unknown>;

function usageOf(u: Json): Usage {
  const details = u.prompt_tokens_details as { cached_tokens?: unknown } | null | undefined;
  const usage: Usage = {};
  if (typeof u.prompt_tokens === 'number') usage.promptTokens = u.prompt_tokens;
  if (typeof u.completion_tokens === 'number') usage.completionTokens = u.completion_tokens;
  if (typeof details?.cached_tokens === 'number') usage.cachedTokens = details.cached_tokens;
  return usage;
}

export function eventsFromChunk(chunk: Json, out: EngineEvent[]): void {
  const choices = chunk.choices;
  if (Array.isArray(choices)) {
    for (const raw of choices as (Json | null)[]) {
      if (typeof raw !== 'object' || raw === null) continue;
      const d: Delta = { index: typeof raw.index === 'number' ? raw.index : 0 };
      let meaningful = false;
      const delta = raw.delta as Json | null | undefined;
      if (typeof delta === 'object' && delta !== null) {
        if (typeof delta.role === 'string') {
          d.role = delta.role;
          meaningful = true;
        }
        if (typeof delta.content === 'string' && delta.content !== '') {
          d.text = delta.content;
          meaningful = true;
        }
        // `reasoning_content` (SGLang, older vLLM) or `reasoning` (newer vLLM).
        const reasoning = delta.reasoning_content ?? delta.reasoning;
        if (typeof reasoning === 'string' && reasoning !== '') {
          d.reasoning = reasoning;
          meaningful = true;
        }
        if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) {
          d.toolCalls = delta.tool_calls;
          meaningful = true;
        }
      } else if (typeof raw.text === 'string' && raw.text !== '') {
        d.text = raw.text;
        meaningful = true;
      }
      if (typeof raw.finish_reason === 'string') {
        d.finishReason = raw.finish_reason;
        meaningful = true;
      }
      if (meaningful) out.push({ type: 'delta', delta: d });
    }
  }
  if (chunk.usage && typeof chunk.usage === 'object') out.push({ type: 'usage', usage: usageOf(chunk.usage as Json) });
}

/** A whole (non-streamed) `chat.completion` or `text_completion` → the same events, in one batch. */
export function eventsFromCompletion(body: Json, out: EngineEvent[]): void {
  const choices = Array.isArray(body.choices) ? (body.choices as Json[]) : [];
  const asChunk = choices.map((c) => {
    const message = c.message as Json | undefined;
    return message ? { index: c.index, delta: message, finish_reason: c.finish_reason } : { index: c.index, text: c.text, finish_reason: c.finish_reason };
  });
  eventsFromChunk({ choices: asChunk, usage: body.usage }, out);
}
