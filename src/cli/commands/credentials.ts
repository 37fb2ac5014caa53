/**
 * `llmux credentials`: NATS identities for a deployment whose roles run separately, and what each
 * worker identity may serve.
 * - With `--out DIR`: writes a control seed (gateways, routers, the limiter), one seed per worker, and
 *   the `authorization` block for nats-server's configuration, which holds public keys only. Seeds are
 *   written owner-only.
 * - With `--nats URL`: binds each `--worker` to `--function` (and `--function-version`, `--model`,
 *   default any) in the control plane (`workers.<id>`), or removes its binding with `--unbind`.
 *   Routers of a deployment with worker identities refuse a worker without one (docs/policy.md).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { controlBucket } from '../../control/function-catalog.js';
import { anyValue, bindableWorkerId, type WorkerBinding, WorkerBindings } from '../../control/worker-bindings.js';
import { authorizationConfig, newIdentity } from '../../transport/nats/nats-credentials.js';
import { connectNats } from '../../transport/nats/nats-transport.js';
import { connectAccessFrom } from './nats-identity.js';

export interface CredentialsOptions {
  worker: string[];
  out?: string;
  nats?: string;
  nkeySeedFile?: string;
  function?: string;
  functionVersion?: string;
  model?: string;
  unbind?: boolean;
  /** With --out: the cluster the workers run in; their identities may register only there. */
  cluster?: string;
}

export async function credentials(opts: CredentialsOptions): Promise<void> {
  if ((opts.out === undefined) === (opts.nats === undefined)) {
    throw new Error('give --out DIR to make identities, or --nats URL (with --nkey-seed-file) to bind them to what they serve');
  }
  for (const id of opts.worker) {
    if (!bindableWorkerId.safeParse(id).success) throw new Error(`worker id '${id}' must be 1-64 characters of A-Z a-z 0-9 _ - (its binding is the key workers.<id>)`);
  }
  if (opts.out !== undefined) return makeIdentities(opts, opts.out);
  return bind(opts, opts.nats as string);
}

function bindCommand(opts: CredentialsOptions, controlSeed: string): string {
  const what = `--function ${opts.function ?? 'FUNCTION'}${opts.functionVersion ? ` --function-version ${opts.functionVersion}` : ''} --model ${opts.model ?? 'MODEL'}`;
  return `llmux credentials --nats nats://HOST:4222 --nkey-seed-file ${controlSeed} ${opts.worker.map((w) => `--worker ${w}`).join(' ')} ${what}`;
}

function makeIdentities(opts: CredentialsOptions, out: string): void {
  const dir = resolve(out);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const seedFile = (name: string): string => join(dir, `${name}.seed`);
  for (const name of ['control', ...opts.worker]) {
    if (existsSync(seedFile(name))) throw new Error(`${seedFile(name)} exists; choose another --out, or remove it to replace that identity`);
  }
  const control = newIdentity();
  writeFileSync(seedFile('control'), `${control.seed}\n`, { mode: 0o600 });
  const workers = opts.worker.map((workerId) => {
    const identity = newIdentity();
    writeFileSync(seedFile(workerId), `${identity.seed}\n`, { mode: 0o600 });
    return { workerId, identity, ...(opts.cluster !== undefined ? { cluster: opts.cluster } : {}) };
  });
  const conf = join(dir, 'nats-auth.conf');
  const clusterFlag = opts.cluster !== undefined ? ` --cluster ${opts.cluster}` : '';
  writeFileSync(conf, authorizationConfig(control, workers), { mode: 0o644 });
  process.stdout.write([
    `wrote ${conf} (public keys only) and ${1 + workers.length} seed file(s) in ${dir} (readable by you only).`,
    '',
    'Then:',
    `  nats-server -js -c ${conf}                         # or: include ${conf} in your nats-server config`,
    `  ${bindCommand(opts, seedFile('control'))}   # what the workers may serve; routers refuse an unbound worker`,
    `  llmux router  --nats nats://HOST:4222 --nkey-seed-file ${seedFile('control')}${clusterFlag}`,
    `  llmux limiter --nats nats://HOST:4222 --nkey-seed-file ${seedFile('control')}`,
    `  llmux gateway --nats nats://HOST:4222 --nkey-seed-file ${seedFile('control')} ...`,
    ...workers.map((w) => `  llmux worker  --nats nats://HOST:4222 --nkey-seed-file ${seedFile(w.workerId)} --id ${w.workerId}${clusterFlag} ...`),
    '',
    'A worker must run with the --id (and --cluster) its identity was made for: its permissions name only that id\'s subjects, in that cluster.',
    '',
  ].join('\n'));
}

async function bind(opts: CredentialsOptions, natsUrl: string): Promise<void> {
  if (!opts.unbind && opts.function === undefined) throw new Error('--nats binds workers: give --function (and optionally --function-version, --model), or --unbind');
  const transport = await connectNats({ servers: natsUrl, name: 'llmux-credentials', ...connectAccessFrom(opts) });
  try {
    const bindings = new WorkerBindings(await transport.keyValue(controlBucket, { history: 5 }));
    if (opts.unbind) {
      for (const id of opts.worker) await bindings.delete(id);
      process.stdout.write(`removed the binding of ${opts.worker.join(', ')}: routers that require bindings refuse ${opts.worker.length > 1 ? 'them' : 'it'} from the next heartbeat\n`);
      return;
    }
    const binding: WorkerBinding = {
      functionId: opts.function as string, versionId: opts.functionVersion ?? anyValue, model: opts.model ?? anyValue,
      issuedAt: new Date().toISOString(), issuedBy: 'llmux credentials',
    };
    for (const id of opts.worker) await bindings.put(id, binding);
    const shown = (v: string): string => (v === anyValue ? 'any' : `'${v}'`);
    process.stdout.write(`bound ${opts.worker.join(', ')} to function '${binding.functionId}', version ${shown(binding.versionId)}, model ${shown(binding.model)} (applies from each worker's next heartbeat)\n`);
  } finally {
    await transport.close();
  }
}
