/**
 * Router CPU across clusters: 10 clusters × 100 simulated workers heartbeating at the real rate (one
 * heartbeat per worker per second) over a real nats-server, one router per cluster, each router in a
 * process of its own. Two registry layouts side by side in one run, alternating:
 *
 *   scoped   each router hears its own cluster's registry (llmux.registry.<cluster>.*) and reads
 *            the other clusters' summaries (llmux.summary.*, one per cluster per second)
 *   flat     the layout before clusters were scoped: every router and worker in one registry
 *            namespace, so every router hears every heartbeat of the fleet
 *   idle     the same routers with no workers at all: the fixed cost (timers, NATS pings, the
 *            control-plane watch, its own summaries) that both layouts pay
 *
 * Each router's CPU is process.cpuUsage over a measurement window after a warm-up; nats-server's
 * from /proc. Prints a table and writes JSON to bench/results/.
 *
 *   npm run bench:routing-clusters [-- --clusters 10 --workers 100 --window-s 20 --rounds 2]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlBucket } from '../src/control/function-catalog.js';
import { startNatsServer } from '../src/transport/nats/nats-server-process.js';
import { connectNats } from '../src/transport/nats/nats-transport.js';
import { benchArgs } from './lib/cli-args.js';
import type { RouterProcessMessage, RouterProcessRequest } from './lib/cluster-router.js';
import { startHeartbeatFleet } from './lib/heartbeat-fleet.js';
import { fmt, formatTable, machineInfo, progress as say, writeResults } from './lib/report.js';
import { mean } from './lib/stats.js';

const { values } = benchArgs('bench:routing-clusters', 'Router CPU across clusters: simulated workers heartbeating over a real '
  + 'nats-server, one router per cluster, each in a process of its own, with the registry scoped per cluster, flat (every '
  + 'router hears every heartbeat) and idle (no workers), alternating. Each router\'s CPU is process.cpuUsage over a window '
  + "after a warm-up, nats-server's from /proc. Prints a table and writes JSON to bench/results/.", {
  clusters: { type: 'string', default: '10', help: 'clusters, one router each' },
  workers: { type: 'string', default: '100', help: 'simulated workers per cluster' },
  'heartbeat-ms': { type: 'string', default: '1000', help: "each worker's heartbeat interval, ms" },
  'warmup-s': { type: 'string', default: '5', help: 'seconds of warm-up before each measurement window' },
  'window-s': { type: 'string', default: '20', help: 'seconds of each measurement window' },
  rounds: { type: 'string', default: '2', help: 'rounds, each measuring every layout' },
});
const num = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a number > 0, got ${String(values[name])}`);
  return n;
};
const clusterCount = num('clusters');
const workersPerCluster = num('workers');
const heartbeatMs = num('heartbeat-ms');
const warmupMs = num('warmup-s') * 1000;
const windowMs = num('window-s') * 1000;
const rounds = num('rounds');

type Layout = 'scoped' | 'flat' | 'idle';
type Sample = Extract<RouterProcessMessage, { type: 'sample' }>;

interface RouterProcess {
  sample(): Promise<Sample>;
  stop(): Promise<void>;
}

/** Waits for one message of `type` from the child, 30 s at most. */
function next<T extends RouterProcessMessage['type']>(child: ChildProcess, type: T): Promise<Extract<RouterProcessMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`router process sent no '${type}' within 30 s`)), 30_000);
    const onMessage = (m: RouterProcessMessage): void => {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m as Extract<RouterProcessMessage, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`router process exited with ${code}`)));
  });
}

async function forkRouter(natsUrl: string, cluster: string, routerId: string): Promise<RouterProcess> {
  const child = fork(new URL('./lib/cluster-router.js', import.meta.url), [natsUrl, cluster, routerId], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await next(child, 'ready');
  const request = (m: RouterProcessRequest): void => void child.send(m);
  return {
    sample: () => {
      const reply = next(child, 'sample');
      request({ type: 'sample' });
      return reply;
    },
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      request({ type: 'stop' });
    }),
  };
}

/** nats-server's CPU time so far, µs (utime + stime from /proc, in clock ticks of 10 ms). */
function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

interface LayoutResult {
  layout: Layout;
  round: number;
  /** Per router: CPU % of one core, registry messages and summaries per second, table size. */
  routers: Array<{ cluster: string; cpuPercent: number; registryPerSecond: number; summariesPerSecond: number; workers: number; remoteClusters: number; rssMiB: number }>;
  natsCpuPercent: number;
  fleetCpuPercent: number;
  heartbeatsPerSecond: number;
  /** The machine's 1-minute load average at the end of the window (other work on it skews the figures). */
  load1: number;
}

const nats = await startNatsServer({});
const clusters = Array.from({ length: clusterCount }, (_, i) => `c${i}`);
const bench = await connectNats({ servers: nats.url, name: 'bench-fleet' });
// The control bucket once, before ten routers open it at the same moment.
await bench.keyValue(controlBucket, { history: 5 });

