/**
 * `llmux cluster init`: a ready multi-cluster deployment in one directory — nats-server configs for a
 * supercluster (gateways, optionally a leaf node), JetStream, the PKI, NATS identities per site and a
 * README of what to start where (src/cluster/write-deployment.ts).
 */
import { parseDeploymentSpec } from '../../cluster/deployment-spec.js';
import { opensslBinary } from '../../cluster/openssl.js';
import type { KeyAlgorithm } from '../../cluster/pki.js';
import { parseSans } from '../../cluster/pki-names.js';
import { writeDeployment } from '../../cluster/write-deployment.js';

export interface ClusterInitOptions {
  clusters: string;
  out: string;
  serversPerCluster?: number;
  workersPerCluster?: number;
  leaf?: string;
  basePort?: number;
  san?: string;
  key?: KeyAlgorithm;
  withoutSecrets?: boolean;
}

export async function clusterInit(opts: ClusterInitOptions): Promise<void> {
  const spec = parseDeploymentSpec({
    clusters: opts.clusters,
    ...(opts.serversPerCluster !== undefined ? { serversPerCluster: opts.serversPerCluster } : {}),
    ...(opts.workersPerCluster !== undefined ? { workersPerCluster: opts.workersPerCluster } : {}),
    ...(opts.leaf !== undefined ? { leaf: opts.leaf } : {}),
    ...(opts.basePort !== undefined ? { basePort: opts.basePort } : {}),
  });
  const serverSans = opts.san !== undefined ? parseSans(opts.san) : [];
  opensslBinary();
  const log = (line: string): void => { process.stdout.write(`${line}\n`); };
  const { dir, plan } = await writeDeployment(opts.out, spec, { serverSans, log, withoutSecrets: opts.withoutSecrets ?? false, ...(opts.key ? { key: opts.key } : {}) });
  log('');
  log(`wrote a deployment of ${plan.servers.length} nats-server(s) in ${dir}${opts.withoutSecrets ? ' without secrets (it cannot run: for reading only)' : ''}.`);
  log(`Start each server from its directory, e.g.: cd ${dir}/servers/${plan.servers[0]?.name ?? ''} && nats-server -c nats-server.conf`);
  log(`See ${dir}/README.md for every server, port and identity.`);
}
