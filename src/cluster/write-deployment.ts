/**
 * Writes a deployment (`llmux cluster init`): the CA, per server a directory with everything that
 * server reads, per site the identities its processes connect with, `deployment.json` and a README.
 *
 *   ca/                   ca.crt, ca.key (keep the key offline once done)
 *   servers/<server>/     nats-server.conf, ca.crt, server.crt, server.key, auth.conf (jetstream/ at run time)
 *   identities/<site>/    ca.crt, control.{seed,crt,key}, <worker>.{seed,crt,key}
 *
 * Paths inside a server's config are relative: start nats-server from the server's directory, on
 * whichever host it goes to. With `withoutSecrets` no private key, seed or link password is written
 * (for an example to read, not to run).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { deploymentReadme } from './deployment-readme.js';
import { type DeploymentManifest, type IdentityFiles, manifestFileName, serverFileNames } from './deployment-manifest.js';
import { type DeploymentPlan, planDeployment, workerIds } from './deployment-plan.js';
import type { DeploymentSpec } from './deployment-spec.js';
import { type KeyAlgorithm, type KeyPair, caFileNames, issueCertificate, makeCa } from './pki.js';
import { type SubjectAltName, defaultSans } from './pki-names.js';
import { ensureEmptyPrivateDir, ensurePrivateDir, writePrivateFile, writePublicFile } from './private-dir.js';
import { type LinkSecrets, renderServerConfig } from './server-config.js';
import { makeSiteIdentities, siteUsers } from './site-identities.js';

export interface WriteDeploymentOptions {
  /** Extra SANs for the server certificates (127.0.0.1 and localhost are always there). */
  serverSans?: readonly SubjectAltName[];
  key?: KeyAlgorithm;
  withoutSecrets?: boolean;
  log?: (line: string) => void;
}

/** A link password: 32 random bytes, base64url. */
export const newLinkSecret = (): string => randomBytes(32).toString('base64url');

/** Stands in for the link passwords of an example written without secrets. */
const examplePassword = 'example-only-not-a-secret';

export async function writeDeployment(out: string, spec: DeploymentSpec, options: WriteDeploymentOptions = {}): Promise<{ dir: string; manifest: DeploymentManifest; plan: DeploymentPlan }> {
  const log = options.log ?? (() => undefined);
  const secret = !options.withoutSecrets;
  const key = options.key ?? 'ec-p256';
  const dir = ensureEmptyPrivateDir(out);
  const plan = planDeployment(spec);
  const sub = (...parts: string[]): string => ensurePrivateDir(join(dir, ...parts));
  const writeKey = (path: string, pem: string): void => {
    if (secret) writePrivateFile(path, pem);
  };

  const ca = await makeCa({ commonName: `llmux CA ${spec.clusters.join(' ')}`.slice(0, 64), key });
  writePublicFile(join(sub('ca'), caFileNames.cert), ca.certPem);
  writeKey(join(dir, 'ca', caFileNames.key), ca.keyPem);
  log(`CA           ca/${caFileNames.cert}${secret ? ` and ca/${caFileNames.key} (owner-only)` : ' (its key was not kept: --without-secrets)'}`);

  const sites: DeploymentManifest['sites'] = [];
  const authBySite = new Map<string, string>();
  for (const site of plan.sites) {
    const ids = makeSiteIdentities(site, workerIds(spec, site));
    authBySite.set(site, siteUsers(ids));
    const siteDir = sub('identities', site);
    writePublicFile(join(siteDir, caFileNames.cert), ca.certPem);
    const writeIdentity = async (name: string, seed: string): Promise<IdentityFiles> => {
      const pair = await issueCertificate(ca, { name, usage: 'client', sans: defaultSans, key });
      if (secret) writePrivateFile(join(siteDir, `${name}.seed`), `${seed}\n`);
      writeKey(join(siteDir, `${name}.key`), pair.keyPem);
      writePublicFile(join(siteDir, `${name}.crt`), pair.certPem);
      const rel = `identities/${site}/${name}`;
      return { seed: `${rel}.seed`, cert: `${rel}.crt`, key: `${rel}.key` };
    };
    const control = await writeIdentity('control', ids.control.seed);
    const workers = [];
    for (const w of ids.workers) workers.push({ workerId: w.workerId, ...(await writeIdentity(w.workerId, w.identity.seed)) });
    sites.push({ name: site, caFile: `identities/${site}/${caFileNames.cert}`, control, workers });
    log(`identities   identities/${site}/: control${workers.length ? ` and ${workers.map((w) => w.workerId).join(', ')}` : ''} (nkey seed, client certificate)`);
  }

  const secrets: LinkSecrets = secret ? { core: newLinkSecret(), leaf: newLinkSecret() } : { core: examplePassword, leaf: examplePassword };
  const servers: DeploymentManifest['servers'] = [];
  for (const server of plan.servers) {
    const serverDir = sub('servers', server.name);
    const sans = [...defaultSans, ...(options.serverSans ?? []).filter((s) => !defaultSans.some((d) => d.kind === s.kind && d.value === s.value))];
    const pair: KeyPair = await issueCertificate(ca, { name: server.name, usage: 'server', sans, key });
    writePublicFile(join(serverDir, serverFileNames.ca), ca.certPem);
    writePublicFile(join(serverDir, serverFileNames.cert), pair.certPem);
    writeKey(join(serverDir, serverFileNames.key), pair.keyPem);
    writePublicFile(join(serverDir, serverFileNames.auth), authBySite.get(server.site) ?? '');
    const config = renderServerConfig(plan, server, {
      caFile: serverFileNames.ca, certFile: serverFileNames.cert, keyFile: serverFileNames.key, authFile: serverFileNames.auth, storeDir: serverFileNames.store,
    }, secrets);
    (secret ? writePrivateFile : writePublicFile)(join(serverDir, serverFileNames.config), config);
    servers.push({ name: server.name, dir: `servers/${server.name}` });
    const p = server.ports;
    log(`server       servers/${server.name}/: client ${p.client}, monitor ${p.monitor}${p.cluster ? `, routes ${p.cluster}, gateway ${p.gateway}` : ''}${p.leafnode ? `, leaf nodes ${p.leafnode}` : ''}`);
  }

  const { leaf, ...rest } = spec;
  const manifest: DeploymentManifest = {
    version: 1, withoutSecrets: !secret,
    spec: { clusters: rest.clusters, serversPerCluster: rest.serversPerCluster, workersPerCluster: rest.workersPerCluster, basePort: rest.basePort, ...(leaf ? { leaf } : {}) },
    ca: `ca/${caFileNames.cert}`, servers, sites,
  };
  writePublicFile(join(dir, manifestFileName), `${JSON.stringify(manifest, null, 2)}\n`);
  writePublicFile(join(dir, 'README.md'), deploymentReadme(plan, manifest));
  log(`README       README.md: what to start where`);
  return { dir, manifest, plan };
}
