/** `--nkey-seed-file`: the NATS identity a command connects with, read once at start. */
import { readFileSync } from 'node:fs';

export function seedFrom(path: string | undefined): { nkeySeed?: string } {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new Error(`cannot read --nkey-seed-file ${path}: ${(error as Error).message}`);
  }
  if (!/^SU[A-Z2-7]{56}$/.test(text)) throw new Error(`--nkey-seed-file ${path} does not hold a NATS user nkey seed (SU...)`);
  return { nkeySeed: text };
}

export interface NatsTlsFlags {
  natsCa?: string;
  natsCert?: string;
  natsKey?: string;
}

/** `--nats-ca`, `--nats-cert`, `--nats-key`: TLS to NATS (files from `llmux pki` or `llmux cluster init`), checked at start. */
export function tlsFrom(flags: NatsTlsFlags): { caFile: string; certFile?: string; keyFile?: string } | undefined {
  const { natsCa, natsCert, natsKey } = flags;
  if (natsCa === undefined && natsCert === undefined && natsKey === undefined) return undefined;
  if (natsCa === undefined) throw new Error('--nats-cert and --nats-key need --nats-ca: the CA that signed the NATS servers\' certificates');
  if ((natsCert === undefined) !== (natsKey === undefined)) throw new Error('--nats-cert and --nats-key go together: a client certificate and its private key');
  for (const [flag, path] of [['--nats-ca', natsCa], ['--nats-cert', natsCert], ['--nats-key', natsKey]] as const) {
    if (path === undefined) continue;
    try {
      readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read ${flag} ${path}: ${(error as Error).message}`);
    }
  }
  return { caFile: natsCa, ...(natsCert !== undefined && natsKey !== undefined ? { certFile: natsCert, keyFile: natsKey } : {}) };
}

/** What a role is given to reach NATS from its flags: the identity's seed and TLS. */
export function roleAccessFrom(flags: NatsTlsFlags & { nkeySeedFile?: string }): { nkeySeed?: string; natsTls?: { caFile: string; certFile?: string; keyFile?: string } } {
  const tls = tlsFrom(flags);
  return { ...seedFrom(flags.nkeySeedFile), ...(tls ? { natsTls: tls } : {}) };
}

/** The same for a command's own connection (connectNats options). */
export function connectAccessFrom(flags: NatsTlsFlags & { nkeySeedFile?: string }): { nkeySeed?: string; tls?: { caFile: string; certFile?: string; keyFile?: string } } {
  const tls = tlsFrom(flags);
  return { ...seedFrom(flags.nkeySeedFile), ...(tls ? { tls } : {}) };
}
