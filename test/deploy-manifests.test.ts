/**
 * The deployment examples under deploy/ cannot rot: every Kubernetes manifest and systemd unit is
 * parsed, and each `llmux` command, flag, environment variable, port, Secret and file it uses is
 * checked against the real CLI (`llmux <command> --help`) and against the other manifests.
 * The checks are plain functions returning problems, so the last tests can break a manifest on
 * purpose and see each kind of mistake reported.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { llmConfigSchema } from '../src/control/function.schema.js';
import { parseResources } from '../src/cli/admin/apply.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const k8sDir = join(root, 'deploy', 'kubernetes');
const unitDir = join(root, 'deploy', 'systemd');

// ---- the CLI, as its own --help describes it ----

interface CliOption { long: string; short?: string; takesValue: boolean; env?: string; defaultValue?: string }
interface CliCommand { name: string; options: Map<string, CliOption>; envs: Set<string>; subcommands: Set<string>; positionals: number }

/** Variables llmux reads without an option of their own, each with the file that reads it. */
const extraEnv: Record<string, { file: string; admin?: true }> = {
  LLMUX_LOG_LEVEL: { file: 'src/observability/logger.ts' },
  LLMUX_URL: { file: 'src/cli/admin/admin-client.ts', admin: true },
  LLMUX_ADMIN_KEY: { file: 'src/cli/admin/admin-client.ts', admin: true },
};
/** Options whose value is a secret: on a command line every local user reads it (`ps`, docs/security.md). */
const secretEnvs = new Set(['LLMUX_API_KEY', 'LLMUX_ADMIN_KEY', 'LLMUX_ENGINE_API_KEY']);
const secretFlags = new Set(['--api-key', '--admin-key', '--engine-api-key']);
/** Mandatory options of the roles (makeOptionMandatory / requiredOption in src/cli/main.ts). */
const required: Record<string, string[]> = {
  gateway: ['--nats'], router: ['--nats'], limiter: ['--nats'], worker: ['--nats', '--engine-url', '--function', '--model'],
};

const helpCache = new Map<string, string>();
const help = (...command: string[]): string => {
  const key = command.join(' ');
  let text = helpCache.get(key);
  if (text === undefined) {
    text = execFileSync(process.execPath, [join(root, 'bin', 'llmux.js'), ...command, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } });
    helpCache.set(key, text);
  }
  return text;
};

/** The entries of a help section ("Options:", "Commands:"), wrapped lines joined. */
function helpEntries(text: string, section: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(section);
  if (start < 0) return [];
  const entries: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    if (/^ {2}\S/.test(line)) entries.push(line.trim());
    else if (entries.length > 0) entries[entries.length - 1] += ` ${line.trim()}`;
  }
  return entries;
}

const commandNames = (...parent: string[]): Set<string> => new Set(helpEntries(help(...parent), 'Commands:').map((e) => e.split(/\s/)[0] as string).filter((c) => c !== 'help'));

const commands = new Map<string, CliCommand>();
/** A command by its path (`gateway`, or `functions versions create`), as its --help describes it. */
function cli(...path: string[]): CliCommand | undefined {
  const name = path.join(' ');
  const known = commands.get(name);
  if (known) return known;
  if (path.length === 0 || !commandNames(...path.slice(0, -1)).has(path[path.length - 1] as string)) return undefined;
  const text = help(...path);
  const options = new Map<string, CliOption>();
  const envs = new Set<string>();
  for (const entry of helpEntries(text, 'Options:')) {
    const m = /^(?:(-\w), )?(--[\w-]+)(?: ([<[][^>\]]+[>\]]))?\s*(.*)$/.exec(entry);
    if (!m) continue;
    const env = /\benv: ([A-Z0-9_]+)\)/.exec(m[4] ?? '')?.[1];
    const defaultValue = /\(default: "?([^",)]+)"?/.exec(m[4] ?? '')?.[1];
    const option: CliOption = { long: m[2] as string, takesValue: m[3] !== undefined,
      ...(m[1] ? { short: m[1] } : {}), ...(env ? { env } : {}), ...(defaultValue ? { defaultValue } : {}) };
    options.set(option.long, option);
    if (option.short) options.set(option.short, option);
    if (env) envs.add(env);
  }
  const admin = options.has('--url');
  for (const [env, where] of Object.entries(extraEnv)) {
    if (where.admin && !admin) continue;
    if (!readFileSync(join(root, where.file), 'utf8').includes(`process.env.${env}`)) throw new Error(`${where.file} no longer reads ${env}`);
    envs.add(env);
  }
  const usage = /^Usage: .*$/m.exec(text)?.[0] ?? '';
  const positionals = (usage.match(/<[^>]+>|\[[^\]]+\]/g) ?? []).filter((a) => a !== '[options]' && a !== '[command]').length;
  const command = { name, options, envs, subcommands: commandNames(...path), positionals };
  commands.set(name, command);
  return command;
}

