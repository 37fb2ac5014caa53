/** `llmux functions …` and `llmux functions versions …`: the function lifecycle through the admin API. */
import { defaultRoutingMethod, type VersionRecord } from '../../control/function.schema.js';
import { type AdminFlags, AdminClient, enc } from './admin-client.js';
import { printJson, printRecord, printTable } from './output.js';

interface FunctionView { id: string; name: string; functionType: string; createdAt: string; versions: string[] | VersionRecord[] }

/** llmConfig fields from flags (`--routing-method` and friends), plus `--set key=json` for any other. */
export interface ModelConfigFlags {
  routingMethod?: string;
  tokenizer?: string;
  tokenRateLimit?: string;
  requestRateLimit?: string;
  contextLength?: number;
  set?: Record<string, string>;
}

export function llmConfigFrom(flags: ModelConfigFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (flags.routingMethod !== undefined) out.routingMethod = flags.routingMethod;
  if (flags.tokenizer !== undefined) out.tokenizer = flags.tokenizer;
  if (flags.tokenRateLimit !== undefined) out.tokenRateLimit = flags.tokenRateLimit;
  if (flags.requestRateLimit !== undefined) out.requestRateLimit = flags.requestRateLimit;
  if (flags.contextLength !== undefined) out.contextLength = flags.contextLength;
  for (const [k, v] of Object.entries(flags.set ?? {})) {
    try {
      out[k] = JSON.parse(v) as unknown;
    } catch {
      out[k] = v; // a bare string
    }
  }
  return out;
}

const deploymentText = (v: VersionRecord): string =>
  v.deployment ? `yes${v.deployment.cluster ? ` (cluster ${v.deployment.cluster})` : ''}${v.deployment.replicas !== undefined ? `, ${v.deployment.replicas} wanted` : ''}` : 'no';

export async function list(flags: AdminFlags): Promise<void> {
  const { functions } = await new AdminClient(flags).call<{ functions: FunctionView[] }>('GET', '/admin/api/functions');
  if (flags.json) return printJson(functions);
  printTable(['id', 'name', 'versions', 'created'], functions.map((f) => [f.id, f.name, (f.versions as string[]).join(', '), f.createdAt]), 'no functions yet: llmux functions create <id>');
}

export async function create(id: string, flags: AdminFlags & { name?: string }): Promise<void> {
  const fn = await new AdminClient(flags).call<FunctionView>('POST', '/admin/api/functions', { id, ...(flags.name ? { name: flags.name } : {}) });
  if (flags.json) return printJson(fn);
  process.stdout.write(`created function '${fn.id}'. Next: llmux functions versions create ${fn.id} v1 --model <model-name>\n`);
}

export async function get(id: string, flags: AdminFlags): Promise<void> {
  const fn = await new AdminClient(flags).call<FunctionView & { versions: VersionRecord[] }>('GET', `/admin/api/functions/${enc(id)}`);
  if (flags.json) return printJson(fn);
  printRecord({ id: fn.id, name: fn.name, type: fn.functionType, created: fn.createdAt });
  process.stdout.write('\n');
  printVersions(fn.versions);
}

function printVersions(versions: VersionRecord[]): void {
  printTable(['version', 'models', 'routing', 'token limit', 'deployed', 'created'], versions.map((v) => [
    v.versionId, v.models.map((m) => m.name).join(', '), v.models.map((m) => m.llmConfig.routingMethod ?? defaultRoutingMethod).join(', '),
    v.models.map((m) => m.llmConfig.tokenRateLimit ?? '-').join(', '), deploymentText(v), v.createdAt,
  ]), 'no versions yet');
}

export async function remove(id: string, flags: AdminFlags): Promise<void> {
  await new AdminClient(flags).call('DELETE', `/admin/api/functions/${enc(id)}`);
  if (flags.json) return printJson({ deleted: id });
  process.stdout.write(`deleted function '${id}' and its versions\n`);
}

export async function versionsList(fn: string, flags: AdminFlags): Promise<void> {
  const { versions } = await new AdminClient(flags).call<{ versions: VersionRecord[] }>('GET', `/admin/api/functions/${enc(fn)}/versions`);
  if (flags.json) return printJson(versions);
  printVersions(versions);
}

