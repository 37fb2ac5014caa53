/**
 * `llmux apply -f FILE` (and `llmux up --config FILE`): declared resources, Kubernetes style, made
 * true through the admin API. Applying the same file twice changes nothing the second time.
 *
 *   apiVersion: llmux/v1
 *   kind: Function | FunctionVersion | Tenant | ApiKey | Backend | Route
 *   metadata: { name: ..., function: ... }   # function: for FunctionVersion
 *   spec: ...
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import type { VersionRecord } from '../../control/function.schema.js';
import { type AdminFlags, AdminClient, enc } from './admin-client.js';

const meta = z.object({ name: z.string().min(1) }).strict();
const resourceSchema = z.discriminatedUnion('kind', [
  z.object({ apiVersion: z.literal('llmux/v1'), kind: z.literal('Function'), metadata: meta, spec: z.object({ displayName: z.string().optional() }).strict().default({}) }).strict(),
  z.object({
    apiVersion: z.literal('llmux/v1'), kind: z.literal('FunctionVersion'),
    metadata: z.object({ name: z.string().min(1), function: z.string().min(1) }).strict(),
    spec: z.object({
      models: z.array(z.object({ name: z.string().min(1), llmConfig: z.record(z.string(), z.unknown()).default({}) }).strict()).min(1),
      deployment: z.object({ cluster: z.string().optional(), replicas: z.number().optional(), labels: z.record(z.string(), z.string()).optional() }).strict().optional(),
    }).strict(),
  }).strict(),
  z.object({ apiVersion: z.literal('llmux/v1'), kind: z.literal('Tenant'), metadata: meta,
    spec: z.object({ tokenRateLimit: z.string().optional(), requestRateLimit: z.string().optional() }).strict().default({}) }).strict(),
  z.object({ apiVersion: z.literal('llmux/v1'), kind: z.literal('Backend'), metadata: meta,
    spec: z.object({
      engine: z.string(), url: z.string(), model: z.string().optional(), options: z.record(z.string(), z.string()).optional(),
      /** The provider key is read from this environment variable when applying; files never hold secrets. */
      apiKeyFromEnv: z.string().optional(),
    }).strict() }).strict(),
  z.object({ apiVersion: z.literal('llmux/v1'), kind: z.literal('Route'), metadata: meta, spec: z.record(z.string(), z.unknown()) }).strict(),
  z.object({ apiVersion: z.literal('llmux/v1'), kind: z.literal('ApiKey'), metadata: meta,
    spec: z.object({ tenant: z.string(), functions: z.array(z.string()).optional(), tokenRateLimit: z.string().optional(), requestRateLimit: z.string().optional() }).strict() }).strict(),
]);
export type Resource = z.infer<typeof resourceSchema>;

