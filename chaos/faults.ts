/**
 * The fault classes, each a name the suite can select (`--classes`). A class shapes the trial's
 * streams (`plan`), says when its fault strikes (`atMs`, after the streams start) and injects it on the
 * process that matters: for a worker or an engine, one holding streams of the trial right now.
 * `inject` returns what it hit (for the printed schedule) and how to undo what is left of the fault.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Deployment } from './deployment.js';
import type { Rng } from './prng.js';
import type { RoleProcess } from './role-process.js';
import { plainPlans, promptFor, type StreamPlan, type WorkloadShape } from './workload.js';

export interface FaultSettings {
  /** How long a SIGSTOPped process stays stopped before SIGCONT; 0: until the trial's end. */
  stopMs: number;
  /** nats-server is restarted this long after it was killed. */
  natsDownMs: number;
  /** A cut worker connection is refused this long before it may reconnect. */
  cutOutageMs: number;
  /** A killed gateway is restarted this long after (a supervisor's restart; there is only one). */
  gatewayRestartMs: number;
  /** Streams whose engine work must be seen to stop (client aborts, gateway kill) ask for this many tokens. */
  longTokens: number;
}

export const defaultFaultSettings: FaultSettings = { stopMs: 3000, natsDownMs: 1000, cutOutageMs: 1000, gatewayRestartMs: 1000, longTokens: 600 };

export interface FaultContext {
  deployment: Deployment;
  rng: Rng;
  settings: FaultSettings;
  /** Workers holding unfinished streams of this trial, by index, with how many each. */
  holders(): Map<number, number>;
}

export interface Injected {
  target: string;
  detail?: string;
  /** Undoes what is left of the fault (SIGCONT, restart with the same arguments); resolves when done. */
  restore(): Promise<void>;
}

export interface FaultClass {
  name: string;
  summary: string;
  plan(rng: Rng, trialSeed: number, shape: WorkloadShape, settings: FaultSettings): StreamPlan[];
  atMs(rng: Rng): number;
  inject(ctx: FaultContext): Promise<Injected>;
  /** Engine idleness is measured from the fault (its clients died with it), not from the last client's end. */
  idleFromFault?: boolean;
}

/** Inside the stream: 120 tokens at 10 ms each last 1.2 s. */
const midStream = (rng: Rng): number => rng.int(200, 800);

type Role = 'worker' | 'engine' | 'router' | 'limiter' | 'gateway';

function target(role: Role, ctx: FaultContext): { process: RoleProcess; detail?: string } {
  const d = ctx.deployment;
  switch (role) {
    case 'worker':
    case 'engine': {
      const holders = [...ctx.holders()].sort(([a], [b]) => a - b);
      const [index, streams] = holders.length > 0 ? ctx.rng.pick(holders) : [ctx.rng.int(0, d.workers.length - 1), 0];
      const process = (role === 'worker' ? d.workers : d.sims)[index] as RoleProcess;
      return { process, detail: `holding ${streams} stream(s)` };
    }
    case 'router':
      return { process: ctx.rng.pick(d.routers) };
    case 'limiter':
      return { process: d.limiter };
    case 'gateway':
      return { process: d.gateway, detail: 'holding every stream' };
  }
}

function killClass(role: Role): FaultClass {
  return {
    name: `${role}-kill`,
    summary: `SIGKILL the ${role}${role === 'worker' || role === 'engine' ? ' holding streams' : ''}, mid-stream${role === 'gateway' ? '; restarted after gatewayRestartMs' : ''}`,
    plan: (_rng, seed, shape, settings) =>
      plainPlans(seed, shape).map((p) => (role === 'gateway' ? { ...p, maxTokens: settings.longTokens } : p)),
    atMs: midStream,
    idleFromFault: role === 'gateway',
    async inject(ctx) {
      const { process, detail } = target(role, ctx);
      await process.kill();
      const back = role === 'gateway' ? sleep(ctx.settings.gatewayRestartMs).then(() => process.start()) : undefined;
      return { target: process.name, ...(detail ? { detail } : {}), restore: async () => void (await (back ?? process.start())) };
    },
  };
}

function stopClass(role: Role): FaultClass {
  return {
    name: `${role}-stop`,
    summary: `SIGSTOP the ${role}${role === 'worker' || role === 'engine' ? ' holding streams' : ''} mid-stream, SIGCONT after stopMs`,
    plan: (_rng, seed, shape) => plainPlans(seed, shape),
    atMs: midStream,
    async inject(ctx) {
      const { process, detail } = target(role, ctx);
      process.freeze();
      const timer = ctx.settings.stopMs > 0 ? setTimeout(() => process.thaw(), ctx.settings.stopMs) : undefined;
      return {
        target: process.name,
        detail: [detail, ctx.settings.stopMs > 0 ? `SIGCONT after ${ctx.settings.stopMs} ms` : 'SIGCONT after the trial'].filter(Boolean).join(', '),
        restore: async () => {
          clearTimeout(timer);
          process.thaw();
        },
      };
    },
  };
}

