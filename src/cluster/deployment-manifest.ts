/**
 * `deployment.json`: what `llmux cluster init` wrote, for people and for the test launcher
 * (src/transport/nats/supercluster.ts). It holds no secret, only paths relative to the deployment
 * directory, and is checked when read like any file llmux did not just make.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseDeploymentSpec } from './deployment-spec.js';
import { type DeploymentPlan, planDeployment } from './deployment-plan.js';

const relativePath = z.string().min(1).refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path inside the deployment');

const identityFiles = z.object({ seed: relativePath, cert: relativePath, key: relativePath }).strict();

const manifestSchema = z.object({
  version: z.literal(1),
  withoutSecrets: z.boolean(),
  spec: z.object({
    clusters: z.array(z.string()).min(1),
    serversPerCluster: z.number().int(),
    workersPerCluster: z.number().int(),
    leaf: z.object({ name: z.string(), hub: z.string() }).strict().optional(),
    basePort: z.number().int(),
  }).strict(),
  ca: relativePath,
  servers: z.array(z.object({ name: z.string(), dir: relativePath }).strict()),
  sites: z.array(z.object({
    name: z.string(),
    caFile: relativePath,
    control: identityFiles,
    workers: z.array(identityFiles.extend({ workerId: z.string() }).strict()),
  }).strict()),
}).strict();

export type DeploymentManifest = z.infer<typeof manifestSchema>;
export type IdentityFiles = z.infer<typeof identityFiles>;

export const manifestFileName = 'deployment.json';

/** The files a server reads, by their name inside its directory. */
export const serverFileNames = { config: 'nats-server.conf', ca: 'ca.crt', cert: 'server.crt', key: 'server.key', auth: 'auth.conf', store: 'jetstream' } as const;

export class DeploymentManifestError extends Error {
  override readonly name = 'DeploymentManifestError';
  readonly code = 'deployment_invalid_manifest';
}

export interface LoadedDeployment {
  dir: string;
  manifest: DeploymentManifest;
  plan: DeploymentPlan;
  /** An absolute path for a path of the manifest. */
  path(relative: string): string;
}

export function loadDeployment(dir: string): LoadedDeployment {
  const root = resolve(dir);
  const file = join(root, manifestFileName);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DeploymentManifestError(`cannot read ${file}: ${(error as Error).message} (is ${root} a directory made by \`llmux cluster init\`?)`, { cause: error });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new DeploymentManifestError(`${file} is not a deployment manifest: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const manifest = parsed.data;
  const { leaf, ...rest } = manifest.spec;
  const plan = planDeployment(parseDeploymentSpec({ ...rest, ...(leaf ? { leaf: `${leaf.name}@${leaf.hub}` } : {}) }));
  const planned = plan.servers.map((s) => s.name).join(',');
  if (manifest.servers.map((s) => s.name).join(',') !== planned) throw new DeploymentManifestError(`${file} lists servers that its spec does not make (expected ${planned})`);
  return { dir: root, manifest, plan, path: (relative) => join(root, relative) };
}
