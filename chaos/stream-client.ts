/**
 * One streaming chat request as a client sees it, over node:http so the suite controls how the client
 * reads (normally, stalled for seconds, throttled, or aborted at a point) and can tell a response
 * body that ended properly from a connection that broke mid-body (`res.complete`).
 * Every SSE data event is timestamped, for the longest stall a client saw.
 */
import { request } from 'node:http';

export type ReadBehaviour =
  | { type: 'normal' }
  /** Stops reading `atMs` after the request for `forMs`, then reads on. */
  | { type: 'stall'; atMs: number; forMs: number }
  /** Waits `perChunkMs` after every chunk it reads. */
  | { type: 'throttle'; perChunkMs: number }
  /** Goes away `atMs` after the request. */
  | { type: 'abort'; atMs: number };

/**
 *   complete      the response body ended as HTTP says it should (last chunk received)
 *   broken        the connection closed mid-body, or before any response
 *   client-abort  the client went away on purpose
 *   timeout       no end within the bound: the client gave up (a hung stream)
 */
export type StreamEnd = 'complete' | 'broken' | 'client-abort' | 'timeout';

export interface StreamRecord {
  status: number | undefined;
  /** `x-llmux-worker` (the request is sent with `x-llmux-debug: 1`). */
  workerId: string | undefined;
  /** A non-200 answer's body, parsed when it is JSON. */
  errorBody: unknown;
  text: string;
  usage: { completion_tokens?: number } | undefined;
  sawDone: boolean;
  dataAfterDone: boolean;
  /** `event: error` events, and data events carrying an `error` object. */
  errorEvents: unknown[];
  end: StreamEnd | undefined;
  startedAt: number;
  endedAt: number | undefined;
  /** Date.now() of every SSE data event. */
  dataAt: number[];
}

export interface StreamRequest {
  baseUrl: string;
  apiKey: string;
  body: unknown;
  behaviour: ReadBehaviour;
  /** The client gives up after this long: the stream counts as hung. */
  boundMs: number;
}

export interface RunningStream {
  /** Filled in as the stream goes. */
  record: StreamRecord;
  done: Promise<StreamRecord>;
}

function parseEvent(block: string, record: StreamRecord): void {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return; // a comment or a bare field
  record.dataAt.push(Date.now());
  const payload = data.join('\n');
  if (record.sawDone) record.dataAfterDone = true;
  if (payload === '[DONE]') {
    record.sawDone = true;
    return;
  }
  let parsed: { error?: unknown; usage?: { completion_tokens?: number }; choices?: Array<{ delta?: { content?: string | null } }> };
  try {
    parsed = JSON.parse(payload) as typeof parsed;
  } catch {
    record.errorEvents.push({ unparsable: payload.slice(0, 200) });
    return;
  }
  if (event === 'error' || parsed.error !== undefined) {
    record.errorEvents.push(parsed);
    return;
  }
  for (const choice of parsed.choices ?? []) record.text += choice.delta?.content ?? '';
  if (parsed.usage) record.usage = parsed.usage;
}

export function startStream(req: StreamRequest): RunningStream {
  const record: StreamRecord = {
    status: undefined, workerId: undefined, errorBody: undefined, text: '', usage: undefined, sawDone: false, dataAfterDone: false,
    errorEvents: [], end: undefined, startedAt: Date.now(), endedAt: undefined, dataAt: [],
  };
  const payload = JSON.stringify(req.body);
  const timers: NodeJS.Timeout[] = [];
  let resolveDone: (r: StreamRecord) => void = () => undefined;
  const done = new Promise<StreamRecord>((r) => (resolveDone = r));
  const finish = (end: StreamEnd): void => {
    if (record.end) return;
    record.end = end;
    record.endedAt = Date.now();
    for (const t of timers) clearTimeout(t);
    resolveDone(record);
  };

  const http = request(new URL('/v1/chat/completions', req.baseUrl), {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${req.apiKey}`, 'x-llmux-debug': '1' },
  });
  // Once a response has come, its own events decide how it ended (the request's `close` can come
  // before a paused response has given up its buffered data).
  let responded = false;
  http.on('error', () => responded || finish('broken'));
  http.on('close', () => responded || finish('broken'));
  http.on('response', (res) => {
    responded = true;
    record.status = res.statusCode;
    const worker = res.headers['x-llmux-worker'];
    record.workerId = typeof worker === 'string' ? worker : undefined;
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      buffer += chunk;
      if (res.statusCode !== 200) return;
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop() ?? '';
      for (const block of blocks) parseEvent(block, record);
      if (req.behaviour.type === 'throttle') {
        res.pause();
        timers.push(setTimeout(() => res.resume(), req.behaviour.perChunkMs));
      }
    });
    const ended = (): void => {
      if (res.statusCode !== 200) {
        try {
          record.errorBody = JSON.parse(buffer) as unknown;
        } catch {
          record.errorBody = buffer.slice(0, 500);
        }
      } else if (buffer.trim()) parseEvent(buffer, record);
      finish(res.complete ? 'complete' : 'broken');
    };
    res.on('end', ended);
    res.on('error', () => finish('broken'));
    res.on('close', () => (res.complete ? ended() : finish('broken')));
    const b = req.behaviour;
    if (b.type === 'stall') {
      timers.push(setTimeout(() => {
        res.pause();
        timers.push(setTimeout(() => res.resume(), b.forMs));
      }, Math.max(0, b.atMs - (Date.now() - record.startedAt))));
    }
  });
  const b = req.behaviour;
  if (b.type === 'abort') {
    timers.push(setTimeout(() => {
      finish('client-abort');
      http.destroy();
    }, b.atMs));
  }
  timers.push(setTimeout(() => {
    finish('timeout');
    http.destroy();
  }, req.boundMs));
  http.end(payload);
  return { record, done };
}