const natsRestart: FaultClass = {
  name: 'nats-restart',
  summary: 'SIGKILL nats-server mid-stream, start it again natsDownMs later on the same port and store',
  plan: (_rng, seed, shape) => plainPlans(seed, shape),
  atMs: midStream,
  async inject(ctx) {
    const d = ctx.deployment;
    await d.killNats();
    const back = sleep(ctx.settings.natsDownMs).then(() => d.startNats());
    return { target: 'nats-server', detail: `restarted after ${ctx.settings.natsDownMs} ms`, restore: () => back };
  },
};

const workerNatsCut: FaultClass = {
  name: 'worker-nats-cut',
  summary: "cut the NATS connection of the worker holding streams (its TcpProxy), refused for cutOutageMs",
  plan: (_rng, seed, shape) => plainPlans(seed, shape),
  atMs: midStream,
  async inject(ctx) {
    const { process, detail } = target('worker', ctx);
    const proxy = ctx.deployment.proxies[ctx.deployment.workers.indexOf(process)];
    if (!proxy) throw new Error(`no proxy in front of ${process.name}`);
    const cut = proxy.cut(ctx.settings.cutOutageMs);
    const over = sleep(ctx.settings.cutOutageMs);
    return { target: `${process.name}'s NATS connection`, detail: `${detail}; ${cut} socket(s) cut, refused for ${ctx.settings.cutOutageMs} ms`, restore: () => over };
  },
};

/** Classes whose fault rides in the streams themselves: nothing to inject. */
function clientSide(name: string, summary: string, shape: (rng: Rng, seed: number, s: WorkloadShape, settings: FaultSettings) => StreamPlan[]): FaultClass {
  return {
    name,
    summary,
    plan: shape,
    atMs: () => 0,
    inject: async () => ({ target: 'clients', restore: async () => undefined }),
  };
}

/** Half the streams (at least one), chosen at random. */
const half = (rng: Rng, n: number): Set<number> => new Set(rng.sample(n, Math.max(1, Math.floor(n / 2))));

const slowClients = clientSide('slow-clients', 'half the clients stop reading for 1-3 s or read a chunk every 20-50 ms', (rng, seed, shape) => {
  const slow = half(rng, shape.streams);
  return plainPlans(seed, shape).map((p, i) => {
    if (!slow.has(i)) return p;
    return rng.next() < 0.5
      ? { ...p, behaviour: { type: 'stall', atMs: midStream(rng), forMs: rng.int(1000, 3000) } }
      : { ...p, behaviour: { type: 'throttle', perChunkMs: rng.int(20, 50) } };
  });
});

const clientAborts = clientSide('client-aborts', 'half the clients go away at a random point (their streams ask for longTokens)', (rng, seed, shape, settings) => {
  const leaving = half(rng, shape.streams);
  return plainPlans(seed, shape).map((p, i) =>
    leaving.has(i) ? { ...p, maxTokens: settings.longTokens, behaviour: { type: 'abort', atMs: rng.int(50, 1000) } } : p);
});

const engineErrorAfter = clientSide('engine-error-after', 'half the streams carry [[sim:error-after:N]], N in 20-80: the engine fails after its 200', (rng, seed, shape) => {
  const failing = half(rng, shape.streams);
  return plainPlans(seed, shape).map((p, i) => {
    if (!failing.has(i)) return p;
    const errorAfter = rng.int(20, Math.min(80, shape.tokens - 1));
    return { ...p, prompt: promptFor(seed, i, errorAfter), errorAfter };
  });
});

const roles: Role[] = ['worker', 'engine', 'router', 'limiter', 'gateway'];

export const faultClasses: readonly FaultClass[] = [
  ...roles.flatMap((r) => [killClass(r), stopClass(r)]),
  natsRestart,
  workerNatsCut,
  slowClients,
  clientAborts,
  engineErrorAfter,
];

export function selectClasses(names: string | undefined): FaultClass[] {
  if (!names) return [...faultClasses];
  return names.split(',').map((n) => {
    const c = faultClasses.find((f) => f.name === n.trim());
    if (!c) throw new Error(`unknown fault class '${n}'; the classes: ${faultClasses.map((f) => f.name).join(', ')}`);
    return c;
  });
}
