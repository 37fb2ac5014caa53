/**
 * `llmux up --clusters a,b,…`: a local supercluster with TLS (one nats-server per cluster) and in each
 * cluster a router, workers with engine simulators and a gateway. One line per cluster, then the
 * usual summary; SIGINT stops everything it started.
 */
import { ensureOpensslBinary } from '../../cluster/openssl.js';
import { startMultiClusterStack } from '../../launch/multi-cluster-stack.js';
import { ensureNatsServerBinary } from '../../transport/nats/nats-server-binary.js';
import { createLogger } from '../../observability/logger.js';
import { stopOnSignals } from './lifecycle.js';
import type { Policy } from './policy-options.js';
import type { UpOptions } from './up.js';

/** Flags of `up` that have no meaning with --clusters, and why. */
const notWithClusters: Array<[keyof UpOptions, string, string]> = [
  ['nats', '--nats', 'it starts its own supercluster'],
  ['engineUrl', '--engine-url', 'each cluster has its own engine simulators'],
  ['config', '--config', 'apply the file with llmux apply -f once it is up'],
];

export function parseClusters(value: string): string[] {
  const names = value.split(',').map((c) => c.trim()).filter(Boolean);
  if (names.length < 2) throw new Error(`--clusters needs at least two names, e.g. --clusters us-east,us-west (got '${value}')`);
  return names;
}

export async function upClusters(opts: UpOptions & { clusters: string }, policy: Policy, adminKeyFile: string | undefined, say: (line: string) => void): Promise<void> {
  for (const [key, flag, why] of notWithClusters) {
    if (opts[key] !== undefined) throw new Error(`${flag} cannot be used with --clusters: ${why}`);
  }
  if (opts.gateways !== 1) throw new Error('--gateways cannot be used with --clusters: each cluster has one gateway');
  if (opts.threads !== undefined && opts.threads !== 1) throw new Error('--threads cannot be used with --clusters yet: each cluster runs its roles on the main thread');
  if (opts.function !== 'demo') throw new Error('--function cannot be used with --clusters: its workers serve the demo function');
  const clusters = parseClusters(opts.clusters);
  // The supercluster's CA and certificates are made with openssl: installed like nats-server when missing.
  ensureOpensslBinary(say);
  await ensureNatsServerBinary({ install: true, log: say });
  let step = '';
  const stack = await startMultiClusterStack({
    log: createLogger('up', process.env.LLMUX_LOG_LEVEL ?? 'warn'),
    clusters, workers: opts.workers, routers: opts.routers, host: opts.host, port: opts.port, apiKeys: opts.apiKey ?? [],
    auth: policy.auth, ...(policy.adminKey ? { adminKey: policy.adminKey } : {}), ...(policy.jwt ? { jwt: policy.jwt } : {}), limiter: policy.limiter,
    engineKind: opts.engine, model: opts.model, sim: { ttftMs: opts.ttftMs, itlMs: opts.itlMs }, llmConfig: { routingMethod: opts.routingMethod },
    onProgress: (line) => {
      step = line.replace(/ \.\.\.$/, '');
      say(`llmux: ${line}`);
    },
  });
  stopOnSignals(() => stack.stop(), { say, status: () => `still ${step}` });
  const home = stack.home;
  const width = Math.max(...stack.clusters.map((c) => c.name.length));
  const model = stack.models[0] ?? '';
  const auth = (opts.apiKey ?? []).length > 0 ? ` \\\n  -H "Authorization: Bearer $LLMUX_API_KEY"` : '';
  const lines = [
    '',
    ...stack.clusters.map((c) => `cluster ${c.name.padEnd(width)}  gateway ${c.gatewayUrl}  nats ${c.natsUrls.join(',')}`),
    '',
    `llmux is up: ${stack.clusters.length} clusters joined by NATS gateways, TLS on every link (a local CA, removed on stop).`,
    `  models     ${stack.models.join(', ')} in every cluster; routers prefer their own cluster's workers and spill to another's (docs/multi-cluster.md)`,
    `  workers    ${opts.workers} per cluster, with ${opts.engine} engine simulators`,
    `  home       ${home.name}: the control plane, the stream journal and the rate limiter; each cluster keeps its own usage records`,
    `  auth       ${policy.auth === 'required' ? 'required' : 'off: callers without a key are tenant anonymous'}`,
    `  admin      ${adminKeyFile ? `key in ${adminKeyFile} (readable by you only; removed on stop)` : 'the one you gave (LLMUX_ADMIN_KEY or --admin-key)'}: Authorization: Bearer <key> on any gateway's /admin/api/…`,
    `  usage      llmux usage --nats ${home.natsUrls.join(',')} --nkey-seed-file ${home.site.control.seedFile} \\`,
    `               --nats-ca ${home.site.caFile} --nats-cert ${home.site.control.certFile} --nats-key ${home.site.control.keyFile}`,
    '',
    'Try it (ask each cluster\'s gateway; x-llmux-worker names the worker, and so the cluster, that answered):',
    `  curl -si ${home.gatewayUrl}/v1/chat/completions${auth} -H 'x-llmux-debug: 1' \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '{"model":"${model}","messages":[{"role":"user","content":"Hello!"}]}'`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
