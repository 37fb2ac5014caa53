/**
 * Test support for the simulator's own tests (not used by the simulator): simulators started on
 * loopback and closed after each test, JSON posts over real HTTP, a strict reader of vLLM's SSE
 * framing, a /metrics sample reader, and polling instead of fixed sleeps.
 */
import { afterEach } from 'vitest';
import { type SimOptions, type SimServer, startSim } from './sim-server.js';

/** Returns a starter of simulators that are all closed after each test. */
export function simulators(): (options?: SimOptions) => Promise<SimServer> {
  const started: SimServer[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.close()));
  });
  return async (options = {}) => {
    const sim = await startSim(options);
    started.push(sim);
    return sim;
  };
}

export function post(sim: SimServer, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

export const chatBody = (content: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'sim-model',
  messages: [{ role: 'user', content }],
  ...extra,
});

/**
 * Splits an SSE body into its `data:` payloads, failing on anything but vLLM's exact framing:
 * `data: <payload>\n\n` repeated, nothing else. JSON payloads are parsed; `[DONE]` stays a string.
 */
export function sseEvents(text: string): unknown[] {
  if (!text.endsWith('\n\n')) throw new Error(`the stream does not end with a blank line: ${JSON.stringify(text.slice(-40))}`);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((event) => {
      if (!event.startsWith('data: ') || event.includes('\n')) throw new Error(`not a single data line: ${JSON.stringify(event)}`);
      const data = event.slice('data: '.length);
      return data === '[DONE]' ? data : (JSON.parse(data) as unknown);
    });
}

/** The value of one /metrics sample, by its name and labels as written (`name{a="b"}`). */
export async function metric(sim: SimServer, sample: string): Promise<number | undefined> {
  const text = await (await fetch(`${sim.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

/** Polls until `check` holds, failing after `timeoutMs`; returns how long it took. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what = 'condition'): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

/** Reads a body to its end or its break; returns the text that arrived and whether it broke. */
export async function readUntilCut(res: Response): Promise<{ text: string; broke: boolean }> {
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(part, { stream: true });
    return { text, broke: false };
  } catch {
    return { text, broke: true };
  }
}