export async function versionsCreate(fn: string, version: string, flags: AdminFlags & ModelConfigFlags & { model: string[] }): Promise<void> {
  const llmConfig = llmConfigFrom(flags);
  const record = await new AdminClient(flags).call<VersionRecord>('POST', `/admin/api/functions/${enc(fn)}/versions`, {
    versionId: version, models: flags.model.map((name) => ({ name, llmConfig })),
  });
  if (flags.json) return printJson(record);
  process.stdout.write(`created version '${version}' of '${fn}' with ${record.models.map((m) => `'${m.name}'`).join(', ')}; clients call ${record.models.map((m) => `'${fn}/${m.name}'`).join(', ')}\n`);
}

export async function versionsGet(fn: string, version: string, flags: AdminFlags): Promise<void> {
  const record = await new AdminClient(flags).call<VersionRecord>('GET', `/admin/api/functions/${enc(fn)}/versions/${enc(version)}`);
  if (flags.json) return printJson(record);
  printVersions([record]);
  for (const m of record.models) process.stdout.write(`\n${m.name}: ${JSON.stringify(m.llmConfig)}\n`);
}

export async function updateModel(fn: string, version: string, model: string, flags: AdminFlags & ModelConfigFlags): Promise<void> {
  const patch = llmConfigFrom(flags);
  if (Object.keys(patch).length === 0) throw new Error('nothing to change: give --routing-method, --token-rate-limit, --request-rate-limit, --tokenizer, --context-length or --set key=value');
  const record = await new AdminClient(flags).call<VersionRecord>('PATCH', `/admin/api/functions/${enc(fn)}/versions/${enc(version)}/models/${enc(model)}`, patch);
  if (flags.json) return printJson(record);
  const m = record.models.find((x) => x.name === model);
  process.stdout.write(`updated '${fn}/${model}' (version ${version}); applies at once in every gateway and router:\n${JSON.stringify(m?.llmConfig, null, 2)}\n`);
}

export async function deploy(fn: string, version: string, flags: AdminFlags & { cluster?: string; replicas?: number; label?: Record<string, string> }): Promise<void> {
  const record = await new AdminClient(flags).call<VersionRecord>('POST', `/admin/api/functions/${enc(fn)}/versions/${enc(version)}/deploy`, {
    ...(flags.cluster ? { cluster: flags.cluster } : {}), ...(flags.replicas !== undefined ? { replicas: flags.replicas } : {}), ...(flags.label ? { labels: flags.label } : {}),
  });
  if (flags.json) return printJson(record);
  process.stdout.write(`deployed version '${version}' of '${fn}': ${deploymentText(record)}. Check: llmux functions status ${fn} ${version}\n`);
}

export async function undeploy(fn: string, version: string, flags: AdminFlags): Promise<void> {
  const record = await new AdminClient(flags).call<VersionRecord>('POST', `/admin/api/functions/${enc(fn)}/versions/${enc(version)}/undeploy`);
  if (flags.json) return printJson(record);
  process.stdout.write(`undeployed version '${version}' of '${fn}'\n`);
}

interface StatusView {
  deployed: boolean;
  workers: { registered: number; healthy: number; draining: number; wanted: number | null };
  list: Array<{ workerId: string; model: string; cluster: string; state: string; healthy: boolean; breaker: string; inFlight: number }>;
}

export async function status(fn: string, version: string, flags: AdminFlags): Promise<void> {
  const s = await new AdminClient(flags).call<StatusView>('GET', `/admin/api/functions/${enc(fn)}/versions/${enc(version)}/status`);
  if (flags.json) return printJson(s);
  const w = s.workers;
  process.stdout.write(`${fn} ${version}: ${s.deployed ? 'deployed' : 'not deployed'}; ${w.registered} worker(s) registered${w.wanted !== null ? ` of ${w.wanted} wanted` : ''}, ${w.healthy} healthy, ${w.draining} draining\n`);
  printTable(['worker', 'model', 'cluster', 'state', 'healthy', 'circuit', 'in flight'],
    s.list.map((x) => [x.workerId, x.model, x.cluster, x.state, x.healthy, x.breaker, x.inFlight]), 'no workers registered for this version');
}
