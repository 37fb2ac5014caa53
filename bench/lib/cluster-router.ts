/**
 * One router in a process of its own, for bench:routing-clusters: the parent forks it with the
 * NATS URL, cluster and router id, and asks it over IPC for its CPU time (process.cpuUsage) and
 * counters; `stop` ends it.
 *
 *   node dist/bench/lib/cluster-router.js <nats-url> <cluster> <router-id>
 */
import { runRouter } from '../../src/launch/roles.js';
import { silentLogger } from '../../src/observability/logger.js';

export type RouterProcessRequest = { type: 'sample' } | { type: 'stop' };

export type RouterProcessMessage =
  | { type: 'ready' }
  | {
    type: 'sample';
    /** process.cpuUsage() since the process started, µs. */
    cpu: { user: number; system: number };
    registryMessages: number;
    summaries: number;
    /** Workers in its table, and remote clusters it holds summaries of. */
    workers: number;
    remoteClusters: number;
    rssMiB: number;
  };

const [natsUrl, cluster, routerId] = process.argv.slice(2);
if (!natsUrl || !cluster || !routerId || !process.send) throw new Error('usage (forked with IPC): cluster-router.js <nats-url> <cluster> <router-id>');
const send = (m: RouterProcessMessage): void => void process.send?.(m);

const router = await runRouter({ natsUrl, cluster, routerId, log: silentLogger(), requireWorkerBinding: false });
process.on('message', (m: RouterProcessRequest) => {
  switch (m.type) {
    case 'sample': {
      const stats = router.stats();
      send({ type: 'sample', cpu: process.cpuUsage(), registryMessages: stats.registryMessages, summaries: stats.summaries,
        workers: router.table.size, remoteClusters: router.clusters.size, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) });
      return;
    }
    case 'stop':
      void router.stop().finally(() => process.exit(0));
      return;
  }
});
send({ type: 'ready' });
