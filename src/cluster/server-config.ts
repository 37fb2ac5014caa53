/**
 * One nats-server configuration of a supercluster (nats-server 2.9.10 and later). TLS with the
 * deployment's CA on every listener, `verify: true` everywhere: a peer without a certificate that CA
 * signed is refused, client or server. Over TLS:
 * - clients authenticate as nkey users (`auth.conf`, from the site's identities);
 * - routes, gateways and leaf connections authenticate with a user and password that only servers
 *   hold, so a client's certificate (a worker's, say) cannot open a route and see every subject.
 * Every identity is a user of one account (`natsAccount`); a system account, unused by clients, sits
 * beside it. JetStream is on in every cluster server: one meta group across the supercluster, streams
 * placed per cluster. The leaf server runs none: its clients reach the hub's through the leaf
 * connection, in the domain `jetStreamDomain`.
 */
import { type DeploymentPlan, type ServerPlan, serversOf } from './deployment-plan.js';

export interface ServerFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The site's `users` (public keys only), included in the llmux account. */
  authFile: string;
  storeDir: string;
}

export interface LinkSecrets {
  /** Routes and gateways: every cluster server holds it. */
  core: string;
  /** Leaf connections: the hub's servers and the leaf hold it, so an edge site never holds `core`. */
  leaf: string;
}

export const linkUsers = { route: 'llmux-route', gateway: 'llmux-gateway', leaf: 'llmux-leaf' } as const;

/** The account every llmux identity is in (JetStream enabled), beside the unused system account. */
export const natsAccount = 'LLMUX';

/**
 * The supercluster's JetStream domain. Inside the supercluster clients use the plain `$JS.API`; a
 * client on the leaf node must name this domain, since nats-server denies `$JS.API.>` over a leaf
 * connection and lets only `$JS.<domain>.API.>` through.
 */
export const jetStreamDomain = 'llmux';

/** A password for a link: URL-safe, since it is written into route and gateway URLs. */
export const isLinkSecret = (s: string): boolean => /^[A-Za-z0-9_-]{16,128}$/.test(s);

const q = (s: string): string => JSON.stringify(s);

function tlsBlock(files: ServerFiles, indent: string, verify: boolean): string {
  const fields = [`cert_file: ${q(files.certFile)}`, `key_file: ${q(files.keyFile)}`, `ca_file: ${q(files.caFile)}`, ...(verify ? ['verify: true'] : []), 'timeout: 2'];
  return `${indent}tls { ${fields.join(', ')} }`;
}

const url = (scheme: string, user: string, password: string, host: string, port: number | undefined): string => {
  if (port === undefined) throw new Error(`internal: a link URL without a port (${user})`);
  return `${scheme}://${user}:${password}@${host}:${port}`;
};

/**
 * What the test launcher changes so a failover test can cut gateway links (`cluster init` uses none of
 * it): every gateway is dialled at, and advertised as, a proxy's port; PINGs are frequent, so a link
 * that goes silent is noticed in seconds.
 */
export interface TestLinkOptions {
  /**
   * The port other clusters dial to reach a server's gateway. The server advertises it too: without
   * `advertise`, the INFO a gateway sends hands its peers the real listen address, which they add to
   * their URLs for the cluster and dial on a reconnect, bypassing the proxy.
   */
  gatewayPortOf?: (server: ServerPlan) => number;
  /**
   * Server-wide `ping_interval` (seconds) and `ping_max`. 2.9.10 has no gateway-only setting: a
   * gateway PINGs at this interval (capped at 15 s) whatever the traffic, and closes the link as stale
   * when more than `max` PINGs are unanswered; clients and routes use it too.
   */
  ping?: { intervalSeconds: number; max: number };
}

export function renderServerConfig(plan: DeploymentPlan, server: ServerPlan, files: ServerFiles, secrets: LinkSecrets, test: TestLinkOptions = {}): string {
  if (!isLinkSecret(secrets.core) || !isLinkSecret(secrets.leaf)) throw new Error('internal: link secrets must be 16-128 URL-safe characters');
  const { host } = plan.spec;
  const gatewayPort = (s: ServerPlan): number | undefined => test.gatewayPortOf?.(s) ?? s.ports.gateway;
  const lines = [
    `# nats-server configuration of ${server.name}, ${server.role === 'leaf' ? `the leaf node of edge site ${server.site}` : `a server of cluster ${server.site}`}.`,
    '# Written by `llmux cluster init`; see the README.md of the deployment. It holds link passwords: keep it owner-only.',
    `server_name: ${q(server.name)}`,
    `listen: ${q(`${host}:${server.ports.client}`)}`,
    `http: ${q(`${host}:${server.ports.monitor}`)}`,
    ...(test.ping ? [`ping_interval: "${test.ping.intervalSeconds}s"`, `ping_max: ${test.ping.max}`] : []),
    tlsBlock(files, '', true),
    // 2.9.10 refuses leaf nodes beside gateways without a system account: every server has one, unused by clients.
    'accounts {',
    '  SYS: {}',
    `  ${natsAccount}: {`,
    ...(server.role === 'cluster' ? ['    jetstream: enabled'] : []),
    `    include ${q(files.authFile)}`,
    '  }',
    '}',
    'system_account: SYS',
  ];
  if (server.role === 'leaf') {
    const hub = plan.spec.leaf?.hub ?? '';
    lines.push(
      'leafnodes {',
      '  remotes: [',
      `    { account: ${q(natsAccount)}, urls: [${serversOf(plan, hub).map((s) => q(url('tls', linkUsers.leaf, secrets.leaf, host, s.ports.leafnode))).join(', ')}]`,
      tlsBlock(files, '      ', false),
      '    }',
      '  ]',
      '}',
    );
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    `jetstream { store_dir: ${q(files.storeDir)}, domain: ${q(jetStreamDomain)} }`,
    'cluster {',
    `  name: ${q(server.site)}`,
    `  listen: ${q(`${host}:${server.ports.cluster}`)}`,
    `  authorization { user: ${q(linkUsers.route)}, password: ${q(secrets.core)} }`,
    '  # Every server of the cluster, this one included: on 2.9.10 JetStream in a one-server cluster does not',
    '  # start without a route, and a route to itself is recognised and dropped.',
    `  routes: [${serversOf(plan, server.site).map((s) => q(url('nats-route', linkUsers.route, secrets.core, host, s.ports.cluster))).join(', ')}]`,
    tlsBlock(files, '  ', true),
    '}',
    'gateway {',
    // The gateway's name must be the cluster's.
    `  name: ${q(server.site)}`,
    `  listen: ${q(`${host}:${server.ports.gateway}`)}`,
    ...(test.gatewayPortOf ? [`  advertise: ${q(`${host}:${gatewayPort(server)}`)}`] : []),
    `  authorization { user: ${q(linkUsers.gateway)}, password: ${q(secrets.core)} }`,
    tlsBlock(files, '  ', true),
    '  gateways: [',
    ...plan.spec.clusters.map((c) => `    { name: ${q(c)}, urls: [${serversOf(plan, c).map((s) => q(url('nats', linkUsers.gateway, secrets.core, host, gatewayPort(s)))).join(', ')}] }`),
    '  ]',
    '}',
  );
  if (server.ports.leafnode !== undefined) {
    lines.push(
      'leafnodes {',
      `  listen: ${q(`${host}:${server.ports.leafnode}`)}`,
      `  authorization { user: ${q(linkUsers.leaf)}, password: ${q(secrets.leaf)}, account: ${q(natsAccount)} }`,
      tlsBlock(files, '  ', true),
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}