interface Invocation { command: string; flags: Map<string, string | true> }

/** Checks `llmux <command> [flags]` against the CLI; returns what it uses. */
function checkInvocation(where: string, argv: readonly string[], env: ReadonlySet<string>, problems: string[], prose = false): Invocation | undefined {
  const path: string[] = [];
  let command: CliCommand | undefined;
  while (path.length < argv.length && (path.length === 0 || command?.subcommands.has(argv[path.length] as string))) {
    path.push(argv[path.length] as string);
    command = cli(...path);
    if (!command) return void problems.push(`${where}: unknown llmux command '${path.join(' ')}'`);
  }
  if (!command) return void problems.push(`${where}: no llmux command`);
  if (command.subcommands.size > 0) return void problems.push(`${where}: llmux ${path.join(' ')} needs one of its commands: ${[...command.subcommands].join(', ')}`);
  const name = path.join(' ');
  const rest = argv.slice(path.length);
  const flags = new Map<string, string | true>();
  let positionals = 0;
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i] as string;
    if (!token.startsWith('-')) {
      // In prose, `…` stands for what is left out.
      if (!(prose && token === '…') && ++positionals > command.positionals) problems.push(`${where}: unexpected argument '${token}'`);
      continue;
    }
    const [flag, inline] = token.includes('=') ? [token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1)] : [token, undefined];
    const option = command.options.get(flag);
    if (!option) { problems.push(`${where}: llmux ${name} has no option ${flag}`); continue; }
    if (secretFlags.has(option.long) || (option.env && secretEnvs.has(option.env))) problems.push(`${where}: ${flag} puts a secret on the command line (ps shows it); use ${option.env ?? 'a file'}`);
    let value: string | true = true;
    if (option.takesValue) {
      const next = inline ?? rest[i + 1];
      if (next === undefined || (inline === undefined && next.startsWith('--'))) problems.push(`${where}: ${flag} needs a value`);
      else { value = next; if (inline === undefined) i++; }
    } else if (inline !== undefined) problems.push(`${where}: ${flag} takes no value`);
    flags.set(option.long, value);
  }
  for (const e of env) if (!command.envs.has(e)) problems.push(`${where}: llmux ${name} reads no environment variable ${e}`);
  for (const flag of prose ? [] : required[name] ?? []) {
    const option = command.options.get(flag);
    if (!option) problems.push(`${where}: llmux ${name} has no option ${flag} any more`);
    else if (!flags.has(flag) && !(option.env && env.has(option.env))) problems.push(`${where}: llmux ${name} needs ${flag}${option.env ? ` or ${option.env}` : ''}`);
  }
  return { command: name, flags };
}

const portOf = (url: string): number => { const u = new URL(url); return Number(u.port || (u.protocol === 'https:' ? 443 : 80)); };
const argAfter = (args: readonly string[], flag: string): string | undefined => { const i = args.indexOf(flag); return i >= 0 ? args[i + 1] : undefined; };

// ---- Kubernetes ----

type Obj = Record<string, any>; // parsed YAML, checked field by field

