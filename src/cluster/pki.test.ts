// The PKI on the real openssl binary: what it signs verifies, carries the names and usages nats-server
// checks, and lands owner-only without ever following a file someone else prepared.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OpensslMissingError, opensslBinary } from './openssl.js';
import { type KeyPair, issueCertificate, makeCa } from './pki.js';
import { PkiNameError, parseSan, parseSans } from './pki-names.js';
import { UnsafeOutputError, ensurePrivateDir, writePrivateFile } from './private-dir.js';

const work = mkdtempSync(join(tmpdir(), 'llmux-pki-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function x509(pem: string, ...args: string[]): string {
  const file = join(work, `cert-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, pem);
  return execFileSync(opensslBinary(), ['x509', '-in', file, '-noout', ...args], { encoding: 'utf8' });
}

function verifies(ca: KeyPair, leaf: KeyPair, purpose: 'sslserver' | 'sslclient'): boolean {
  const caFile = join(work, `ca-${Math.random().toString(36).slice(2)}.pem`);
  const leafFile = join(work, `leaf-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(caFile, ca.certPem);
  writeFileSync(leafFile, leaf.certPem);
  try {
    execFileSync(opensslBinary(), ['verify', '-CAfile', caFile, '-purpose', purpose, leafFile], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

describe('pki', () => {
  it('signs an EC P-256 server certificate good for server and client auth, naming 127.0.0.1 and localhost', async () => {
    const ca = await makeCa({ commonName: 'test CA' });
    const server = await issueCertificate(ca, { name: 'nats-1', usage: 'server' });
    expect(server.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(verifies(ca, server, 'sslserver')).toBe(true);
    expect(verifies(ca, server, 'sslclient')).toBe(true);
    const text = x509(server.certPem, '-text');
    expect(text).toContain('IP Address:127.0.0.1, DNS:localhost');
    expect(text).toContain('NIST CURVE: P-256');
    expect(text).toContain('CA:FALSE');
    expect(x509(ca.certPem, '-text')).toMatch(/CA:TRUE, pathlen:0/);
  });

  it('signs a client certificate that is no good as a server\'s, and RSA 2048 on request', async () => {
    const ca = await makeCa();
    const client = await issueCertificate(ca, { name: 'gpu-1', usage: 'client', key: 'rsa-2048', sans: parseSans('gpu-1.internal') });
    expect(verifies(ca, client, 'sslclient')).toBe(true);
    expect(verifies(ca, client, 'sslserver')).toBe(false);
    const text = x509(client.certPem, '-text');
    expect(text).toContain('Public-Key: (2048 bit)');
    expect(text).toContain('DNS:gpu-1.internal');
    expect(text).not.toContain('127.0.0.1');
  });

  it('does not verify a certificate against another CA', async () => {
    const [ca, other] = await Promise.all([makeCa(), makeCa()]);
    expect(verifies(other, await issueCertificate(ca, { name: 'x', usage: 'server' }), 'sslserver')).toBe(false);
  });

  it('refuses names and SANs that would reach openssl\'s files as syntax', async () => {
    const ca = await makeCa();
    await expect(issueCertificate(ca, { name: 'a/b', usage: 'server' })).rejects.toThrow(/certificate name 'a\/b'/);
    await expect(issueCertificate(ca, { name: 'x', usage: 'server', days: 0 })).rejects.toThrow(/validity/);
    for (const bad of ['a.example,DNS:evil', 'host\nbasicConstraints=CA:TRUE', 'IP:300.1.1.1', 'DNS:-bad-.example', 'under_score', 'IP:localhost']) {
      expect(() => parseSan(bad)).toThrow(PkiNameError);
    }
    expect(() => parseSans(' , ')).toThrow(/at least one/);
    expect(parseSans('IP:::1, 10.0.0.5,nats.internal,*.svc.local,10.0.0.5')).toEqual([
      { kind: 'IP', value: '::1' }, { kind: 'IP', value: '10.0.0.5' }, { kind: 'DNS', value: 'nats.internal' }, { kind: 'DNS', value: '*.svc.local' },
    ]);
  });

  it('says how to install openssl when there is none', () => {
    expect(() => opensslBinary(['/nonexistent/openssl'])).toThrow(OpensslMissingError);
    expect(() => opensslBinary(['/nonexistent/openssl'])).toThrow(/apt-get install openssl/);
  });

  it('writes keys 0600 in a 0700 directory, and never over or through a file that is already there', () => {
    const dir = ensurePrivateDir(join(work, 'out', 'keys'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    writePrivateFile(join(dir, 'a.key'), 'secret');
    expect(statSync(join(dir, 'a.key')).mode & 0o777).toBe(0o600);
    expect(() => writePrivateFile(join(dir, 'a.key'), 'again')).toThrow(UnsafeOutputError);
    symlinkSync(join(work, 'elsewhere'), join(dir, 'b.key'));
    expect(() => writePrivateFile(join(dir, 'b.key'), 'secret')).toThrow(/exists/);
    expect(() => statSync(join(work, 'elsewhere'))).toThrow(); // nothing was written through the link
  });

  it('refuses an output directory that is a symlink or that others can write to', () => {
    mkdirSync(join(work, 'open'), { mode: 0o777 });
    execFileSync('chmod', ['0777', join(work, 'open')]);
    expect(() => ensurePrivateDir(join(work, 'open'))).toThrow(/can be written by other users/);
    symlinkSync(join(work, 'out'), join(work, 'link'));
    expect(() => ensurePrivateDir(join(work, 'link'))).toThrow(/symlink/);
  });
});
