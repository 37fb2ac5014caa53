/** OpenAI chunk JSON (chat and completions, streamed) → normalized engine events. */
import type { Delta, EngineEvent, Usage } from './adapter.js';
import { choiceIndexOf, logprobsOf, toolCallDeltasOf, usageFrom } from './engine-values.js';

type Json = Record<string, unknown>;

function usageOf(u: Json): Usage {
  const details = u.prompt_tokens_details as { cached_tokens?: unknown } | null | undefined;
  return usageFrom({ promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, cachedTokens: details?.cached_tokens });
}

export function eventsFromChunk(chunk: Json, out: EngineEvent[]): void {
  const choices = chunk.choices;
  if (Array.isArray(choices)) {
    for (const raw of choices as (Json | null)[]) {
      if (typeof raw !== 'object' || raw === null) continue;
      const index = choiceIndexOf(raw.index);
      if (index === undefined) continue;
      const d: Delta = { index };
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
        const toolCalls = toolCallDeltasOf(delta.tool_calls);
        if (toolCalls) {
          d.toolCalls = toolCalls;
          meaningful = true;
        }
      } else if (typeof raw.text === 'string' && raw.text !== '') {
        d.text = raw.text;
        meaningful = true;
      }
      // Chat logprobs ({content: [...]}); a completion's older shape is not relayed (the gateway refuses asking for it).
      const logprobs = logprobsOf(raw.logprobs);
      if (logprobs) {
        d.logprobs = logprobs;
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
  const choices = Array.isArray(body.choices) ? (body.choices as unknown[]).filter((c): c is Json => typeof c === 'object' && c !== null) : [];
  const asChunk = choices.map((c) => {
    const message = c.message as Json | undefined;
    return message ? { index: c.index, delta: message, logprobs: c.logprobs, finish_reason: c.finish_reason } : { index: c.index, text: c.text, finish_reason: c.finish_reason };
  });
  eventsFromChunk({ choices: asChunk, usage: body.usage }, out);
}
