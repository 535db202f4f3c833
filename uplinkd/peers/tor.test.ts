// ToR records as BGP peers: the pure derivation (which ToRs a node peers with, how), the merge with the
// config file and BGPPeer resources, and the watching source on the embedded datastore.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBgpConfig } from '../../bgpd/config.js';
import { EmbeddedDatastore } from '../../ipam/datastore/embedded.js';
import { agentConfig } from '../../topology/agent-config.js';
import { nodeLabels, torRecords } from '../../topology/kube.js';
import { devicesOf, loadTopology } from '../../topology/resolve.js';
import { BgpPeerError } from './errors.js';
import { bgpWithDatastorePeers } from './merge.js';
import { DatastorePeerSource, TOR_RECORDS } from './source.js';
import { deleteTorRecord, putTorRecord } from './store.js';
import { torPeersForNode, validateTorRecord, withTorPeers, type TorResource } from './tor.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'topology', 'examples');
const RACK = 'uplink.dev/rack';
const ZONE = 'topology.kubernetes.io/zone';

const tor = (name: string, rack: string, nodes: unknown[], extra: Record<string, unknown> = {}): TorResource => ({
  name, value: { name, rack, zone: `zone-${rack}`, asn: 65000, routerId: '10.255.0.1', nodes, ...extra },
});
const numbered = (node: string, torAddress: string, nodeAddress: string, nodeInterface = 'eth1') => ({ node, nodeInterface, torAddress, nodeAddress, unnumbered: false });