/** Parses a multi-document YAML file; an error names the document and the field. */
export function parseResources(text: string, source: string): Resource[] {
  return parseAllDocuments(text).flatMap((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${source}, document ${i + 1}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return [];
    const parsed = resourceSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${source}, document ${i + 1}: ${issue?.path.join('.') || 'resource'}: ${issue?.message}`);
    }
    return [parsed.data];
  });
}

/** JSON with object keys sorted: equal values compare equal whatever the key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
    : v));
}

async function exists(client: AdminClient, path: string): Promise<boolean> {
  return client.call('GET', path).then(() => true, (error: Error) => {
    if (error.message.startsWith('404')) return false;
    throw error;
  });
}

/** Makes one resource true; returns what was done. */
async function applyOne(client: AdminClient, r: Resource): Promise<string> {
  switch (r.kind) {
    case 'Function': {
      if (await exists(client, `/admin/api/functions/${enc(r.metadata.name)}`)) return `function/${r.metadata.name} unchanged`;
      await client.call('POST', '/admin/api/functions', { id: r.metadata.name, ...(r.spec.displayName ? { name: r.spec.displayName } : {}) });
      return `function/${r.metadata.name} created`;
    }
    case 'FunctionVersion': {
      const fn = enc(r.metadata.function);
      const base = `/admin/api/functions/${fn}/versions/${enc(r.metadata.name)}`;
      const done: string[] = [];
      let current: VersionRecord | undefined = await client.call<VersionRecord>('GET', base).catch((error: Error) => {
        if (error.message.startsWith('404')) return undefined;
        throw error;
      });
      if (!current) {
        current = await client.call<VersionRecord>('POST', `/admin/api/functions/${fn}/versions`, { versionId: r.metadata.name, models: r.spec.models });
        done.push('created');
      } else {
        for (const m of r.spec.models) {
          const have = current.models.find((x) => x.name === m.name);
          if (!have) throw new Error(`version ${r.metadata.function}/${r.metadata.name} exists without model '${m.name}'; models of a version are fixed: declare a new version`);
          if (canonical(have.llmConfig) === canonical(m.llmConfig)) continue;
          // Fields the file no longer declares are removed (null), so the model's config is exactly the file's.
          const patch: Record<string, unknown> = Object.fromEntries(Object.keys(have.llmConfig).map((k) => [k, null]));
          await client.call('PATCH', `${base}/models/${enc(m.name)}`, { ...patch, ...m.llmConfig });
          done.push(`model ${m.name} configured`);
        }
      }
      const wantDeployed = r.spec.deployment !== undefined;
      const { deployedAt: _at, ...deployedAs } = current.deployment ?? { deployedAt: '' };
      if (wantDeployed && (!current.deployment || canonical(deployedAs) !== canonical(r.spec.deployment))) {
        await client.call('POST', `${base}/deploy`, r.spec.deployment);
        done.push('deployed');
      } else if (!wantDeployed && current.deployment) {
        await client.call('POST', `${base}/undeploy`);
        done.push('undeployed');
      }
      return `functionversion/${r.metadata.function}/${r.metadata.name} ${done.length ? done.join(', ') : 'unchanged'}`;
    }
    case 'Tenant':
      await client.call('PUT', `/admin/api/tenants/${enc(r.metadata.name)}`, r.spec);
      return `tenant/${r.metadata.name} configured`;
    case 'Backend': {
      const { apiKeyFromEnv, ...spec } = r.spec;
      const apiKey = apiKeyFromEnv ? process.env[apiKeyFromEnv] : undefined;
      if (apiKeyFromEnv && !apiKey) throw new Error(`backend/${r.metadata.name}: environment variable ${apiKeyFromEnv} (apiKeyFromEnv) is not set`);
      await client.call('PUT', `/admin/api/backends/${enc(r.metadata.name)}`, { ...spec, ...(apiKey ? { apiKey } : {}) });
      return `backend/${r.metadata.name} configured`;
    }
    case 'Route':
      await client.call('PUT', `/admin/api/routes/${enc(r.metadata.name)}`, r.spec);
      return `route/${r.metadata.name} configured`;
    case 'ApiKey': {
      const { keys } = await client.call<{ keys: Array<{ name?: string; tenant: string; keyId: string }> }>('GET', '/admin/api/keys');
      const have = keys.find((k) => k.name === r.metadata.name && k.tenant === r.spec.tenant);
      if (have) return `apikey/${r.metadata.name} unchanged (${have.keyId}; a key's secret cannot be re-issued, revoke it to replace it)`;
      const key = await client.call<{ keyId: string; key: string }>('POST', '/admin/api/keys', { name: r.metadata.name, ...r.spec });
      return `apikey/${r.metadata.name} created (${key.keyId}): ${key.key}  <- shown this once`;
    }
  }
}

export async function applyResources(client: AdminClient, resources: readonly Resource[], say: (line: string) => void): Promise<void> {
  // Functions before their versions, whatever the file's order.
  const order: Record<Resource['kind'], number> = { Function: 0, Tenant: 1, FunctionVersion: 2, Backend: 3, Route: 4, ApiKey: 5 };
  for (const r of [...resources].sort((a, b) => order[a.kind] - order[b.kind])) say(await applyOne(client, r));
}

export function readResources(file: string): Resource[] {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  return parseResources(text, file);
}

export async function apply(flags: AdminFlags & { file: string }): Promise<void> {
  await applyResources(new AdminClient(flags), readResources(flags.file), (line) => process.stdout.write(`${line}\n`));
}