function loadManifests(dir: string): { file: string; doc: Obj }[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`);
      return { file, doc: d.toJS() as Obj };
    }).filter((d) => d.doc !== null));
}

interface Pod { where: string; kind: string; name: string; podNames: string[]; spec: Obj; labels: Record<string, string>; claims: string[] }

const workloads = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet']);
function podsOf(docs: readonly { file: string; doc: Obj }[]): Pod[] {
  return docs.filter((d) => workloads.has(d.doc.kind)).map(({ file, doc }) => {
    const replicas = doc.spec.replicas ?? 1;
    // A StatefulSet's pods are <name>-0 … <name>-(n-1); only those names are known ahead.
    const podNames = doc.kind === 'StatefulSet' ? Array.from({ length: replicas }, (_, i) => `${doc.metadata.name}-${i}`) : [];
    return { where: `${file} ${doc.kind}/${doc.metadata.name}`, kind: doc.kind, name: doc.metadata.name, podNames, spec: doc.spec.template.spec, labels: doc.spec.template.metadata?.labels ?? {},
      claims: (doc.spec.volumeClaimTemplates ?? []).map((c: Obj) => c.metadata.name as string) };
  });
}

const isLlmux = (c: Obj): boolean => Array.isArray(c.command) && c.command[0] === 'llmux';

function checkManifests(docs: readonly { file: string; doc: Obj }[], files: readonly string[] = []): string[] {
  const problems: string[] = [];
  const byKind = (kind: string) => docs.filter((d) => d.doc.kind === kind).map((d) => d.doc);
  const secrets = new Map(byKind('Secret').map((s) => [s.metadata.name as string, new Set([...Object.keys(s.stringData ?? {}), ...Object.keys(s.data ?? {})])]));
  const configMaps = new Map(byKind('ConfigMap').map((c) => [c.metadata.name as string, c.data as Record<string, string>]));
  const services = byKind('Service');
  const pods = podsOf(docs);

  for (const s of byKind('Secret')) {
    for (const [key, value] of Object.entries<string>(s.stringData ?? {})) {
      if (!/^REPLACE_WITH_/.test(String(value))) problems.push(`Secret/${s.metadata.name}: ${key} is not a REPLACE_WITH_ placeholder`);
    }
    if (s.data && Object.keys(s.data).length > 0) problems.push(`Secret/${s.metadata.name}: use stringData placeholders, not data`);
  }

  const workers: { where: string; fn: string; version: string; model: string; ids: string[] }[] = [];
  const binds: { where: string; fn: string; version?: string; model?: string; ids: string[] }[] = [];
  for (const pod of pods) {
    const volumes = new Map<string, Obj>([...(pod.spec.volumes ?? []), ...pod.claims.map((name) => ({ name, persistentVolumeClaim: {} }))].map((v: Obj) => [v.name, v]));
    for (const v of volumes.values()) {
      if (v.secret) {
        const keys = secrets.get(v.secret.secretName);
        if (!keys) problems.push(`${pod.where}: volume ${v.name} names Secret ${v.secret.secretName}, which no manifest defines`);
        for (const item of v.secret.items ?? []) if (keys && !keys.has(item.key)) problems.push(`${pod.where}: Secret ${v.secret.secretName} has no key ${item.key}`);
      }
      if (v.configMap) {
        const data = configMaps.get(v.configMap.name);
        if (!data) problems.push(`${pod.where}: volume ${v.name} names ConfigMap ${v.configMap.name}, which no manifest defines`);
        for (const item of v.configMap.items ?? []) if (data && !(item.key in data)) problems.push(`${pod.where}: ConfigMap ${v.configMap.name} has no key ${item.key}`);
      }
    }
    const init: Obj[] = pod.spec.initContainers ?? [];
    const all: Obj[] = [...init, ...(pod.spec.containers ?? [])];
    for (const c of all) {
      const where = `${pod.where} container ${c.name}`;
      const env: Obj[] = c.env ?? [];
      const strings = [...(c.command ?? []), ...(c.args ?? []), ...env.map((e) => e.value).filter((v) => typeof v === 'string')].map(String);
      // $(VAR) is Kubernetes' substitution: it must name a variable defined in this container.
      const defined = new Set(env.map((e) => e.name as string));
      const referenced = new Set(strings.flatMap((s) => [...s.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1] as string)));
      for (const r of referenced) if (!defined.has(r)) problems.push(`${where}: $(${r}) is not defined in its env`);
      for (const e of env) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !secrets.get(ref.name)?.has(ref.key)) problems.push(`${where}: env ${e.name} wants key ${ref.key} of Secret ${ref.name}, which is not there`);
      }
      // Every file a container names under one of its mounts must be there.
      const expand = (s: string): string[] => (s.includes('$(POD_NAME)') && pod.podNames.length > 0 ? pod.podNames.map((n) => s.replaceAll('$(POD_NAME)', n)) : [s]);
      for (const mount of c.volumeMounts ?? []) {
        const volume = volumes.get(mount.name);
        if (!volume) { problems.push(`${where}: mounts ${mount.name}, which is not a volume of the pod`); continue; }
        const paths = strings.flatMap((s) => [...s.matchAll(new RegExp(`${mount.mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([\\w.$()-]+)`, 'g'))].map((m) => m[1] as string)).flatMap(expand);
        for (const file of paths) {
          if (file.includes('$(')) { problems.push(`${where}: cannot tell which file ${mount.mountPath}/${file} is`); continue; }
          if (volume.secret) {
            const names = volume.secret.items ? volume.secret.items.map((i: Obj) => i.path) : [...(secrets.get(volume.secret.secretName) ?? [])];
            if (!names.includes(file)) problems.push(`${where}: ${mount.mountPath}/${file} is not a key of Secret ${volume.secret.secretName}`);
          } else if (volume.configMap) {
            const names = volume.configMap.items ? volume.configMap.items.map((i: Obj) => i.path) : Object.keys(configMaps.get(volume.configMap.name) ?? {});
            if (!names.includes(file)) problems.push(`${where}: ${mount.mountPath}/${file} is not in ConfigMap ${volume.configMap.name}`);
          } else if (volume.emptyDir && !init.includes(c) && !init.some((i) => JSON.stringify([i.command, i.args]).includes(`${mount.mountPath}/${file}`))) {
            problems.push(`${where}: nothing writes ${mount.mountPath}/${file} into emptyDir ${mount.name}`);
          }
        }
      }
      const ports: Obj[] = c.ports ?? [];
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
        if (port !== undefined && !ports.some((p) => p.name === port || p.containerPort === port)) problems.push(`${where}: ${probe} port ${port} is not a port of the container`);
      }
      if (!isLlmux(c)) continue;
      if (c.command.length > 1) problems.push(`${where}: put the llmux command in args, not command`);
      const args: string[] = (c.args ?? []).map(String);
      const envNames = new Set(env.map((e) => e.name as string).filter((n) => !referenced.has(n)));
      const inv = checkInvocation(where, args, envNames, problems);
      if (!inv) continue;
      if (inv.command === 'gateway') {
        const port = Number(inv.flags.get('--port') ?? cli('gateway')?.options.get('--port')?.defaultValue);
        if (!ports.some((p) => p.containerPort === port)) problems.push(`${where}: the gateway listens on ${port}, which is not a containerPort`);
        const host = inv.flags.get('--host') ?? cli('gateway')?.options.get('--host')?.defaultValue;
        if (host !== '0.0.0.0' && host !== '::') problems.push(`${where}: the gateway binds ${host}: nothing outside the pod reaches it`);
      }
      if (inv.command === 'worker') {
        const url = String(inv.flags.get('--engine-url'));
        const engine = all.find((o) => o !== c && (o.ports ?? []).some((p: Obj) => p.containerPort === portOf(url)));
        if (!engine) problems.push(`${where}: no container of the pod listens on ${url}`);
        const served = engine && argAfter((engine.args ?? []).map(String), '--served-model-name');
        if (served !== undefined && served !== inv.flags.get('--model')) problems.push(`${where}: --model ${inv.flags.get('--model')} but the engine serves ${served}`);
        workers.push({ where, fn: String(inv.flags.get('--function')), version: String(inv.flags.get('--function-version') ?? 'v1'), model: String(inv.flags.get('--model')),
          ids: inv.flags.get('--id') === '$(POD_NAME)' ? pod.podNames : [String(inv.flags.get('--id'))] });
      }
      if (inv.command === 'credentials' && inv.flags.has('--nats')) {
        const ids = args.filter((_, i) => args[i - 1] === '--worker');
        binds.push({ where, fn: String(inv.flags.get('--function')), ids,
          ...(inv.flags.has('--function-version') ? { version: String(inv.flags.get('--function-version')) } : {}), ...(inv.flags.has('--model') ? { model: String(inv.flags.get('--model')) } : {}) });
      }
      for (const e of env) {
        const url = typeof e.value === 'string' && /^(https?|nats):\/\/([a-z0-9-]+):(\d+)/.exec(e.value);
        if (!url) continue;
        const service = services.find((s) => s.metadata.name === url[2]);
        if (service && !(service.spec.ports ?? []).some((p: Obj) => p.port === Number(url[3]))) problems.push(`${where}: ${e.name} ${e.value}: Service ${url[2]} has no port ${url[3]}`);
        if (!service && url[2] !== 'nats') problems.push(`${where}: ${e.name} ${e.value}: no Service ${url[2]} (nats is the Helm chart's)`);
      }
    }
  }

  for (const s of services) {
    const selector: Record<string, string> = s.spec.selector ?? {};
    const selected = pods.filter((p) => Object.entries(selector).every(([k, v]) => p.labels[k] === v));
    if (selected.length === 0) problems.push(`Service/${s.metadata.name}: its selector matches no pod`);
    const containerPorts = selected.flatMap((p) => (p.spec.containers as Obj[]).flatMap((c) => c.ports ?? [])) as Obj[];
    for (const port of s.spec.ports ?? []) {
      const target = port.targetPort ?? port.port;
      if (!containerPorts.some((p) => p.name === target || p.containerPort === target)) problems.push(`Service/${s.metadata.name}: targetPort ${target} is no port of the pods it selects`);
    }
  }

  // What the workers serve is declared, and every worker identity is bound to exactly that.
  const resources = [...configMaps.values()].flatMap((data) => Object.entries(data ?? {}).filter(([k]) => k.endsWith('.yaml')).flatMap(([k, text]) => {
    try { return parseResources(text, k); } catch (error) { problems.push(`ConfigMap ${k}: ${(error as Error).message}`); return []; }
  }));
  for (const r of resources) {
    if (r.kind !== 'FunctionVersion') continue;
    for (const m of r.spec.models) {
      const parsed = llmConfigSchema.safeParse(m.llmConfig);
      if (!parsed.success) problems.push(`FunctionVersion ${r.metadata.function}/${r.metadata.name} model ${m.name}: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    }
  }
  for (const w of workers) {
    const served = resources.some((r) => r.kind === 'FunctionVersion' && r.metadata.function === w.fn && r.metadata.name === w.version && r.spec.models.some((m) => m.name === w.model));
    if (resources.length > 0 && !served) problems.push(`${w.where}: no FunctionVersion declares ${w.fn} ${w.version} ${w.model}`);
    for (const id of w.ids) {
      const bound = binds.find((b) => b.ids.includes(id));
      if (!bound) problems.push(`${w.where}: worker ${id} is never bound (llmux credentials --nats): routers with the control seed refuse it`);
      else if (bound.fn !== w.fn || (bound.version ?? w.version) !== w.version || (bound.model ?? w.model) !== w.model) problems.push(`${bound.where}: binds ${id} to ${bound.fn} ${bound.version} ${bound.model}, but it serves ${w.fn} ${w.version} ${w.model}`);
    }
  }

  // Every manifest is applied by the kustomization but the placeholder Secrets, which would overwrite the real ones.
  const kustomization = docs.find((d) => d.doc.kind === 'Kustomization');
  if (kustomization) {
    const listed = new Set<string>(kustomization.doc.resources);
    const secretFiles = new Set(docs.filter((d) => d.doc.kind === 'Secret').map((d) => d.file));
    for (const f of secretFiles) if (listed.has(f)) problems.push(`kustomization.yaml lists ${f}: applying its placeholders would overwrite the real Secrets`);
    for (const f of files) if (f !== kustomization.file && !secretFiles.has(f) && !listed.has(f)) problems.push(`kustomization.yaml does not list ${f}`);
    for (const f of listed) if (!files.includes(f)) problems.push(`kustomization.yaml lists ${f}, which does not exist`);
  }
  return problems;
}

// ---- systemd ----

interface Unit { file: string; entries: { section: string; key: string; value: string }[] }

function parseUnit(file: string, text: string): Unit {
  const entries: Unit['entries'] = [];
  let section = '';
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = pending + raw.trim();
    if (line.endsWith('\\')) { pending = `${line.slice(0, -1).trim()} `; continue; }
    pending = '';
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) { section = header[1] as string; continue; }
    const eq = line.indexOf('=');
    if (eq <= 0 || section === '') throw new Error(`${file}: cannot parse '${line}'`);
    entries.push({ section, key: line.slice(0, eq), value: line.slice(eq + 1) });
  }
  return { file, entries };
}

/** The directives these units may use; a typo is an unknown key. */
const directives: Record<string, Set<string>> = {
  Unit: new Set(['Description', 'Documentation', 'Wants', 'Requires', 'After', 'Before', 'PartOf', 'BindsTo']),
  Service: new Set(['Type', 'User', 'Group', 'EnvironmentFile', 'Environment', 'LoadCredential', 'ExecStart', 'ExecStartPre', 'KillSignal', 'TimeoutStopSec',
    'Restart', 'RestartSec', 'LimitNOFILE', 'NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables',
    'ProtectKernelModules', 'ProtectControlGroups', 'RestrictAddressFamilies', 'RestrictNamespaces', 'LockPersonality', 'CapabilityBoundingSet', 'UMask',
    'ReadWritePaths', 'StateDirectory']),
  Install: new Set(['WantedBy', 'RequiredBy', 'Alias']),
};
/** Specifiers, with what they become in the check. */
const specifiers: Record<string, string> = { i: 'gpu-1', l: 'host-1', d: '/run/credentials/unit', '%': '%' };

const envFileVars = (text: string): Map<string, string> => new Map(text.split('\n').map((l) => l.replace(/^#\s*/, '').trim())
  .filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]));

function checkUnits(units: readonly Unit[], envFiles: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const engines = units.filter((u) => !u.entries.some((e) => e.key === 'ExecStart' && /(^|\/)llmux\s/.test(e.value)));
  const roles = new Set<string>();
  for (const unit of units) {
    const get = (key: string) => unit.entries.filter((e) => e.key === key).map((e) => e.value);
    for (const e of unit.entries) {
      if (!directives[e.section]?.has(e.key)) problems.push(`${unit.file}: unknown directive ${e.key} in [${e.section}]`);
      for (const m of e.value.matchAll(/%(.)/g)) if (!(m[1] as string in specifiers)) problems.push(`${unit.file}: unknown specifier %${m[1]}`);
    }
    const expand = (s: string): string => s.replace(/%(.)/g, (_, c: string) => specifiers[c] ?? `%${c}`);
    const exec = get('ExecStart')[0];
    if (!exec) { problems.push(`${unit.file}: no ExecStart`); continue; }
    const argv = expand(exec).split(/\s+/).filter(Boolean);
    if (basename(argv[0] ?? '') !== 'llmux') continue;
    if (get('NoNewPrivileges')[0] !== 'yes') problems.push(`${unit.file}: NoNewPrivileges=yes is missing`);
    if (!['strict', 'full'].includes(get('ProtectSystem')[0] ?? '')) problems.push(`${unit.file}: ProtectSystem=strict (or full) is missing`);
    if (!get('User')[0] || get('User')[0] === 'root') problems.push(`${unit.file}: runs as root`);
    const env = new Map<string, string>();
    for (const assignment of get('Environment')) for (const part of assignment.split(/\s+/)) env.set(part.slice(0, part.indexOf('=')), expand(part.slice(part.indexOf('=') + 1)));
    for (const path of get('EnvironmentFile')) {
      const example = envFiles.get(`${basename(path.replace(/^-/, ''), '.env')}.env.example`);
      if (example === undefined) { problems.push(`${unit.file}: EnvironmentFile ${path} has no ${basename(path, '.env')}.env.example beside the unit`); continue; }
      for (const [k, v] of envFileVars(example)) env.set(k, v);
    }
    const credentials = new Set(get('LoadCredential').map((c) => c.split(':')[0]));
    for (const [k, v] of env) {
      const credential = /^\/run\/credentials\/unit\/(.+)$/.exec(v)?.[1];
      if (credential && !credentials.has(credential)) problems.push(`${unit.file}: ${k} names credential ${credential}, which no LoadCredential= loads`);
      if (secretEnvs.has(k) && !/^REPLACE_WITH_/.test(v)) problems.push(`${unit.file}: ${k} in its example environment file is not a REPLACE_WITH_ placeholder`);
    }
    const inv = checkInvocation(unit.file, argv.slice(1), new Set(env.keys()), problems);
    if (!inv) continue;
    roles.add(inv.command);
    if (inv.command === 'worker') {
      const port = portOf(String(inv.flags.get('--engine-url')));
      const engine = engines.find((u) => argAfter(u.entries.find((e) => e.key === 'ExecStart')?.value.split(/\s+/) ?? [], '--port') === String(port));
      if (!engine) problems.push(`${unit.file}: no engine unit listens on port ${port} of --engine-url`);
      const served = engine && argAfter(engine.entries.find((e) => e.key === 'ExecStart')?.value.split(/\s+/) ?? [], '--served-model-name');
      if (served !== undefined && served !== inv.flags.get('--model')) problems.push(`${unit.file}: --model ${inv.flags.get('--model')} but ${engine?.file} serves ${served}`);
    }
  }
  for (const role of ['gateway', 'router', 'limiter', 'worker']) if (!roles.has(role)) problems.push(`deploy/systemd: no unit runs llmux ${role}`);
  return problems;
}

function loadUnits(): { units: Unit[]; envFiles: Map<string, string> } {
  const files = readdirSync(unitDir);
  return {
    units: files.filter((f) => f.endsWith('.service')).sort().map((f) => parseUnit(f, readFileSync(join(unitDir, f), 'utf8'))),
    envFiles: new Map(files.filter((f) => f.endsWith('.env.example')).map((f) => [f, readFileSync(join(unitDir, f), 'utf8')])),
  };
}

const k8sFiles = (): string[] => readdirSync(k8sDir).filter((f) => f.endsWith('.yaml')).sort();

/** The `llmux …` commands a document shows: in shell blocks (continuations joined) and in inline code. */
function documentedCommands(file: string): { where: string; argv: string[] }[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: { where: string; argv: string[] }[] = [];
  const add = (line: number, command: string): void => {
    const words = command.replace(/\s(#|\||&&|>|2>).*$/, '').replace(/[[\]]/g, ' ').split(/\s+/).filter(Boolean);
    const at = words.indexOf('llmux');
    if (at >= 0 && !words[at + 1]?.startsWith('<') && !words.slice(at + 1).some((w) => w.includes('|'))) found.push({ where: `${file}:${line}`, argv: words.slice(at + 1) });
  };
  let block: string | undefined;
  let pending = '';
  text.split('\n').forEach((line, i) => {
    if (/^```/.test(line)) { block = block === undefined ? line.slice(3) : undefined; return; }
    if (block !== undefined) {
      if (!['sh', 'bash', ''].includes(block)) return;
      const joined = pending + line;
      if (joined.endsWith('\\')) { pending = `${joined.slice(0, -1)} `; return; }
      pending = '';
      for (const part of joined.split(/&&|;/)) if (/^\s*(sudo\s+)?(npx\s+)?llmux\s/.test(part)) add(i + 1, part);
      return;
    }
    for (const m of line.matchAll(/`(llmux [^`]+)`/g)) add(i + 1, m[1] as string);
  });
  return found;
}

// Each command's --help is one node process (about 0.15 s here): allow for a loaded machine.
describe('deploy/ examples', { timeout: 120_000 }, () => {
  it('deploy manifests - every llmux command deployment.md and architecture.md show exists, with those flags', () => {
    const problems: string[] = [];
    const shown = ['docs/deployment.md', 'docs/architecture.md'].flatMap(documentedCommands);
    expect(shown.length).toBeGreaterThan(10);
    for (const { where, argv } of shown) checkInvocation(where, argv, new Set(), problems, true);
    expect(problems).toEqual([]);
  });

  it('deploy manifests - every Kubernetes manifest parses and agrees with the CLI and with the others', () => {
    const docs = loadManifests(k8sDir);
    expect(docs.length).toBeGreaterThan(8);
    expect(checkManifests(docs, k8sFiles())).toEqual([]);
  });

  it('deploy manifests - every role runs: gateway and router Deployments, the one limiter, a worker beside each engine', () => {
    const docs = loadManifests(k8sDir);
    const pods = podsOf(docs);
    const role = (r: string) => pods.filter((p) => (p.spec.containers as Obj[]).some((c) => isLlmux(c) && c.args?.[0] === r));
    expect(role('gateway').map((p) => p.kind)).toEqual(['Deployment']);
    expect(role('router').map((p) => p.kind)).toEqual(['Deployment']);
    const limiter = docs.find((d) => d.doc.kind === 'Deployment' && d.doc.metadata.name === 'llmux-limiter')?.doc;
    expect(limiter?.spec.replicas).toBe(1);
    expect(limiter?.spec.strategy?.type).toBe('Recreate'); // never two limiters at once
    for (const pod of role('worker')) expect((pod.spec.containers as Obj[]).filter((c) => !isLlmux(c)).length).toBe(1);
    expect(role('worker').length).toBeGreaterThan(0);
  });

  it('deploy manifests - nothing under deploy/ holds a real seed or key', () => {
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
    for (const file of walk(join(root, 'deploy'))) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/\bS[UOAN][A-Z2-7]{56}\b/); // an nkey seed
      expect(text, file).not.toMatch(/\bsk-[A-Za-z0-9_-]{16,}/);
    }
  });

  it('deploy manifests - the NATS Helm values enable JetStream, a cluster and the llmux users', () => {
    const values = parseAllDocuments(readFileSync(join(root, 'deploy', 'nats', 'values.yaml'), 'utf8'))[0]?.toJS() as Obj;
    expect(values.config.jetstream.enabled).toBe(true);
    expect(values.config.cluster.enabled).toBe(true);
    expect(values.config.merge['00$include']).toBe('nats-auth.conf');
    const doc = readFileSync(join(root, 'docs', 'deployment.md'), 'utf8');
    expect(doc).toContain("--set-file 'configMap.merge.data.nats-auth\\.conf=./nats-identities/nats-auth.conf'");
    expect(doc).toContain('helm install nats nats/nats');
  });

  it('deploy manifests - every systemd unit parses and agrees with the CLI', () => {
    const { units, envFiles } = loadUnits();
    expect(units.length).toBeGreaterThanOrEqual(5);
    expect(checkUnits(units, envFiles)).toEqual([]);
  });

  it('deploy manifests - a broken manifest is caught: unknown flag, unknown env var, wrong port, missing Secret key, secret flag', () => {
    const broken = (edit: (docs: { file: string; doc: Obj }[]) => void): string[] => {
      const docs = loadManifests(k8sDir);
      edit(docs);
      return checkManifests(docs, k8sFiles());
    };
    const doc = (docs: { doc: Obj }[], kind: string, name: string): Obj => docs.find((d) => d.doc.kind === kind && d.doc.metadata.name === name)?.doc as Obj;
    const gateway = (docs: { doc: Obj }[]): Obj => doc(docs, 'Deployment', 'llmux-gateway').spec.template.spec.containers[0];
    expect(broken((d) => gateway(d).args.push('--max-conections', '5')).join('\n')).toMatch(/has no option --max-conections/);
    expect(broken((d) => gateway(d).env.push({ name: 'LLMUX_NATS_SEED', value: 'x' })).join('\n')).toMatch(/reads no environment variable LLMUX_NATS_SEED/);
    expect(broken((d) => { doc(d, 'Service', 'llmux-gateway').spec.ports[0].targetPort = 8081; }).join('\n')).toMatch(/targetPort 8081 is no port/);
    expect(broken((d) => { gateway(d).args[gateway(d).args.indexOf('--port') + 1] = '9090'; }).join('\n')).toMatch(/listens on 9090/);
    expect(broken((d) => { delete doc(d, 'Secret', 'llmux-keys').stringData['admin-key']; }).join('\n')).toMatch(/wants key admin-key of Secret llmux-keys/);
    expect(broken((d) => { delete doc(d, 'Secret', 'llmux-worker-seeds').stringData['vllm-llama-1.seed']; }).join('\n')).toMatch(/\/seeds\/vllm-llama-1.seed is not a key/);
    expect(broken((d) => { doc(d, 'StatefulSet', 'vllm-llama').spec.replicas = 3; }).join('\n')).toMatch(/worker vllm-llama-2 is never bound/);
    expect(broken((d) => gateway(d).args.push('--admin-key', 'x')).join('\n')).toMatch(/puts a secret on the command line/);
    expect(broken((d) => { doc(d, 'Secret', 'llmux-keys').stringData['admin-key'] = 'hunter2'; }).join('\n')).toMatch(/not a REPLACE_WITH_ placeholder/);
    expect(broken((d) => { d.find((x) => x.doc.kind === 'Kustomization')?.doc.resources.push('secrets.yaml'); }).join('\n')).toMatch(/would overwrite the real Secrets/);
  });

  // systemd's own parser, where this machine has it: it names unknown keys and bad values.
  const systemdAnalyze = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'systemd-analyze')).find((f) => existsSync(f));
  it.runIf(systemdAnalyze !== undefined)('deploy manifests - systemd-analyze verify finds nothing wrong in the units but their absent binaries', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmux-units-'));
    try {
      for (const file of readdirSync(unitDir).filter((f) => f.endsWith('.service'))) {
        const name = file.replace('@.service', '@gpu-1.service'); // a template is verified as an instance
        copyFileSync(join(unitDir, file), join(dir, name));
        const run = spawnSync(systemdAnalyze as string, ['verify', '--man=no', join(dir, name)], { encoding: 'utf8', timeout: 30_000 });
        const complaints = `${run.stdout}${run.stderr}`.split('\n').filter((l) => l.trim() !== '' && !/is not executable: No such file or directory/.test(l));
        expect(complaints, file).toEqual([]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deploy manifests - a broken unit is caught: unknown flag, unknown env var, missing hardening, a typo in a directive', () => {
    const { units, envFiles } = loadUnits();
    const edit = (file: string, change: (text: string) => string, env = envFiles): string =>
      checkUnits(units.map((u) => (u.file === file ? parseUnit(file, change(readFileSync(join(unitDir, file), 'utf8'))) : u)), env).join('\n');
    expect(edit('llmux-router.service', (t) => t.replace('--require-worker-binding', '--require-binding'))).toMatch(/has no option --require-binding/);
    expect(edit('llmux-limiter.service', (t) => t.replace('NoNewPrivileges=yes\n', ''))).toMatch(/NoNewPrivileges=yes is missing/);
    expect(edit('llmux-limiter.service', (t) => t.replace('ProtectSystem=strict', 'ProtectSytem=strict'))).toMatch(/unknown directive ProtectSytem/);
    expect(edit('llmux-worker@.service', (t) => t.replaceAll('127.0.0.1:8000', '127.0.0.1:8001'))).toMatch(/no engine unit listens on port 8001/);
    expect(edit('llmux-gateway.service', (t) => t, new Map([...envFiles, ['gateway.env.example', `${envFiles.get('gateway.env.example')}\nLLMUX_PORT=8080\n`]])))
      .toMatch(/reads no environment variable LLMUX_PORT/);
    expect(existsSync(join(unitDir, 'gateway.env.example'))).toBe(true);
  });
});
