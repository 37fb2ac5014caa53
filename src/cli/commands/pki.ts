/**
 * `llmux pki init` (a local CA) and `llmux pki issue` (a certificate it signs) for NATS TLS: routes,
 * gateways, leaf nodes and clients. `llmux cluster init` does both for a whole deployment.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { opensslBinary } from '../../cluster/openssl.js';
import { type CertificateUsage, type KeyAlgorithm, caFileNames, issueCertificate, keyAlgorithms, loadCa, makeCa } from '../../cluster/pki.js';
import { parseSans } from '../../cluster/pki-names.js';
import { UnsafeOutputError, ensurePrivateDir, writePrivateFile, writePublicFile } from '../../cluster/private-dir.js';

export interface PkiInitOptions {
  out: string;
  name?: string;
  days?: number;
  key?: string;
}

export interface PkiIssueOptions {
  ca: string;
  name: string;
  out: string;
  san?: string;
  client?: boolean;
  server?: boolean;
  days?: number;
  key?: string;
}

function keyAlgorithm(key: string | undefined): KeyAlgorithm {
  if (key === undefined) return 'ec-p256';
  if ((keyAlgorithms as readonly string[]).includes(key)) return key as KeyAlgorithm;
  throw new Error(`--key must be one of ${keyAlgorithms.join(', ')}, not '${key}'`);
}

/** Both files of a pair are checked first, so a refusal never leaves half of one behind. */
function refuseExisting(...paths: string[]): void {
  const there = paths.find((p) => existsSync(p));
  if (there) throw new UnsafeOutputError(`${there} exists: llmux never overwrites a key or certificate; remove it or choose another --out`);
}

export async function pkiInit(opts: PkiInitOptions): Promise<void> {
  opensslBinary();
  const key = keyAlgorithm(opts.key);
  const dir = ensurePrivateDir(opts.out);
  refuseExisting(join(dir, caFileNames.key), join(dir, caFileNames.cert));
  const ca = await makeCa({ key, ...(opts.name !== undefined ? { commonName: opts.name } : {}), ...(opts.days !== undefined ? { days: opts.days } : {}) });
  writePrivateFile(join(dir, caFileNames.key), ca.keyPem);
  writePublicFile(join(dir, caFileNames.cert), ca.certPem);
  process.stdout.write([
    `wrote the CA certificate ${join(dir, caFileNames.cert)} (give it to every server and client)`,
    `  and its key ${join(dir, caFileNames.key)} (readable by you only: whoever holds it can mint certificates every server accepts)`,
    `Then: llmux pki issue --ca ${dir} --name nats-1 --server --out DIR`,
    '',
  ].join('\n'));
}

export async function pkiIssue(opts: PkiIssueOptions): Promise<void> {
  opensslBinary();
  if (opts.client && opts.server) throw new Error('give --client or --server, not both (a server certificate already serves as a client one, for routes and gateways)');
  const usage: CertificateUsage = opts.client ? 'client' : 'server';
  const key = keyAlgorithm(opts.key);
  const sans = opts.san !== undefined ? parseSans(opts.san) : undefined;
  const ca = loadCa(opts.ca);
  const pair = await issueCertificate(ca, { name: opts.name, usage, key, ...(sans ? { sans } : {}), ...(opts.days !== undefined ? { days: opts.days } : {}) });
  const dir = ensurePrivateDir(opts.out);
  const keyFile = join(dir, `${opts.name}.key`);
  const certFile = join(dir, `${opts.name}.crt`);
  refuseExisting(keyFile, certFile);
  writePrivateFile(keyFile, pair.keyPem);
  writePublicFile(certFile, pair.certPem);
  process.stdout.write(`wrote a ${usage} certificate ${certFile} and its key ${keyFile} (readable by you only), signed by ${join(opts.ca, caFileNames.cert)}\n`);
}
