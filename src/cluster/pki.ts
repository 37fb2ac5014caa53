/**
 * A local certificate authority for NATS TLS (routes, gateways, leaf nodes, clients), made with the
 * `openssl` binary. Keys and certificates are returned as PEM text; the callers write them
 * (private-dir.ts). openssl only ever sees files in a fresh 0700 temp directory that is removed
 * afterwards, so a key never passes through a path someone else could have prepared.
 *
 * - A server certificate is good for TLS server *and* client auth: a nats-server dials out on the
 *   routes, gateways and leaf connections it accepts, with the same certificate.
 * - A client certificate is good for client auth only (nats-server's `verify: true` requires that
 *   extended key usage).
 * - Leaf certificates name their SANs (Go, and so nats-server, ignores the CN): 127.0.0.1 and
 *   localhost unless told otherwise.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openssl } from './openssl.js';
import { type SubjectAltName, certificateName, defaultSans } from './pki-names.js';

export const keyAlgorithms = ['ec-p256', 'rsa-2048'] as const;
export type KeyAlgorithm = (typeof keyAlgorithms)[number];

export const certificateUsages = ['server', 'client'] as const;
export type CertificateUsage = (typeof certificateUsages)[number];

export const defaultCaDays = 3650;
export const defaultCertificateDays = 825;

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export const caFileNames = { cert: 'ca.crt', key: 'ca.key' } as const;

export class PkiInputError extends Error {
  override readonly name = 'PkiInputError';
  readonly code = 'pki_invalid_input';
}

const keygenArgs: Record<KeyAlgorithm, string[]> = {
  'ec-p256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:named_curve'],
  'rsa-2048': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
};

// `-subj` supplies the name; this only keeps openssl from reading the system's openssl.cnf.
const requestConfig = '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n';

function checkDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > 7300) throw new PkiInputError(`validity must be 1-7300 days, not ${days}`);
  return days;
}

/** A positive 127-bit serial in hex: unique without a serial file. */
const randomSerial = (): string => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
};

async function withScratch<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'llmux-pki-'));
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const newKey = (key: KeyAlgorithm): Promise<string> => openssl(['genpkey', ...keygenArgs[key]]);

/** A self-signed CA that may sign leaf certificates only (pathlen 0). */
export async function makeCa(options: { commonName?: string; days?: number; key?: KeyAlgorithm } = {}): Promise<KeyPair> {
  const commonName = options.commonName ?? 'llmux CA';
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/.test(commonName)) throw new PkiInputError(`CA name '${commonName}' must be 1-64 characters of A-Z a-z 0-9 space . _ -`);
  const days = checkDays(options.days ?? defaultCaDays);
  return withScratch(async (dir) => {
    const keyPem = await newKey(options.key ?? 'ec-p256');
    writeFileSync(join(dir, 'ca.key'), keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'req.cnf'), requestConfig);
    const certPem = await openssl(['req', '-config', join(dir, 'req.cnf'), '-x509', '-new', '-sha256', '-key', join(dir, 'ca.key'),
      '-subj', `/CN=${commonName}`, '-days', String(days), '-set_serial', randomSerial(),
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
    return { certPem, keyPem };
  });
}

/** Reads `ca.crt` and `ca.key` from a directory made by `llmux pki init`. */
export function loadCa(dir: string): KeyPair {
  const read = (name: string): string => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (error) {
      throw new PkiInputError(`cannot read ${join(dir, name)}: ${(error as Error).message} (make a CA with \`llmux pki init --out ${dir}\`)`, { cause: error });
    }
  };
  return { certPem: read(caFileNames.cert), keyPem: read(caFileNames.key) };
}

export interface IssueOptions {
  /** The certificate's CN (and its file name for `llmux pki issue`). */
  name: string;
  usage: CertificateUsage;
  sans?: readonly SubjectAltName[];
  days?: number;
  key?: KeyAlgorithm;
}

/** A key and a certificate for it, signed by `ca`. */
export async function issueCertificate(ca: KeyPair, options: IssueOptions): Promise<KeyPair> {
  const name = certificateName(options.name);
  const sans = options.sans ?? defaultSans;
  if (sans.length === 0) throw new PkiInputError('a certificate needs at least one subject alternative name (--san): nats-server and Node check SANs, not the CN');
  const days = checkDays(options.days ?? defaultCertificateDays);
  const extensions = [
    '[v3]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage = ${options.usage === 'server' ? 'serverAuth,clientAuth' : 'clientAuth'}`,
    `subjectAltName = ${sans.map((s) => `${s.kind}:${s.value}`).join(',')}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid,issuer',
    '',
  ].join('\n');
  return withScratch(async (dir) => {
    const file = (n: string): string => join(dir, n);
    writeFileSync(file('ca.crt'), ca.certPem);
    writeFileSync(file('ca.key'), ca.keyPem, { mode: 0o600 });
    writeFileSync(file('req.cnf'), requestConfig);
    writeFileSync(file('ext.cnf'), extensions);
    const keyPem = await newKey(options.key ?? 'ec-p256');
    writeFileSync(file('leaf.key'), keyPem, { mode: 0o600 });
    writeFileSync(file('leaf.csr'), await openssl(['req', '-config', file('req.cnf'), '-new', '-sha256', '-key', file('leaf.key'), '-subj', `/CN=${name}`]));
    const certPem = await openssl(['x509', '-req', '-sha256', '-in', file('leaf.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'),
      '-set_serial', randomSerial(), '-days', String(days), '-extfile', file('ext.cnf'), '-extensions', 'v3']);
    return { certPem, keyPem };
  });
}
