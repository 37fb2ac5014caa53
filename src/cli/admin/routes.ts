/** `llmux routes …` and `llmux backends …`: providers and engines reached from the gateway, and the routes to them. */
import type { Backend, Route } from '../../control/route.schema.js';
import { type AdminFlags, AdminClient, enc } from './admin-client.js';
import { printJson, printTable } from './output.js';

export async function backendsList(flags: AdminFlags): Promise<void> {
  const { backends } = await new AdminClient(flags).call<{ backends: Backend[] }>('GET', '/admin/api/backends');
  if (flags.json) return printJson(backends);
  printTable(['backend', 'engine', 'url', 'model', 'key', 'options'],
    backends.map((b) => [b.name, b.engine, b.url, b.model ?? '(as asked)', b.apiKey ? 'set' : '-', b.options ? JSON.stringify(b.options) : '-']), 'no backends');
}

export async function backendsSet(name: string, flags: AdminFlags & { engine: string; backendUrl: string; apiKeyEnv?: string; model?: string; option?: Record<string, string> }): Promise<void> {
  let apiKey: string | undefined;
  if (flags.apiKeyEnv) {
    apiKey = process.env[flags.apiKeyEnv];
    if (!apiKey) throw new Error(`--api-key-env ${flags.apiKeyEnv}: that environment variable is not set`);
  }
  const backend = await new AdminClient(flags).call<Backend>('PUT', `/admin/api/backends/${enc(name)}`, {
    engine: flags.engine, url: flags.backendUrl, ...(apiKey ? { apiKey } : {}), ...(flags.model ? { model: flags.model } : {}), ...(flags.option ? { options: flags.option } : {}),
  });
  if (flags.json) return printJson(backend);
  process.stdout.write(`backend '${name}' set: ${backend.engine} at ${backend.url}\n`);
}

export async function backendsDelete(name: string, flags: AdminFlags): Promise<void> {
  await new AdminClient(flags).call('DELETE', `/admin/api/backends/${enc(name)}`);
  if (flags.json) return printJson({ deleted: name });
  process.stdout.write(`backend '${name}' deleted\n`);
}

export async function routesList(flags: AdminFlags): Promise<void> {
  const { routes } = await new AdminClient(flags).call<{ routes: Route[] }>('GET', '/admin/api/routes');
  if (flags.json) return printJson(routes);
  printTable(['route', 'models', 'paths', 'backends (weight, owned_by)', 'retry on', 'attempts', 'backoff ms'], routes.map((r) => [
    r.name, r.match.models.join(', '), r.match.paths?.join(', ') ?? 'all',
    r.backends.map((b) => `${b.backend} (${b.weight}${b.ownedBy ? `, ${b.ownedBy}` : ''})`).join(' → '),
    r.retry.retryOn.join(', '), r.retry.attempts, r.retry.backoffMs,
  ]), 'no routes');
}

/** `--backend a:3` or `--backend a:3:team-a` (name, weight, owned_by). */
function parseBackend(spec: string): { backend: string; weight: number; ownedBy?: string } {
  const [backend, weight, ownedBy] = spec.split(':');
  if (!backend) throw new Error(`--backend '${spec}': write name[:weight[:owned_by]]`);
  const w = weight === undefined || weight === '' ? 1 : Number(weight);
  if (!Number.isInteger(w) || w < 0) throw new Error(`--backend '${spec}': the weight must be an integer >= 0`);
  return { backend, weight: w, ...(ownedBy ? { ownedBy } : {}) };
}

export async function routesSet(name: string, flags: AdminFlags & { model: string[]; backend: string[]; path?: string[]; retryOn?: string; attempts?: number; backoffMs?: number; contextLength?: number; tokenizer?: string }): Promise<void> {
  const route = await new AdminClient(flags).call<Route>('PUT', `/admin/api/routes/${enc(name)}`, {
    match: { models: flags.model, ...(flags.path ? { paths: flags.path } : {}) },
    backends: flags.backend.map(parseBackend),
    ...(flags.contextLength !== undefined ? { contextLength: flags.contextLength } : {}), ...(flags.tokenizer !== undefined ? { tokenizer: flags.tokenizer } : {}),
    retry: {
      ...(flags.retryOn !== undefined ? { retryOn: flags.retryOn.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      ...(flags.attempts !== undefined ? { attempts: flags.attempts } : {}), ...(flags.backoffMs !== undefined ? { backoffMs: flags.backoffMs } : {}),
    },
  });
  if (flags.json) return printJson(route);
  process.stdout.write(`route '${name}' set: ${route.match.models.join(', ')} → ${route.backends.map((b) => b.backend).join(' → ')}\n`);
}

export async function routesDelete(name: string, flags: AdminFlags): Promise<void> {
  await new AdminClient(flags).call('DELETE', `/admin/api/routes/${enc(name)}`);
  if (flags.json) return printJson({ deleted: name });
  process.stdout.write(`route '${name}' deleted\n`);
}