async function runLayout(layout: Layout, round: number): Promise<LayoutResult> {
  const clusterOf = (c: string): string => (layout === 'flat' ? 'local' : c);
  const perCluster = layout === 'idle' ? 0 : workersPerCluster;
  say(`round ${round}, ${layout}: starting ${clusterCount} routers and ${clusterCount * perCluster} simulated workers ...`);
  const routers = await Promise.all(clusters.map((c) => forkRouter(nats.url, clusterOf(c), `router-${c}`)));
  const workers = clusters.flatMap((c) => Array.from({ length: perCluster }, (_, i) => ({ workerId: `${c}-w${i}`, cluster: clusterOf(c) })));
  const fleet = startHeartbeatFleet(bench, workers, heartbeatMs);
  try {
    const expected = layout === 'flat' ? workers.length : perCluster;
    for (let waited = 0; ; waited += 250) {
      const samples = await Promise.all(routers.map((r) => r.sample()));
      if (samples.every((s) => s.workers === expected)) break;
      if (waited > 30_000) throw new Error(`routers hold ${samples.map((s) => s.workers).join(',')} workers, not ${expected} each, after 30 s`);
      await sleep(250);
    }
    await sleep(warmupMs);
    const nats0 = processCpuMicros(nats.pid);
    const fleet0 = process.cpuUsage();
    const beats0 = fleet.sent();
    const before = await Promise.all(routers.map((r) => r.sample()));
    const t0 = performance.now();
    await sleep(windowMs);
    const after = await Promise.all(routers.map((r) => r.sample()));
    const elapsedMs = performance.now() - t0;
    const fleetCpu = process.cpuUsage(fleet0);
    const perSecond = (n: number): number => n / (elapsedMs / 1000);
    const cpuPercent = (micros: number): number => (micros / (elapsedMs * 1000)) * 100;
    return {
      layout, round,
      routers: after.map((a, i) => {
        const b = before[i] as Sample;
        return {
          cluster: clusters[i] as string,
          cpuPercent: cpuPercent(a.cpu.user - b.cpu.user + a.cpu.system - b.cpu.system),
          registryPerSecond: perSecond(a.registryMessages - b.registryMessages),
          summariesPerSecond: perSecond(a.summaries - b.summaries),
          workers: a.workers, remoteClusters: a.remoteClusters, rssMiB: a.rssMiB,
        };
      }),
      natsCpuPercent: cpuPercent(processCpuMicros(nats.pid) - nats0),
      fleetCpuPercent: cpuPercent(fleetCpu.user + fleetCpu.system),
      heartbeatsPerSecond: perSecond(fleet.sent() - beats0),
      load1: loadavg()[0] as number,
    };
  } finally {
    fleet.stop();
    await Promise.all(routers.map((r) => r.stop()));
  }
}

const results: LayoutResult[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const layout of ['scoped', 'flat', 'idle'] as const) results.push(await runLayout(layout, round));
  }
} finally {
  await bench.close();
  await nats.stop();
}

const row = (r: LayoutResult): string[] => {
  const cpu = r.routers.map((x) => x.cpuPercent);
  return [
    r.layout, String(r.round), fmt(r.heartbeatsPerSecond), fmt(mean(r.routers.map((x) => x.workers))),
    fmt(mean(r.routers.map((x) => x.registryPerSecond))), fmt(mean(r.routers.map((x) => x.summariesPerSecond)), 1),
    `${fmt(mean(cpu), 2)}%`, `${fmt(Math.max(...cpu), 2)}%`, `${fmt(r.natsCpuPercent, 1)}%`, fmt(mean(r.routers.map((x) => x.rssMiB))), fmt(r.load1, 1),
  ];
};
process.stdout.write(`\n${clusterCount} clusters × ${workersPerCluster} workers, heartbeat every ${heartbeatMs} ms, one router per cluster; ${windowMs / 1000} s windows\n\n`);
process.stdout.write(`${formatTable(
  ['registry', 'round', 'heartbeats/s', 'workers per table', 'registry msgs/s per router', 'summaries/s per router', 'router CPU mean', 'router CPU max', 'nats-server CPU', 'router RSS MiB', 'load avg'],
  results.map(row),
)}\n`);
const meanCpu = (layout: Layout): number => mean(results.filter((r) => r.layout === layout).flatMap((r) => r.routers.map((x) => x.cpuPercent)));
const [scoped, flat, idle] = [meanCpu('scoped'), meanCpu('flat'), meanCpu('idle')];
process.stdout.write(`\nrouter CPU, flat ÷ scoped: ${(flat / scoped).toFixed(1)}x; above idle: scoped +${(scoped - idle).toFixed(2)} points, flat +${(flat - idle).toFixed(2)} points` +
  ` (${((flat - idle) / Math.max(0.01, scoped - idle)).toFixed(1)}x)\n`);
// The registry work per heartbeat, from the flat layout's extra messages over the scoped one's.
const extraMessages = clusterCount * workersPerCluster * (1000 / heartbeatMs) * (1 - 1 / clusterCount);
process.stdout.write(`router CPU per heartbeat heard: ${fmt(((flat - scoped) / 100) * 1e6 / extraMessages, 1)} µs\n`);
const file = writeResults('routing-clusters', { machine: machineInfo(), clusters: clusterCount, workersPerCluster, heartbeatMs, warmupMs, windowMs, results });
say(`wrote ${file}`);
