/** The README.md that `llmux cluster init` writes beside a deployment: what to start where. */
import type { DeploymentManifest } from './deployment-manifest.js';
import { type DeploymentPlan, serversOf } from './deployment-plan.js';
import { jetStreamDomain } from './server-config.js';

export function initCommand(plan: DeploymentPlan): string {
  const { spec } = plan;
  return ['llmux cluster init', `--clusters ${spec.clusters.join(',')}`, `--servers-per-cluster ${spec.serversPerCluster}`, `--workers-per-cluster ${spec.workersPerCluster}`,
    ...(spec.leaf ? [`--leaf ${spec.leaf.name}@${spec.leaf.hub}`] : []), `--base-port ${spec.basePort}`].join(' ');
}

export function deploymentReadme(plan: DeploymentPlan, manifest: DeploymentManifest): string {
  const { spec } = plan;
  const port = (p: number | undefined): string => (p === undefined ? '—' : String(p));
  const clientUrls = (site: string): string => serversOf(plan, site).map((s) => `tls://${spec.host}:${s.ports.client}`).join(',');
  const firstSite = spec.clusters[0] ?? '';
  const firstWorker = manifest.sites.find((site) => site.name === firstSite)?.workers[0]?.workerId;
  const natsFlags = (site: string, identity: string): string => [`--cluster ${site}`, `--nats ${clientUrls(site)}`, `--nkey-seed-file identities/${site}/${identity}.seed`,
    `--nats-ca identities/${site}/ca.crt`, `--nats-cert identities/${site}/${identity}.crt`, `--nats-key identities/${site}/${identity}.key`].join(' ');
  const lines = [
    `# llmux deployment: ${spec.clusters.join(', ')}${spec.leaf ? ` and edge site ${spec.leaf.name}` : ''}`,
    '',
    `Written by \`${initCommand(plan)}${manifest.withoutSecrets ? ' --without-secrets' : ''} --out DIR\`.`,
    `A NATS supercluster: ${spec.clusters.length} cluster(s) of ${spec.serversPerCluster} server(s), joined by gateways${spec.leaf ? `, and a leaf node for ${spec.leaf.name} hanging off ${spec.leaf.hub}` : ''}.`,
    'Every listener (clients, routes, gateways, leaf nodes) uses TLS with the CA in `ca/` and refuses a peer',
    'without a certificate that CA signed. Clients then authenticate with their nkey; routes, gateways and leaf',
    'connections with a password that only the servers\' configs hold.',
    '',
  ];
  if (manifest.withoutSecrets) {
    lines.push(
      '**This copy was written with `--without-secrets`: it has no private key, no nkey seed and no link password',
      '(the configs say `example-only-not-a-secret`). It shows what a deployment looks like; it cannot run.',
      'Make your own with the command above and `--out DIR`.**',
      '',
    );
  }
  lines.push(
    '## Servers',
    '',
    'Start each from its own directory (its config names its files relatively), on the host it is meant for:',
    '',
    '| server | site | client | routes | gateway | leaf nodes | monitoring (http) | start |',
    '|---|---|---|---|---|---|---|---|',
    ...plan.servers.map((s) => `| ${s.name} | ${s.site}${s.role === 'leaf' ? ' (leaf)' : ''} | ${port(s.ports.client)} | ${port(s.ports.cluster)} | ${port(s.ports.gateway)} | ${port(s.ports.leafnode)} | ${port(s.ports.monitor)} | \`cd servers/${s.name} && nats-server -c nats-server.conf\` |`),
    '',
    `Here every server listens on ${spec.host}. To spread them over hosts, change the \`listen\`, \`http\`, \`routes\`,`,
    '`gateways` and leaf `remotes` addresses, and give each server a certificate that names its host:',
    '`llmux pki issue --ca ca --name <server> --server --san <host-or-ip>,127.0.0.1 --out servers/<server>` (after moving the old one away).',
    '',
    'A gateway is up when `curl -s http://127.0.0.1:<monitoring>/gatewayz` lists every other cluster under',
    '`outbound_gateways` with a `connection`; JetStream is up when `/jsz` shows a `meta_cluster.leader`.',
    '',
    '## JetStream',
    '',
    'One JetStream meta group spans the clusters (nats-server 2.9 has no other way over gateways). Creating or',
    'removing a stream needs a majority of all the cluster servers; a stream lives in the cluster of its',
    '`placement` and can be mirrored or sourced into another. The leaf node runs no JetStream of its own: its',
    `clients reach the supercluster's by naming the JetStream domain \`${jetStreamDomain}\` (nats-server passes no plain \`$JS.API\``,
    'over a leaf connection).',
    '',
    '## Identities',
    '',
    'Each site\'s servers admit that site\'s identities only (`auth.conf` beside each server, public keys only).',
    'A process connects to a server of its own site with its nkey seed and, over TLS, its client certificate:',
    '',
    '| site | NATS URLs | identity | seed | certificate | key |',
    '|---|---|---|---|---|---|',
    ...manifest.sites.flatMap((site) => [
      { name: 'control (gateways, routers, limiter)', files: site.control },
      ...site.workers.map((w) => ({ name: `worker \`--id ${w.workerId}\``, files: w })),
    ].map((row) => `| ${site.name} | \`${clientUrls(site.name)}\` | ${row.name} | \`${row.files.seed}\` | \`${row.files.cert}\` | \`${row.files.key}\` |`)),
    '',
    'Every process also needs its site\'s `ca.crt` (in the same directory) to check the servers\' certificates.',
    'A worker must run with the `--id` its identity was made for: its permissions name only that id\'s subjects.',
    `For example, in ${firstSite}:`,
    '',
    '```sh',
    `llmux router  ${natsFlags(firstSite, 'control')}`,
    `llmux gateway ${natsFlags(firstSite, 'control')} --port 8080`,
    ...(firstWorker ? [
      '# routers admit a worker identity only once it is bound to what it may serve:',
      `llmux credentials ${natsFlags(firstSite, 'control').replace(`--cluster ${firstSite} `, '')} --worker ${firstWorker} --function demo --model MODEL`,
      `llmux worker  ${natsFlags(firstSite, firstWorker)} --id ${firstWorker} --engine-url http://127.0.0.1:8000 --function demo --model MODEL`,
    ] : []),
    '```',
    '',
    '## Secrets',
    '',
    '- `ca/ca.key` mints certificates every server accepts: keep it offline once the deployment is made.',
    '- `servers/*/server.key` and `servers/*/nats-server.conf` (link passwords) belong on their server only.',
    '- `identities/<site>/*.seed` and `*.key` belong to the one process that uses each.',
    'All are written owner-only (files 0600, directories 0700).',
    '',
  );
  return lines.join('\n');
}
