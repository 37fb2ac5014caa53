/**
 * The processes bench:peers measures, each its own: one engine simulator (zero delays), `llmux up`
 * with one worker in front of it, optionally the same `llmux up` from another checkout (an older
 * build, to compare with in the same run), and optionally the peer gateway pointed at the same simulator.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { launch, type Launched } from './launch.js';
import { reapOnExit } from './child-reaper.js';

export interface PeerTarget {
  /** `baseline`: llmux from the checkout given as the baseline. */
  name: 'direct' | 'llmux' | 'baseline' | 'peer';
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  url: string;
  path: string;
  model: string;
  headers?: Record<string, string>;
  /** The process serving it, when this stack started it (llmux's: its CPU and system calls are sampled). */
  pid?: number;
}

export interface PeerStack {
  simUrl: string;
  targets: PeerTarget[];
  /** The last of the peer's stderr, for diagnosis. */
  peerStderr(): string;
  stop(): Promise<void>;
}

const simModel = 'llmux-sim-8b';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `node ENTRY --port=N --headless`, ready when it says so (30 s at most). */
async function startPeer(entry: string): Promise<{ url: string; stderr(): string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = reapOnExit(spawn(process.execPath, [entry, `--port=${port}`, '--headless'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } }));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8192)));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8192)));
  const stop = (): Promise<void> => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  const started = Date.now();
  while (!out.includes('Ready for connections')) {
    if (child.exitCode !== null || Date.now() - started > 30_000) {
      child.kill('SIGKILL');
      throw new Error(`the peer did not start:\n${out}\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, stderr: () => err, stop };
}

/**
 * Starts the simulator, llmux, the baseline llmux (when `baselineRoot`, a checkout with bin/ and a
 * built dist/, is given) and the peer (when `peerEntry` is given); stops whatever started if one fails.
 */
export async function startPeerStack(peerEntry?: string, baselineRoot?: string): Promise<PeerStack> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const sim: Launched = await launch(['sim', '--port', '0', '--ttft-ms', '0', '--itl-ms', '0', '--max-concurrency', '256', '--model', simModel], 'listening on');
    stops.push(() => sim.stop());
    const simUrl = /listening on (http:\/\/\S+)/.exec(sim.out)?.[1];
    if (!simUrl) throw new Error(`could not read the simulator URL:\n${sim.out}`);
    const startLlmux = async (name: 'llmux' | 'baseline', root = '.'): Promise<PeerTarget> => {
      const up = await launch(['up', '--port', '0', '--workers', '1', '--engine-url', simUrl], 'Press Ctrl-C', {}, root);
      stops.push(() => up.stop());
      const url = /base URL\s+(http:\/\/\S+)\/v1/.exec(up.out)?.[1];
      if (!url) throw new Error(`could not read the gateway URL from llmux up (${root}):\n${up.out}`);
      // `llmux up` names its cluster `demo`: its models are `demo/<engine model>`.
      return { name, url, path: '/v1/chat/completions', model: `demo/${simModel}`, pid: up.pid };
    };
    const targets: PeerTarget[] = [{ name: 'direct', url: simUrl, path: '/v1/chat/completions', model: simModel }, await startLlmux('llmux')];
    if (baselineRoot) targets.push(await startLlmux('baseline', baselineRoot));
    let peerStderr = (): string => '';
    if (peerEntry) {
      const peer = await startPeer(peerEntry);
      stops.push(() => peer.stop());
      peerStderr = peer.stderr;
      targets.push({ name: 'peer', url: peer.url, path: '/v1/chat/completions', model: simModel,
        headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${simUrl}/v1` } });
    }
    return { simUrl, targets, peerStderr: () => peerStderr(), stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
