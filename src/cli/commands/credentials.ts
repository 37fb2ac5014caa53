/**
 * `llmux credentials`: NATS identities for a deployment whose roles run separately. Writes a control
 * seed (gateways, routers, the limiter), one seed per worker, and the `authorization` block for
 * nats-server's configuration, which holds public keys only. Seeds are written owner-only.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { authorizationConfig, newIdentity } from '../../transport/nats/nats-credentials.js';

export function credentials(opts: { worker: string[]; out: string }): void {
  const dir = resolve(opts.out);
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
    return { workerId, identity };
  });
  const conf = join(dir, 'nats-auth.conf');
  writeFileSync(conf, authorizationConfig(control, workers), { mode: 0o644 });
  process.stdout.write([
    `wrote ${conf} (public keys only) and ${1 + workers.length} seed file(s) in ${dir} (readable by you only).`,
    '',
    'Then:',
    `  nats-server -js -c ${conf}                         # or: include ${conf} in your nats-server config`,
    `  llmux router  --nats nats://HOST:4222 --nkey-seed-file ${seedFile('control')}`,
    `  llmux limiter --nats nats://HOST:4222 --nkey-seed-file ${seedFile('control')}`,
    `  llmux gateway --nats nats://HOST:4222 --nkey-seed-file ${seedFile('control')} ...`,
    ...workers.map((w) => `  llmux worker  --nats nats://HOST:4222 --nkey-seed-file ${seedFile(w.workerId)} --id ${w.workerId} ...`),
    '',
    'A worker must run with the --id its identity was made for: its permissions name only that id\'s subjects.',
    '',
  ].join('\n'));
}
