/**
 * Where the time goes in a V8 CPU profile (`node --cpu-prof`): self time per function, and grouped
 * by library or llmux part (NATS client, msgpackr, zod, JSON, undici, pino, prom-client, node's
 * HTTP, the gateway, router and worker code, …). Idle and the program's own bookkeeping are kept
 * apart, so shares are of the busy time.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The group a function belongs to, by its script's URL (and for builtins, its name). */
export function groupOf(url: string, functionName: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) {
    if (pkg.startsWith('@nats-io/')) return 'NATS client (@nats-io)';
    if (pkg === 'pino' || pkg === 'sonic-boom' || pkg === 'thread-stream' || pkg === 'pino-std-serializers') return 'pino';
    if (pkg.startsWith('@opentelemetry/')) return 'OpenTelemetry';
    if (pkg === 'msgpackr' || pkg === 'zod' || pkg === 'undici' || pkg === 'prom-client' || pkg === 'piscina' || pkg === 'gpt-tokenizer') return pkg;
    return `other package (${pkg})`;
  }
  const src = /\/dist\/src\/([^/]+(?:\/[^/]+)?)\//.exec(url)?.[1] ?? /\/dist\/src\/([^/]+)\.js/.exec(url)?.[1];
  if (src) return `llmux ${src}`;
  if (url.startsWith('node:internal/http') || url.startsWith('node:_http') || url === 'node:http') return 'node http';
  if (url.startsWith('node:')) return `node ${url.slice('node:'.length).replace(/^internal\//, '').split('/')[0] ?? ''}`;
  if (url === '') {
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return '(program: V8 and native, not JS)';
    if (/^(parse|stringify)$/.test(functionName) || functionName.startsWith('JSON')) return 'JSON (builtin)';
    return `builtin ${functionName || '(anonymous)'}`;
  }
  return 'other';
}

export interface ProfileSummary {
  /** Every sampled ms, idle included. */
  totalMs: number;
  idleMs: number;
  busyMs: number;
  groups: Array<{ group: string; ms: number; share: number }>;
  /** The same time, with node's internals and builtins (socket writes, streams, crypto, JSON…) charged to the nearest caller outside them. */
  byCaller: Array<{ group: string; ms: number; share: number }>;
  functions: Array<{ name: string; group: string; ms: number; share: number }>;
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const internal = (g: string): boolean => g.startsWith('node ') || g.startsWith('builtin ') || g === 'JSON (builtin)';
  const owners = new Map<number, string>();
  /** The group of the nearest frame (this one or a caller) that is not node's or a builtin. */
  const ownerOf = (id: number): string => {
    const known = owners.get(id);
    if (known) return known;
    const n = byId.get(id);
    const g = n ? groupOf(n.callFrame.url, n.callFrame.functionName) : 'other';
    const up = parent.get(id);
    const owner = internal(g) && up !== undefined ? ownerOf(up) : g;
    owners.set(id, owner);
    return owner;
  };
  const callers = new Map<string, number>();
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const groups = new Map<string, number>();
  const functions = new Map<string, { group: string; ms: number }>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    totalMs += ms;
    const { functionName, url, lineNumber } = n.callFrame;
    const group = groupOf(url, functionName);
    if (group === '(idle)') {
      idleMs += ms;
      continue;
    }
    groups.set(group, (groups.get(group) ?? 0) + ms);
    const owner = internal(group) ? ownerOf(id) : group;
    const charged = internal(owner) ? group : owner;
    callers.set(charged, (callers.get(charged) ?? 0) + ms);
    const file = url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '');
    const name = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    const f = functions.get(name) ?? { group, ms: 0 };
    f.ms += ms;
    functions.set(name, f);
  }
  const busyMs = totalMs - idleMs;
  return {
    totalMs, idleMs, busyMs,
    groups: [...groups].map(([group, ms]) => ({ group, ms, share: ms / busyMs })).sort((a, b) => b.ms - a.ms),
    byCaller: [...callers].map(([group, ms]) => ({ group, ms, share: ms / busyMs })).sort((a, b) => b.ms - a.ms),
    functions: [...functions].map(([name, f]) => ({ name, group: f.group, ms: f.ms, share: f.ms / busyMs })).sort((a, b) => b.ms - a.ms).slice(0, top),
  };
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}
