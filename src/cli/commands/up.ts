/** `llmux up`: a whole stack on this machine, with a ready-to-paste request. */
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RoutingMethod } from '../../control/function.schema.js';
import { startLocalStack } from '../../launch/local-stack.js';
import { createLogger } from '../../observability/logger.js';
import { startTracing } from '../../observability/tracing.js';
import { stopOnSignals } from './lifecycle.js';
import { type PolicyFlags, policyFromFlags } from './policy-options.js';
import { PrivateFiles, secretFlagWarnings } from './private-files.js';

export interface UpOptions extends PolicyFlags {
  port: number;
  host: string;
  workers: number;
  apiKey?: string[];
  nats?: string;
  engineUrl?: string;
  engine: string;
  engineOption?: Record<string, string>;
  engineApiKey?: string;
  model: string;
  ttftMs: number;
  itlMs: number;
  routers: number;
  gateways: number;
  /** Threads for the roles (local-stack.ts `threads`); default: the cores available. */
  threads?: number;
  routingMethod: RoutingMethod;
  function: string;
  /** A YAML file of resources applied once the stack is up (as `llmux apply -f`). */
  config?: string;
  /** Several clusters joined by NATS, e.g. `us-east,us-west` (up-clusters.ts). */
  clusters?: string;
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');

export async function up(opts: UpOptions): Promise<void> {
  const apiKeys = opts.apiKey ?? [];
  await startTracing('up');
  if (!isLoopback(opts.host) && apiKeys.length === 0) {
    throw new Error(`refusing to listen on ${opts.host} without an API key: set LLMUX_API_KEY (or pass --api-key KEY; or bind to 127.0.0.1)`);
  }
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  for (const warning of secretFlagWarnings(process.argv)) say(`llmux: ${warning}`);
  // Read and check the config file before starting anything: a typo fails fast.
  const resources = opts.config ? (await import('../admin/apply.js')).readResources(opts.config) : undefined;
  // Without --admin-key, a fresh one for this run (the admin API is off without one), written to a
  // file only its owner can read rather than printed, so it never lands in a terminal log.
  const adminKey = opts.adminKey ?? `llmux-admin-${randomBytes(18).toString('base64url')}`;
  const files = new PrivateFiles();
  // Removed however the process ends: a stop, a failed start, a forced exit (not a SIGKILL).
  process.on('exit', () => files.remove());
  const adminKeyFile = opts.adminKey ? undefined : files.write('admin-key', `${adminKey}\n`);
  // The last step reported, so a forced exit can say which stop it gave up on.
  let step = '';
  const policy = policyFromFlags({ ...opts, adminKey });
  if (opts.clusters !== undefined) {
    const { upClusters } = await import('./up-clusters.js');
    return upClusters({ ...opts, clusters: opts.clusters }, policy, adminKeyFile, say).catch((error: unknown) => {
      files.remove();
      throw error;
    });
  }
  const stack = await startLocalStack({
    ...policy,
    gateways: opts.gateways,
    log: createLogger('up', process.env.LLMUX_LOG_LEVEL ?? 'warn'),
    host: opts.host,
    port: opts.port,
    workers: opts.workers,
    routers: opts.routers,
    threads: opts.threads ?? availableParallelism(),
    functionId: opts.function,
    llmConfig: { routingMethod: opts.routingMethod },
    apiKeys,
    ...(opts.nats ? { natsUrl: opts.nats } : {}),
    ...(opts.engineUrl ? { engineUrl: opts.engineUrl } : {}),
    engineKind: opts.engine,
    ...(opts.engineOption ? { engineSettings: opts.engineOption } : {}),
    ...(opts.engineApiKey ? { engineApiKey: opts.engineApiKey } : {}),
    model: opts.model,
    sim: { ttftMs: opts.ttftMs, itlMs: opts.itlMs },
    installNats: true,
    onProgress: (line) => {
      step = line.replace(/ \.\.\.$/, '');
      say(`llmux: ${line}`);
    },
  });
  if (resources && opts.config) {
    const { applyResources } = await import('../admin/apply.js');
    const { AdminClient } = await import('../admin/admin-client.js');
    say(`llmux: applying ${opts.config} ...`);
    try {
      await applyResources(new AdminClient({ url: stack.gatewayUrl, adminKey, configFile: '/dev/null' }), resources, (line) => say(`llmux:   ${line}`));
    } catch (error) {
      await stack.stop();
      throw error;
    }
  }
  // The managed nats-server admits nkey identities only: the control one, for `llmux usage` and friends.
  const seedFile = stack.natsCredentials.nkeySeed ? files.write('nats-control-seed', `${stack.natsCredentials.nkeySeed}\n`) : undefined;
  stopOnSignals(async () => {
    await stack.stop();
    files.remove();
  }, { say, status: () => `still ${step}` });

  const model = stack.models[0] ?? '';
  // The key itself is never printed: the shell fills it in from the environment.
  const auth = apiKeys.length > 0 ? ` \\\n  -H "Authorization: Bearer $LLMUX_API_KEY"` : '';
  const lines = [
    '',
    'llmux is up.',
    `  base URL   ${stack.gatewayUrl}/v1`,
    `  models     ${stack.models.join(', ')}${opts.function === 'demo' ? '' : ` (workers are waiting: create function '${opts.function}' with a version v1 listing '${opts.model}', e.g. llmux functions create ${opts.function})`}`,
    `  NATS       ${stack.natsUrl}${stack.nats ? ' (managed; one nkey identity per worker, control identity in the file below)' : ''}`,
    `  workers    ${stack.workerIds.length}${opts.engineUrl ? '' : ` (engine simulators at ${stack.engineUrls.join(', ')})`}${stack.threads.length > 0 ? `, on ${stack.threads.length} worker thread(s)` : ''}`,
    `  routing    ${opts.routingMethod}, ${stack.routers.length} router(s); add -H 'x-llmux-debug: 1' to see the worker, then GET /admin/api/decisions/<x-request-id>`,
    `  auth       ${policy.auth === 'required'
      ? `required${apiKeys.length > 0 ? ' (the curl below reads the key from LLMUX_API_KEY)' : ': create keys with llmux keys create, or set LLMUX_API_KEY'}`
      : 'off: callers without a key are tenant anonymous (set LLMUX_API_KEY, or pass --auth required)'}${policy.jwt ? `; JWTs from ${policy.jwt.issuer}` : ''}`,
    `  admin      ${adminKeyFile ? `key in ${adminKeyFile} (readable by you only; removed on stop)` : 'the one you gave (LLMUX_ADMIN_KEY or --admin-key)'}: Authorization: Bearer <key> on ${stack.gatewayUrl}/admin/api/…`,
    `  limits     rate limiter running; ${policy.limiter.failMode === 'open' ? 'admits' : 'refuses'} requests if it stops answering; usage: llmux usage --nats ${stack.natsUrl}${seedFile ? ` --nkey-seed-file ${seedFile}` : ''}`,
    ...(stack.gateways.length > 1 ? [`  gateways   ${stack.gateways.map((g) => g.url).join(', ')}`] : []),
    `  metrics    ${stack.gatewayUrl}/metrics`,
    '',
    'Try it:',
    `  curl -sN ${stack.gatewayUrl}/v1/chat/completions${auth} \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '{"model":"${model}","stream":true,"messages":[{"role":"user","content":"Hello!"}]}'`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