describe('torPeersForNode: the ToRs of the node\'s rack', () => {
  const records = [
    tor('tor1a', 'r1', [numbered('n1', '10.1.1.0', '10.1.1.1'), numbered('n1', 'fd00:1::', 'fd00:1::1'), numbered('n2', '10.1.2.0', '10.1.2.1')]),
    tor('tor1b', 'r1', [{ node: 'n1', nodeInterface: 'eth2', unnumbered: true }]),
    tor('tor2a', 'r2', [numbered('n3', '10.2.3.0', '10.2.3.1'), numbered('n1', '10.9.9.0', '10.9.9.1')]),
  ];

  it('numbered sessions by address (with local address and family), unnumbered ones by interface, ASN of the ToR', () => {
    const { peers, problems, notApplied } = torPeersForNode(records, 'n1', { [RACK]: 'r1' });
    expect(problems).toEqual([]);
    expect(peers).toEqual([
      { name: 'tor/tor1a/10.1.1.0', asn: 65000, address: '10.1.1.0', localAddress: '10.1.1.1', families: ['ipv4'] },
      { name: 'tor/tor1a/fd00:1::', asn: 65000, address: 'fd00:1::', localAddress: 'fd00:1::1', families: ['ipv6'] },
      { name: 'tor/tor1b/eth2', asn: 65000, interface: 'eth2' },
    ]);
    // tor2a lists n1 but is in another rack: reported, not peered with.
    expect(notApplied.map((p) => [p.resource, p.field])).toEqual([['tor2a', 'rack']]);
    expect(notApplied[0]!.message).toMatch(/lists node n1, but it is in rack r2 \(zone zone-r2\) and the node in rack r1: not peering/);
    // What the speaker will run: its parser takes every entry.
    const cfg = parseBgpConfig({ routerId: '10.1.1.1', asn: 65101, peers });
    expect(cfg.peers.map((p) => p.name)).toEqual(['tor/tor1a/10.1.1.0', 'tor/tor1a/fd00:1::', 'tor/tor1b/eth2']);
  });

  it('rack from the rack label; zone when there is no rack label; both must agree when both are set; no label = no ToR peers', () => {
    const names = (labels: Record<string, string>): string[] => torPeersForNode(records, 'n1', labels).peers.map((p) => p.name);
    expect(names({ [ZONE]: 'zone-r1' })).toEqual(['tor/tor1a/10.1.1.0', 'tor/tor1a/fd00:1::', 'tor/tor1b/eth2']);
    expect(names({ [ZONE]: 'zone-r2' })).toEqual(['tor/tor2a/10.9.9.0']);
    expect(names({ [RACK]: 'r1', [ZONE]: 'zone-r2' })).toEqual([]);
    const none = torPeersForNode(records, 'n1', { role: 'worker' });
    expect(none.peers).toEqual([]);
    expect(none.notApplied.map((p) => p.resource)).toEqual(['tor1a', 'tor1b', 'tor2a']);
    expect(none.notApplied[0]!.message).toMatch(/has no uplink\.dev\/rack or topology\.kubernetes\.io\/zone label/);
  });

  it('a ToR of the node\'s rack that lists no session for it is reported; other racks\' ToRs are silent', () => {
    const r = torPeersForNode(records, 'n4', { [RACK]: 'r1' });
    expect(r.peers).toEqual([]);
    expect(r.notApplied.map((p) => `${p.resource}:${p.field}`)).toEqual(['tor1a:nodes', 'tor1b:nodes']);
  });

  it('invalid records are skipped with an error naming record and field; valid ones still apply', () => {
    const bad: TorResource[] = [
      tor('no-asn', 'r1', [], { asn: undefined }),
      tor('asn-big', 'r1', [], { asn: 2 ** 32 }),
      tor('no-rack', 'r1', [], { rack: '' }),
      { name: 'other-name', value: { name: 'x', rack: 'r1', asn: 1, nodes: [] } },
      tor('typo', 'r1', [], { nodez: [] }),
      tor('nodes-map', 'r1', [], { nodes: {} }),
      tor('bad-addr', 'r1', [numbered('n1', '10.1.1.300', '10.1.1.1')]),
      tor('numbered-no-addr', 'r1', [{ node: 'n1', nodeInterface: 'eth1', unnumbered: false }]),
      tor('mixed-family', 'r1', [numbered('n1', '10.1.1.0', 'fd00::1')]),
      tor('no-iface', 'r1', [{ node: 'n1', unnumbered: true }]),
      { name: 'not-a-map', value: ['tor1'] },
    ];
    const { peers, problems } = torPeersForNode([...bad, records[1]!], 'n1', { [RACK]: 'r1' });
    expect(peers.map((p) => p.name)).toEqual(['tor/tor1b/eth2']);
    expect(Object.fromEntries(problems.map((p) => [p.resource, p.field]))).toEqual({
      'no-asn': 'asn', 'asn-big': 'asn', 'no-rack': 'rack', 'other-name': 'name', typo: 'nodez', 'nodes-map': 'nodes',
      'bad-addr': 'nodes[0].torAddress', 'numbered-no-addr': 'nodes[0].torAddress', 'mixed-family': 'nodes[0].nodeAddress',
      'no-iface': 'nodes[0].nodeInterface', 'not-a-map': '(value)',
    });
    for (const p of problems) expect(p.message).toContain(`ToR ${p.resource}: ${p.field}`);
    let err: unknown;
    try {
      validateTorRecord(bad[0]!);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BgpPeerError);
    expect((err as BgpPeerError).code).toBe('invalid-tor');
  });

  it('the records the topology writes give each node the same sessions as the agent config the topology writes', () => {
    for (const file of ['default.yaml', 'unnumbered-small.yaml', 'dualstack-as-per-node.yaml']) {
      const f = loadTopology(join(EXAMPLES, file));
      const recs = torRecords(f).map((r) => ({ name: r.key.slice('tors/'.length), value: JSON.parse(JSON.stringify(r.value)) as unknown }));
      for (const n of devicesOf(f, 'node')) {
        const fromTors = torPeersForNode(recs, n.name, nodeLabels(f, n.name));
        expect(fromTors.problems, file).toEqual([]);
        const fromFile = ((agentConfig(f, n.name).bgp as { peers: Array<Record<string, unknown>> }).peers);
        const key = (p: Record<string, unknown>): string => `${String(p.address ?? p.interface)} as ${String(p.asn)}`;
        expect(fromTors.peers.map(key).sort(), `${file} ${n.name}`).toEqual(fromFile.map(key).sort());
        expect(fromTors.peers.length).toBeGreaterThan(0);
      }
    }
  });
});

