import { describe, expect, it } from 'vitest';
import { layoutPorts, planDeployment, workerIds } from './deployment-plan.js';
import { DeploymentSpecError, parseDeploymentSpec } from './deployment-spec.js';

const refused = (input: Parameters<typeof parseDeploymentSpec>[0], message: RegExp): void => {
  expect(() => parseDeploymentSpec(input)).toThrow(DeploymentSpecError);
  expect(() => parseDeploymentSpec(input)).toThrow(message);
};

describe('deployment spec', () => {
  it('reads a comma-separated cluster list with the defaults', () => {
    expect(parseDeploymentSpec({ clusters: ' us-east, us-west ,eu' })).toEqual({
      clusters: ['us-east', 'us-west', 'eu'], serversPerCluster: 1, workersPerCluster: 2, basePort: 4222, host: '127.0.0.1',
    });
  });

  it('refuses names that are not safe as NATS server, cluster and gateway names', () => {
    for (const bad of ['US-East', 'us east', 'us.east', 'us*', '>', '-us', 'a'.repeat(32), 'eu/1']) refused({ clusters: `ok,${bad}` }, /cluster name .* must be 1-31 characters/);
  });

  it('refuses an empty list and a cluster named twice', () => {
    refused({ clusters: ' , ' }, /at least one cluster/);
    refused({ clusters: 'a,b,a' }, /'a' is named twice/);
  });

  it('refuses fewer than one server per cluster, and a worker count out of range', () => {
    refused({ clusters: 'a', serversPerCluster: 0 }, /servers-per-cluster must be an integer of 1 or more/);
    refused({ clusters: 'a', serversPerCluster: 1.5 }, /servers-per-cluster/);
    refused({ clusters: 'a', workersPerCluster: -1 }, /workers-per-cluster/);
  });

  it('refuses a base port whose layout leaves the port range or starts below 1024', () => {
    refused({ clusters: 'a,b', basePort: 80 }, /--base-port must be an integer from 1024/);
    refused({ clusters: 'a,b', basePort: 61535 }, /uses 61535\.\.65536/);
    expect(parseDeploymentSpec({ clusters: 'a,b', basePort: 61534 }).basePort).toBe(61534);
  });

  it('reads a leaf as NAME (on the first cluster) or NAME@CLUSTER, and refuses one that clashes', () => {
    expect(parseDeploymentSpec({ clusters: 'a,b', leaf: 'edge' }).leaf).toEqual({ name: 'edge', hub: 'a' });
    expect(parseDeploymentSpec({ clusters: 'a,b', leaf: 'edge@b' }).leaf).toEqual({ name: 'edge', hub: 'b' });
    refused({ clusters: 'a,b', leaf: 'b' }, /has the name of a cluster/);
    refused({ clusters: 'a,b', leaf: 'edge@c' }, /'c' is not one of --clusters/);
    refused({ clusters: 'a,b', leaf: 'edge@a@b' }, /NAME or NAME@CLUSTER/);
    refused({ clusters: 'a,b', leaf: 'Edge' }, /leaf name/);
  });

  it('plans distinct server names and ports for every listener', () => {
    const spec = parseDeploymentSpec({ clusters: 'a,a-1', serversPerCluster: 3, leaf: 'edge@a-1', basePort: 20000 });
    const plan = planDeployment(spec);
    const names = plan.servers.map((s) => s.name);
    expect(names).toEqual(['a-1', 'a-2', 'a-3', 'a-1-1', 'a-1-2', 'a-1-3', 'edge-1']);
    const ports = plan.servers.flatMap((s) => Object.values(s.ports));
    expect(new Set(ports).size).toBe(ports.length);
    expect(plan.servers.filter((s) => s.ports.leafnode !== undefined).map((s) => s.name)).toEqual(['a-1-1', 'a-1-2', 'a-1-3']);
    expect(plan.servers[0]?.ports).toEqual({ client: 20000, monitor: 24000, cluster: 21000, gateway: 22000 });
    expect(layoutPorts(4222)(2, 'gateway')).toBe(6224);
    expect(plan.sites).toEqual(['a', 'a-1', 'edge']);
    expect(workerIds(spec, 'edge')).toEqual(['edge-worker-1', 'edge-worker-2']);
  });
});
