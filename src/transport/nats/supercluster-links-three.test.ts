// Three clusters with cuttable gateways: one proxy per server carries the links from every other
// cluster, so isolating a must trace each connection to the server that dialled it (/proc) and cut
// a-b and a-c only, never b-c. (supercluster-links.test.ts has the two-cluster failover tests.)
import { describe, expect, it } from 'vitest';
import { startSupercluster } from './supercluster.js';

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Gatewayz = { outbound_gateways: Record<string, { connection?: { cid: number } }> };

describe('cuttable gateway links, three clusters', () => {
  it('gateway links - isolating a cuts a-b and a-c but leaves b-c up: each link is traced to the server that dialled it', async () => {
    await using three = await startSupercluster({ clusters: ['a', 'b', 'c'], workersPerCluster: 0 }, { cuttableGateways: true });
    const gatewayz = async (from: string): Promise<Gatewayz> => (await fetch(`${three.site(from).servers[0]?.monitorUrl}/gatewayz`)).json() as Promise<Gatewayz>;
    const outbound = async (from: string): Promise<string[]> =>
      Object.entries((await gatewayz(from)).outbound_gateways).filter(([, o]) => o.connection !== undefined).map(([name]) => name).sort();
    /** The connection ids of b's and c's links to each other: the same ids later mean the links were never cut. */
    const bc = async (): Promise<Array<number | undefined>> => [(await gatewayz('b')).outbound_gateways.c?.connection?.cid, (await gatewayz('c')).outbound_gateways.b?.connection?.cid];
    const bcBefore = await bc();
    three.isolate('a', 'cut');
    await until('no gateway connection to or from a', async () => (await outbound('a')).length === 0 && !(await outbound('b')).includes('a') && !(await outbound('c')).includes('a'), 5000);
    expect([await outbound('b'), await outbound('c')]).toEqual([['c'], ['b']]);
    expect(await bc()).toEqual(bcBefore);
    await three.rejoin('a', 10_000);
    expect([await outbound('a'), await outbound('b'), await outbound('c')]).toEqual([['b', 'c'], ['a', 'c'], ['a', 'b']]);
    expect(await bc()).toEqual(bcBefore);
  }, 20_000);
});