describe('merge: config file, then BGPPeer, then ToR records', () => {
  const records = [tor('tor1a', 'r1', [numbered('n1', '10.1.1.0', '10.1.1.1'), numbered('n1', 'fd00:1:0::', 'fd00:1::1')]), tor('tor1b', 'r1', [numbered('n1', '10.1.2.0', '10.1.2.1')]), tor('tor1c', 'r1', [numbered('n1', '10.1.3.0', '10.1.3.1')])];

  it('the file wins on the same address (compared canonically), a BGPPeer next; the rest is appended and parses', () => {
    const raw = { routerId: '10.1.1.1', asn: 65101, peers: [{ name: 'mine', address: 'fd00:1::', asn: 65009 }] };
    const bgpPeers = [{ name: 'tor1b-override', value: { peerIP: '10.1.2.0', asNumber: 65010 } }];
    const bgp = bgpWithDatastorePeers(raw, bgpPeers, 'n1', { [RACK]: 'r1' }, records);
    const peers = bgp.peers as Array<{ name: string; address: string; asn: number }>;
    expect(peers.map((p) => `${p.name} ${p.address} ${p.asn}`)).toEqual([
      'mine fd00:1:: 65009', 'bgppeer/tor1b-override 10.1.2.0 65010', 'tor/tor1a/10.1.1.0 10.1.1.0 65000', 'tor/tor1c/10.1.3.0 10.1.3.0 65000',
    ]);
    expect(parseBgpConfig(bgp).peers).toHaveLength(4);
    // The file is not modified, and without records the merge is the BGPPeer one alone.
    expect(raw.peers).toHaveLength(1);
    expect((bgpWithDatastorePeers(raw, [], 'n1', { [RACK]: 'r1' }, []).peers as unknown[])).toHaveLength(1);
  });

  it('the node record\'s rack places a node whose config and Node labels do not; theirs win when present', () => {
    const raw = { routerId: '10.1.1.1', asn: 65101, peers: [] };
    const names = (labels: Record<string, string>, fallback: Record<string, string>): string[] =>
      (bgpWithDatastorePeers(raw, [], 'n1', labels, records, fallback).peers as Array<{ name: string }>).map((p) => p.name);
    expect(names({}, { [RACK]: 'r1', other: 'x' })).toHaveLength(4);
    expect(names({}, {})).toEqual([]);
    expect(names({ [RACK]: 'r2' }, { [RACK]: 'r1' })).toEqual([]);
  });

  it('withTorPeers reports what it left out, by ToR and field', () => {
    const { bgp, skipped } = withTorPeers({ peers: [{ interface: 'eth2', asn: 1 }] }, [{ name: 'tor/t/eth2', asn: 65000, interface: 'eth2' }, { name: 'tor/t/10.0.0.1', asn: 65000, address: '10.0.0.1' }]);
    expect((bgp.peers as unknown[]).length).toBe(2);
    expect(skipped).toEqual([{ resource: 't', field: 'nodeInterface', message: 'ToR t: the session on interface eth2 is already configured (config file or BGPPeer), which wins' }]);
  });
});

describe('DatastorePeerSource on ToR records (embedded store)', () => {
  it('delivers the initial set, then each add and delete', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-tors-'));
    const store = new EmbeddedDatastore({ kind: 'embedded', path: join(dir, 'ds.db'), pollMs: 10 });
    const got: string[] = [];
    let wake: (() => void) | undefined;
    const src = new DatastorePeerSource(store, (r) => {
      got.push(r.map((x) => x.name).join(','));
      wake?.();
    }, { kind: TOR_RECORDS, debounceMs: 20 });
    const until = async (want: string): Promise<void> => {
      const t0 = Date.now();
      while (got.at(-1) !== want) {
        if (Date.now() - t0 > 5000) throw new Error(`no delivery '${want}': ${JSON.stringify(got)}`);
        await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
      }
    };
    try {
      await putTorRecord(store, 'tor1a', tor('tor1a', 'r1', [numbered('n1', '10.1.1.0', '10.1.1.1')]).value);
      await src.start();
      expect(got).toEqual(['tor1a']);
      await putTorRecord(store, 'tor1b', tor('tor1b', 'r1', []).value);
      await until('tor1a,tor1b');
      await deleteTorRecord(store, 'tor1a');
      await until('tor1b');
      // Other prefixes are not its business.
      await store.create('bgp/peers/x', { peerIP: '10.0.0.1', asNumber: 1 });
      await new Promise((r) => setTimeout(r, 100));
      expect(got.at(-1)).toBe('tor1b');
      await expect(putTorRecord(store, 'bad', { name: 'bad', rack: 'r1', asn: 0, nodes: [] })).rejects.toThrow(/ToR bad: asn/);
    } finally {
      await src.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
