// Issue 7, peers from the topology: the real uplinkd (embedded datastore, no peer in its config file)
// takes its BGP sessions from the ToR records (`tors/<name>`, as topology/kube.ts writes them) of its
// rack, against a real FRR ToR. A record added opens a session, a record deleted closes it, and the
// other session is not reset by either (FRR's own connection count says so).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns, link } from '../harness/netns.js';
import { startFrr, waitFor, type FrrPeer } from '../harness/peers/index.js';
import { makeAgent, requireBuilt, type AgentProc } from '../harness/agent.js';
import { EmbeddedDatastore } from '../../ipam/datastore/embedded.js';
import { deleteTorRecord, putTorRecord } from '../../uplinkd/peers/store.js';

interface Neighbor { peer: string; address: string; asn: number; state: string }
type FrrNeighbor = Record<string, { bgpState?: string; connectionsEstablished?: number }>;

describe('uplinkd peers with the ToRs of its rack from the datastore\'s ToR records (real FRR)', () => {
  const spaces: Netns[] = [];
  let tor: Netns, n1: Netns;
  let frr: FrrPeer;
  let agent: AgentProc | undefined;
  let store: EmbeddedDatastore;
  let dsDir: string;

  const torRecord = (name: string, rack: string, nodes: unknown[]) => ({ name, rack, zone: rack, asn: 65000, routerId: '10.0.0.1', nodes });
  const connections = (neighbor: string): number => frr.vtyshJson<FrrNeighbor>(`show bgp neighbors ${neighbor} json`)[neighbor]?.connectionsEstablished ?? 0;
  const neighbors = (): Neighbor[] => agent!.ctl<Neighbor[]>('show', 'neighbors');

  beforeAll(async () => {
    requireBuilt();
    dsDir = mkdtempSync(join(tmpdir(), 'uplink-e2e-tors-'));
    tor = Netns.create('ulr');
    spaces.push(tor);
    n1 = Netns.create('ulr');
    spaces.push(n1);
    // Two links: one numbered (ToR record tor1a), one unnumbered (tor1b: IPv6 link-local, RFC 8950).
    link(tor, 'to-n1', n1, 'up0', ['10.0.1.0/31'], ['10.0.1.1/31']);
    link(tor, 'to-n1b', n1, 'up1');
    frr = await startFrr(tor, {
      config: [
        'router bgp 65000',
        ' bgp router-id 10.0.0.1',
        ' no bgp ebgp-requires-policy',
        ' neighbor 10.0.1.1 remote-as 65101',
        ' neighbor 10.0.1.1 timers 3 9',
        ' neighbor to-n1b interface remote-as 65101',
        ' neighbor to-n1b timers 3 9',
        '',
      ].join('\n'),
    });
    const ds = join(dsDir, 'uplink.db');
    store = new EmbeddedDatastore({ kind: 'embedded', path: ds, pollMs: 20 });
    // Written before the agent starts: its first list has it. A record of another rack lists node1 too.
    await putTorRecord(store, 'tor1a', torRecord('tor1a', 'rack1', [{ node: 'node1', nodeInterface: 'up0', torAddress: '10.0.1.0', nodeAddress: '10.0.1.1', unnumbered: false }]));
    await putTorRecord(store, 'tor9a', torRecord('tor9a', 'rack9', [{ node: 'node1', nodeInterface: 'up0', torAddress: '10.0.9.0', nodeAddress: '10.0.9.1', unnumbered: false }]));
    agent = makeAgent(n1, 'node1', {
      datastorePath: ds,
      bgp: { bgp: { routerId: '10.0.1.1', asn: 65101, holdTime: 9, peers: [] } },
      extra: { nodeLabels: { 'uplink.dev/rack': 'rack1' }, metrics: { listen: '' } },
    });
    agent.start();
    await frr.waitState('10.0.1.1', 'Established', 30_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- agent ---\n${agent!.log().slice(-6000)}`);
    });
  }, 60_000);

  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await store?.close();
    for (const ns of spaces) ns.destroy();
    if (dsDir) rmSync(dsDir, { recursive: true, force: true });
    if (agent) rmSync(agent.dir, { recursive: true, force: true });
  });

  it('the ToR of its rack is a peer, named after the record; the other rack\'s ToR is not', async () => {
    expect(neighbors().map((n) => `${n.peer} ${n.address} ${n.asn} ${n.state}`)).toEqual(['tor/tor1a/10.0.1.0 10.0.1.0 65000 Established']);
    // Read from the agent's stdout pipe, which may lag behind its control socket on a loaded machine.
    await waitFor('the other rack\'s ToR reported', () => (
      /ToR tor9a: lists node node1, but it is in rack rack9 \(zone rack9\) and the node in rack rack1: not peering/.test(agent!.log()) ? true : undefined
    ), { timeoutMs: 5000, describe: () => agent!.log() });
  });

  it('a ToR record added opens its session (unnumbered), deleted closes it; the other session is never reset', async () => {
    const before = connections('10.0.1.1');
    expect(before).toBe(1);
    await putTorRecord(store, 'tor1b', torRecord('tor1b', 'rack1', [{ node: 'node1', nodeInterface: 'up1', unnumbered: true }]));
    await frr.waitState('to-n1b', 'Established', 20_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- agent ---\n${agent!.log().slice(-6000)}`);
    });
    expect(neighbors().map((n) => `${n.peer} ${n.state}`)).toEqual(['tor/tor1a/10.0.1.0 Established', 'tor/tor1b/up1 Established']);

    await deleteTorRecord(store, 'tor1b');
    await waitFor('tor1b session gone from the agent', () => (neighbors().length === 1 ? true : undefined), { timeoutMs: 10_000, describe: () => agent!.log() });
    await waitFor('FRR sees the unnumbered session closed', () => {
      const j = frr.vtyshJson<FrrNeighbor>('show bgp neighbors to-n1b json');
      return j['to-n1b']?.bgpState !== 'Established' ? true : undefined;
    }, { timeoutMs: 10_000 });
    expect(neighbors().map((n) => `${n.peer} ${n.state}`)).toEqual(['tor/tor1a/10.0.1.0 Established']);
    expect(connections('10.0.1.1')).toBe(before);
  });
});
