/**
 * A shared-prefix chat workload: conversations that each start with one of a few long system
 * prompts (as agents and apps share theirs) and grow turn by turn, every turn resending the whole
 * history (as chat clients do). Closed loop: `concurrency` clients each take the next conversation
 * and play its turns back to back. Time to first token is measured at the client, from sending the
 * request to the first content chunk of the stream.
 */
import { Pool } from 'undici';

export interface WorkloadOptions {
  url: string;
  model: string;
  apiKey?: string;
  systemPrompts: number;
  systemPromptChars: number;
  conversations: number;
  turns: number;
  maxTokens: number;
  concurrency: number;
}

export interface WorkloadResult {
  requests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  ttftMs: number[];
  completionTokens: number;
}

const filler = 'The quick brown fox jumps over the lazy dog while the router decides where the prefix cache is warm. ';

export function systemPrompt(index: number, chars: number): string {
  const head = `You are assistant #${index}. Follow these instructions carefully.\n`;
  return (head + filler.repeat(Math.ceil(chars / filler.length))).slice(0, chars);
}

export async function runChatWorkload(options: WorkloadOptions): Promise<WorkloadResult> {
  const origin = new URL(options.url);
  const pool = new Pool(origin.origin, { connections: options.concurrency, pipelining: 1, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const systems = Array.from({ length: options.systemPrompts }, (_, i) => systemPrompt(i, options.systemPromptChars));
  const result: WorkloadResult = { requests: 0, errors: 0, seconds: 0, ttftMs: [], completionTokens: 0 };
  let next = 0;

  const turn = async (messages: Array<{ role: string; content: string }>): Promise<string | undefined> => {
    const t0 = performance.now();
    const res = await pool.request({
      method: 'POST', path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
      body: JSON.stringify({ model: options.model, messages, stream: true, max_tokens: options.maxTokens }),
    });
    result.requests++;
    let text = '';
    let sawFirst = false;
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += (chunk as Buffer).toString('utf8');
      const events = buffer.split('\n\n');
      buffer = events.pop() ?? '';
      for (const event of events) {
        if (!event.startsWith('data: {')) continue;
        const content = (JSON.parse(event.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content;
        if (!content) continue;
        if (!sawFirst) {
          sawFirst = true;
          result.ttftMs.push(performance.now() - t0);
        }
        text += content;
        result.completionTokens++;
      }
    }
    if (res.statusCode !== 200 || !sawFirst) {
      result.errors++;
      result.firstError ??= `status ${res.statusCode}: ${buffer.slice(0, 200)}`;
      return undefined;
    }
    return text;
  };

  const client = async (): Promise<void> => {
    while (next < options.conversations) {
      const c = next++;
      const messages = [{ role: 'system', content: systems[c % systems.length] as string }];
      for (let t = 0; t < options.turns; t++) {
        messages.push({ role: 'user', content: `Conversation ${c}, question ${t}: what should I know about topic ${c * 7 + t}?` });
        const answer = await turn(messages).catch((error: unknown) => {
          result.errors++;
          result.firstError ??= error instanceof Error ? error.message : String(error);
          return undefined;
        });
        if (answer === undefined) break;
        messages.push({ role: 'assistant', content: answer });
      }
    }
  };

  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: options.concurrency }, client));
  } finally {
    await pool.close().catch(() => pool.destroy());
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
