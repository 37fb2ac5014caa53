/**
 * The deployment under test: every role its own OS process on one real nats-server (no auth), real
 * HTTP over loopback. 3 `llmux sim` engines, 3 workers (each reaching NATS through its own TcpProxy,
 * so one worker's connection can be cut), 2 routers, 1 limiter, 1 gateway. Worker i drives engine i.
 * Ports chosen by the OS at the first start are pinned, so a restarted process comes back where its
 * peers expect it; nats-server comes back on its port with its JetStream store.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { WorkerView } from '../src/actors/router/router.protocol.js';
import { type NatsServerHandle, startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { llmuxBin, RoleProcess } from './role-process.js';
import { TcpProxy } from '../src/transport/tcp-proxy.js';

export interface DeploymentOptions {
  engines: number;
  routers: number;
  model: string;
  ttftMs: number;
  itlMs: number;
  heartbeatMs: number;
}

export const defaultDeployment: DeploymentOptions = { engines: 3, routers: 2, model: 'chaos-sim-8b', ttftMs: 0, itlMs: 10, heartbeatMs: 250 };

export const apiKey = 'sk-llmux-chaos';
export const adminKey = 'llmux-chaos-admin';

const runLlmux = promisify(execFile);

export class Deployment {
  /** Servers replaced by a restart: their work dirs are removed at stop. */
  readonly #oldServers: NatsServerHandle[] = [];
  #natsDown = false;

  private constructor(
    readonly options: DeploymentOptions,
    public nats: NatsServerHandle,
    readonly storeDir: string,
    readonly sims: RoleProcess[],
    readonly simUrls: string[],
    readonly proxies: TcpProxy[],
    readonly workers: RoleProcess[],
    readonly workerIds: string[],
    readonly routers: RoleProcess[],
    readonly limiter: RoleProcess,
    readonly gateway: RoleProcess,
    readonly gatewayUrl: string,
  ) {}

  static async start(options: DeploymentOptions = defaultDeployment): Promise<Deployment> {
    const storeDir = await mkdtemp(join(tmpdir(), 'llmux-chaos-js-'));
    const nats = await startNatsServer({ storeDir });
    const started: RoleProcess[] = [];
    const launch = async (p: RoleProcess): Promise<string> => {
      started.push(p);
      return p.start();
    };
    try {
      await runLlmux(process.execPath, [llmuxBin(), 'register-demo', '--nats', nats.url, '--model', options.model]);
      const timing = ['--ttft-ms', String(options.ttftMs), '--itl-ms', String(options.itlMs)];
      const sims = Array.from({ length: options.engines }, (_, i) =>
        new RoleProcess(`engine sim-${i}`, ['sim', '--port', '0', '--model', options.model, ...timing], /listening on (http:\/\/\S+)/));
      const routers = Array.from({ length: options.routers }, (_, i) =>
        new RoleProcess(`router chaos-r${i}`, ['router', '--nats', nats.url, '--id', `chaos-r${i}`], /router running/));
      const limiter = new RoleProcess('limiter', ['limiter', '--nats', nats.url], /limiter running/);
      const [simUrls] = await Promise.all([Promise.all(sims.map(launch)), ...routers.map(launch), launch(limiter)]);
      sims.forEach((s, i) => s.pin('--port', new URL(simUrls[i] as string).port));
      const proxies = await Promise.all(sims.map(() => TcpProxy.start(nats.port)));
      const workerIds = sims.map((_, i) => `chaos-w${i}`);
      const workers = sims.map((_, i) => new RoleProcess(`worker ${workerIds[i]}`, [
        'worker', '--nats', (proxies[i] as TcpProxy).url, '--engine-url', simUrls[i] as string, '--function', 'demo', '--model', options.model,
        '--id', workerIds[i] as string, '--heartbeat-ms', String(options.heartbeatMs),
      ], /worker registered/));
      const gateway = new RoleProcess('gateway', ['gateway', '--nats', nats.url, '--port', '0', '--api-key', apiKey, '--admin-key', adminKey], /"url":"(http:\/\/[^"]+)"/);
      const [gatewayUrl] = await Promise.all([launch(gateway), ...workers.map(launch)]);
      gateway.pin('--port', new URL(gatewayUrl).port);
      const d = new Deployment(options, nats, storeDir, sims, simUrls, proxies, workers, workerIds, routers, limiter, gateway, gatewayUrl);
      // The roles die with the harness (role-process.ts); so must the server they talk over.
      process.once('exit', () => {
        try {
          process.kill(d.nats.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      });
      await d.waitSteady(30_000);
      return d;
    } catch (error) {
      await Promise.all(started.map((p) => p.shutdown(1000)));
      await nats.stop();
      await rm(storeDir, { recursive: true, force: true });
      throw error;
    }
  }

  get model(): string {
    return `demo/${this.options.model}`;
  }

  processes(): RoleProcess[] {
    return [...this.sims, ...this.workers, ...this.routers, this.limiter, this.gateway];
  }

  /** After a trial that could not finish: thaws what is frozen, starts what is dead (nats-server first), then waits for steadiness. */
  async heal(): Promise<void> {
    if (this.#natsDown) await this.startNats();
    for (const p of this.processes()) p.thaw();
    await Promise.all(this.processes().filter((p) => !p.alive).map((p) => p.start()));
    await this.waitSteady(30_000);
  }

  /** SIGKILLs nats-server; resolves once it is gone. */
  async killNats(): Promise<void> {
    this.#natsDown = true;
    process.kill(this.nats.pid, 'SIGKILL');
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(this.nats.pid, 0);
      } catch {
        break;
      }
      await sleep(10);
    }
    this.#oldServers.push(this.nats);
  }

  /** Starts nats-server again on the same port with the same JetStream store. */
  async startNats(): Promise<void> {
    this.nats = await startNatsServer({ port: this.nats.port, storeDir: this.storeDir });
    this.#natsDown = false;
  }

  /** The routers' view of the workers, through the gateway's admin API; undefined when it does not answer. */
  async workerTable(): Promise<{ routers: string[]; workers: WorkerView[] } | undefined> {
    try {
      const res = await fetch(`${this.gatewayUrl}/admin/api/workers`, { headers: { authorization: `Bearer ${adminKey}` }, signal: AbortSignal.timeout(1500) });
      return res.ok ? ((await res.json()) as { routers: string[]; workers: WorkerView[] }) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Why the deployment is not whole yet, or undefined when it is. */
  async unsteadiness(): Promise<string | undefined> {
    const down = this.processes().filter((p) => !p.alive || p.frozen).map((p) => p.name);
    if (down.length > 0) return `not running: ${down.join(', ')}`;
    const table = await this.workerTable();
    if (!table) return 'the gateway admin API does not answer';
    if (table.routers.length < this.routers.length) return `${table.routers.length}/${this.routers.length} routers answer`;
    for (const id of this.workerIds) {
      const w = table.workers.find((v) => v.descriptor.workerId === id);
      if (!w) return `${id} is not registered`;
      if (!w.load.healthy || w.load.state !== 'active') return `${id} is ${w.load.healthy ? w.load.state : 'unhealthy'}`;
      if (w.breaker !== 'closed') return `${id}'s circuit breaker is ${w.breaker}`;
      if (w.lastSeenMsAgo > 3 * this.options.heartbeatMs) return `${id} last seen ${w.lastSeenMsAgo} ms ago`;
    }
    return undefined;
  }

  /**
   * Waits until every process runs, both routers answer and every worker is registered, healthy and
   * with a closed circuit breaker; returns how long it took and what it waited for. A half-open breaker closes only on a
   * request that succeeds, so while one is half-open a short request is sent each round.
   */
  async waitSteady(timeoutMs: number): Promise<{ ms: number; waitedFor: string[] }> {
    const start = Date.now();
    const waitedFor = new Set<string>();
    let why: string | undefined = 'not checked';
    for (let round = 0; Date.now() - start < timeoutMs; round++) {
      why = await this.unsteadiness();
      if (why === undefined) return { ms: Date.now() - start, waitedFor: [...waitedFor] };
      waitedFor.add(why.replace(/\d+ ms ago/, 'a while ago'));
      if (why.endsWith('half-open')) await this.#nudge(round);
      await sleep(100);
    }
    throw new Error(`the deployment did not become steady within ${timeoutMs} ms: ${why}`);
  }

  async #nudge(round: number): Promise<void> {
    const body = { model: this.model, max_tokens: 1, messages: [{ role: 'user', content: `chaos warm-up ${round}` }] };
    await fetch(`${this.gatewayUrl}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }, body: JSON.stringify(body), signal: AbortSignal.timeout(2000),
    }).then((res) => res.arrayBuffer(), () => undefined);
  }

  /**
   * Each engine's `vllm:num_requests_running`: 0 for an engine that is not running (it holds no
   * work), undefined when a running one does not answer (frozen).
   */
  async engineRunning(): Promise<Array<number | undefined>> {
    return Promise.all(this.sims.map(async (sim, i) => {
      if (!sim.alive) return 0;
      try {
        const text = await (await fetch(`${this.simUrls[i]}/metrics`, { signal: AbortSignal.timeout(300) })).text();
        const m = /^vllm:num_requests_running\{[^}]*\} (\S+)$/m.exec(text);
        return m ? Number(m[1]) : undefined;
      } catch {
        return undefined;
      }
    }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes().map((p) => p.shutdown(2000)));
    await Promise.all(this.proxies.map((p) => p.close()));
    await this.nats.stop();
    await Promise.all(this.#oldServers.map((s) => s.stop()));
    await rm(this.storeDir, { recursive: true, force: true });
  }
}
