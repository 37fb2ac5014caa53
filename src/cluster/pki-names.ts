/**
 * The names that go into a certificate, checked before openssl sees them: they are written into its
 * extension file, where a comma or a newline would add a SAN or an extension of the caller's choosing.
 */
import { isIP } from 'node:net';

export interface SubjectAltName {
  kind: 'IP' | 'DNS';
  value: string;
}

export class PkiNameError extends Error {
  override readonly name = 'PkiNameError';
  readonly code = 'pki_invalid_name';
}

export const defaultSans: readonly SubjectAltName[] = [{ kind: 'IP', value: '127.0.0.1' }, { kind: 'DNS', value: 'localhost' }];

const label = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const dnsName = new RegExp(`^(\\*\\.)?${label}(\\.${label})*$`);

/** A certificate's CN and file name: 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit. */
export function certificateName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new PkiNameError(`certificate name '${name}' must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit`);
  return name;
}

/** One SAN: `IP:1.2.3.4`, `DNS:host.example`, or bare (an address is IP, anything else DNS). */
export function parseSan(text: string): SubjectAltName {
  const trimmed = text.trim();
  const match = /^(IP|DNS):(.*)$/i.exec(trimmed);
  const kind = match ? (match[1]?.toUpperCase() as 'IP' | 'DNS') : isIP(trimmed) ? 'IP' : 'DNS';
  const value = match ? (match[2] ?? '') : trimmed;
  if (kind === 'IP' && isIP(value) === 0) throw new PkiNameError(`SAN '${text}' is not an IPv4 or IPv6 address`);
  if (kind === 'DNS' && (value.length > 253 || !dnsName.test(value))) throw new PkiNameError(`SAN '${text}' is not a DNS name (labels of A-Z a-z 0-9 -, a leading *. allowed) or an IP address`);
  return { kind, value };
}

/** A comma-separated SAN list, e.g. `127.0.0.1,localhost,nats-1.internal`. */
export function parseSans(list: string): SubjectAltName[] {
  const items = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new PkiNameError('--san needs at least one name or address');
  const sans = items.map(parseSan);
  return sans.filter((s, i) => sans.findIndex((t) => t.kind === s.kind && t.value === s.value) === i);
}
