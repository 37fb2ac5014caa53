/**
 * Plays a routing-lab workload (routing-workloads.ts) against a gateway over real HTTP, streamed,
 * and measures each request at the client: time to first content token, the mean gap between the
 * tokens after it (inter-token latency), tokens received.
 */
import { Pool } from 'undici';
import type { Script, Workload } from './routing-workloads.js';

export interface RequestSample {
  ttftMs: number;
  /** Mean gap between content chunks after the first; undefined with fewer than two. */
  itlMs?: number;
  tokens: number;
  /** The gateway's x-request-id, to look up the router's decision record. */
  requestId?: string;
}

export interface ScriptRunResult {
  samples: RequestSample[];
  errors: number;
  firstError?: string;
  seconds: number;
}

export async function runScripts(url: string, model: string, workload: Workload, timeoutMs = 120_000): Promise<ScriptRunResult> {
  const openLoop = workload.concurrency === undefined;
  const pool = new Pool(new URL(url).origin, { connections: openLoop ? 256 : workload.concurrency, pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const result: ScriptRunResult = { samples: [], errors: 0, seconds: 0 };
  const fail = (why: string): void => {
    result.errors++;
    result.firstError ??= why;
  };

  const turn = async (messages: Array<{ role: string; content: string }>, maxTokens: number): Promise<string | undefined> => {
    const t0 = performance.now();
    const res = await pool.request({
      method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages, stream: true, max_tokens: maxTokens }),
    });
    let text = '';
    let first: number | undefined;
    let last = 0;
    let chunks = 0;
    let buffer = '';
    for await (const chunk of res.body) {
      buffer += (chunk as Buffer).toString('utf8');
      const events = buffer.split('\n\n');
      buffer = events.pop() ?? '';
      for (const event of events) {
        // An event may carry an `id:` line (resumable streams) before its data.
        const data = event.split('\n').find((line) => line.startsWith('data: {'));
        if (data === undefined) continue;
        const content = (JSON.parse(data.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content;
        if (!content) continue;
        last = performance.now();
        first ??= last;
        chunks++;
        text += content;
      }
    }
    if (res.statusCode !== 200 || first === undefined) {
      fail(`status ${res.statusCode}: ${buffer.slice(0, 200)}`);
      return undefined;
    }
    const requestId = res.headers['x-request-id'];
    result.samples.push({ ttftMs: first - t0, ...(chunks > 1 ? { itlMs: (last - first) / (chunks - 1) } : {}), tokens: chunks,
      ...(typeof requestId === 'string' ? { requestId } : {}) });
    return text;
  };

  const play = async (script: Script): Promise<void> => {
    const messages: Array<{ role: string; content: string }> = script.system ? [{ role: 'system', content: script.system }] : [];
    for (const user of script.users) {
      messages.push({ role: 'user', content: user });
      const answer = await turn(messages, script.maxTokens).catch((error: unknown) => {
        fail(error instanceof Error ? error.message : String(error));
        return undefined;
      });
      if (answer === undefined) return;
      messages.push({ role: 'assistant', content: answer });
    }
  };

  const started = performance.now();
  try {
    if (openLoop) {
      await Promise.all(workload.scripts.map(async (s) => {
        const wait = (s.startAtMs ?? 0) - (performance.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await play(s);
      }));
    } else {
      let next = 0;
      await Promise.all(Array.from({ length: workload.concurrency as number }, async () => {
        while (next < workload.scripts.length) await play(workload.scripts[next++] as Script);
      }));
    }
  } finally {
    await pool.close().catch(() => pool.destroy());
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
