/** `llmux workers list` and `llmux keys create|list|revoke`. */
import type { ApiKeyRecord } from '../../policy/api-key-store.js';
import type { WorkerView } from '../../actors/router/router.protocol.js';
import { type AdminFlags, AdminClient, enc } from './admin-client.js';
import { printJson, printTable } from './output.js';

export async function workersList(flags: AdminFlags): Promise<void> {
  const body = await new AdminClient(flags).call<{ routers: string[]; workers: WorkerView[] }>('GET', '/admin/api/workers');
  if (flags.json) return printJson(body);
  printTable(['worker', 'function/version', 'model', 'engine', 'cluster', 'state', 'healthy', 'circuit', 'in flight', 'capacity', 'engine queue', 'kv cache', 'last seen'],
    body.workers.map((w) => [
      w.descriptor.workerId, `${w.descriptor.functionId}/${w.descriptor.versionId}`, w.descriptor.model, w.descriptor.engineKind, w.descriptor.cluster,
      w.load.state, w.load.healthy, w.breaker, w.inFlight, w.descriptor.capacity, w.load.engine?.waiting,
      w.load.engine?.kvCacheUsage !== undefined ? `${Math.round(w.load.engine.kvCacheUsage * 100)}%` : undefined, `${w.lastSeenMsAgo} ms ago`,
    ]), 'no workers registered');
  process.stdout.write(`${body.routers.length} router(s) answered: ${body.routers.join(', ')}\n`);
}

export async function keysCreate(flags: AdminFlags & { tenant: string; functions?: string; name?: string; tokenRateLimit?: string; requestRateLimit?: string }): Promise<void> {
  const key = await new AdminClient(flags).call<ApiKeyRecord & { key: string }>('POST', '/admin/api/keys', {
    tenant: flags.tenant,
    ...(flags.functions ? { functions: flags.functions.split(',').map((f) => f.trim()) } : {}),
    ...(flags.name ? { name: flags.name } : {}),
    ...(flags.tokenRateLimit ? { tokenRateLimit: flags.tokenRateLimit } : {}),
    ...(flags.requestRateLimit ? { requestRateLimit: flags.requestRateLimit } : {}),
  });
  if (flags.json) return printJson(key);
  process.stdout.write(`created ${key.keyId} for tenant '${key.tenant}' (functions: ${key.functions.join(', ')}).\n` +
    `The key, shown this once (llmux stores only its hash):\n${key.key}\n`);
}

export async function keysList(flags: AdminFlags): Promise<void> {
  const { keys } = await new AdminClient(flags).call<{ keys: ApiKeyRecord[] }>('GET', '/admin/api/keys');
  if (flags.json) return printJson(keys);
  printTable(['key id', 'tenant', 'functions', 'name', 'token limit', 'request limit', 'created'],
    keys.map((k) => [k.keyId, k.tenant, k.functions.join(', '), k.name, k.tokenRateLimit, k.requestRateLimit, k.createdAt]), 'no API keys');
}

export async function keysRevoke(keyId: string, flags: AdminFlags): Promise<void> {
  await new AdminClient(flags).call('DELETE', `/admin/api/keys/${enc(keyId)}`);
  if (flags.json) return printJson({ revoked: keyId });
  process.stdout.write(`revoked ${keyId}; every gateway refuses it from now on\n`);
}
