import { describe, expect, it } from 'vitest';
import { parseBgpConfig } from '../../bgpd/config.js';
import { describePeers, peersForNode, selectPeers, validatePeerResource, withDatastorePeers, type BgpPeerResource } from './resource.js';
import { BgpPeerError } from './errors.js';

const tor = (name: string, extra: Record<string, unknown> = {}): BgpPeerResource => ({ name, value: { peerIP: '10.0.0.1', asNumber: 65001, ...extra } });

describe('peersForNode: which resources apply to a node', () => {
  const resources: BgpPeerResource[] = [
    tor('global'),
    tor('rack-a', { peerIP: '10.0.1.1', nodeSelector: 'uplink.dev/rack == "a"' }),
    tor('rack-b', { peerIP: '10.0.2.1', nodeSelector: "uplink.dev/rack == 'b'" }),
    tor('not-rack-a', { peerIP: '10.0.3.1', nodeSelector: 'uplink.dev/rack != "a" && topology.kubernetes.io/zone == "z1"' }),
    tor('only-n2', { peerIP: '10.0.4.1', node: 'n2' }),
    { name: 'unnumbered', value: { interface: 'eth1', asNumber: 65010, nodeSelector: 'all()' } },
  ];

  it('global, selector and single-node resources select the right nodes', () => {
    const names = (node: string, labels: Record<string, string>): string[] => peersForNode(resources, node, labels).map((p) => p.name);
    expect(names('n1', { 'uplink.dev/rack': 'a' })).toEqual(['bgppeer/global', 'bgppeer/rack-a', 'bgppeer/unnumbered']);
    expect(names('n2', { 'uplink.dev/rack': 'b', 'topology.kubernetes.io/zone': 'z1' })).toEqual([
      'bgppeer/global', 'bgppeer/not-rack-a', 'bgppeer/only-n2', 'bgppeer/rack-b', 'bgppeer/unnumbered',
    ]);
    // A node with no labels: `!=` holds for a missing label (Calico semantics), `==` does not.
    expect(names('n3', {})).toEqual(['bgppeer/global', 'bgppeer/unnumbered']);
  });

  it('maps every field to the entry parseBgpConfig accepts, with the values it will use', () => {
    const full = tor('full', {
      peerIP: 'fd00::1', asNumber: 4200000001, port: 1790, password: 's3cret', ttlSecurity: 1, families: ['ipv6'],
      gracefulRestart: false, maxPrefix: { ipv6: { limit: 100, action: 'restart', restartAfter: 30 } }, importPolicy: 'in',
      exportPolicy: 'out', routeReflectorClient: true, holdTime: 9,
    });
    const [entry] = peersForNode([full], 'any', {});
    expect(entry).toEqual({
      name: 'bgppeer/full', address: 'fd00::1', asn: 4200000001, port: 1790, password: 's3cret', ttlSecurity: 1, families: ['ipv6'],
      gracefulRestart: false, maxPrefix: { ipv6: { limit: 100, action: 'restart', restartAfter: 30 } }, importPolicy: 'in',
      exportPolicy: 'out', routeReflectorClient: true, holdTime: 9,
    });
    const policies = { in: { terms: [], default: 'accept' }, out: { terms: [], default: 'accept' } };
    const cfg = parseBgpConfig({ routerId: '192.0.2.9', asn: 65000, peers: [entry], policies });
    const p = cfg.peers[0]!;
    expect(p).toMatchObject({ name: 'bgppeer/full', address: 'fd00::1', asn: 4200000001, port: 1790, password: 's3cret', ttlSecurity: 1, gracefulRestart: false, routeReflectorClient: true, holdTime: 9, importPolicy: 'in', exportPolicy: 'out' });
    expect(p.families).toEqual(['ipv6']);
    expect(p.maxPrefix.ipv6).toEqual({ limit: 100, action: 'restart', restartAfterS: 30 });
  });

  it('invalid resources are skipped with an error naming resource and field; valid ones still apply', () => {
    const bad: BgpPeerResource[] = [
      tor('no-asn', { asNumber: undefined }),
      tor('asn-zero', { asNumber: 0 }),
      { name: 'both-addr', value: { peerIP: '10.0.0.1', interface: 'eth0', asNumber: 1 } },
      { name: 'neither', value: { asNumber: 1 } },
      tor('bad-ip', { peerIP: '10.0.0.300' }),
      tor('bad-selector', { nodeSelector: 'rack in (a, b)' }),
      tor('node-and-selector', { node: 'n1', nodeSelector: 'all()' }),
      tor('typo', { asnumber: 1 }),
      tor('bad-family', { families: ['ipv5'] }),
      tor('gtsm-multihop', { ttlSecurity: 1, multihop: 3 }),
      tor('hold-2', { holdTime: 2 }),
      tor('mp', { maxPrefix: { ipv4: { limit: 0 } } }),
      { name: 'Upper_Case', value: { peerIP: '10.0.0.1', asNumber: 1 } },
      { name: 'not-a-map', value: 'peer 10.0.0.1' },
    ];
    const { peers, problems } = selectPeers([...bad, tor('ok')], 'n1', {});
    expect(peers.map((p) => p.name)).toEqual(['bgppeer/ok']);
    const byRes = Object.fromEntries(problems.map((p) => [p.resource, p.field]));
    expect(byRes).toEqual({
      'no-asn': 'asNumber', 'asn-zero': 'asNumber', 'both-addr': 'peerIP', neither: 'peerIP', 'bad-ip': 'peerIP',
      'bad-selector': 'nodeSelector', 'node-and-selector': 'node', typo: 'asnumber', 'bad-family': 'families',
      'gtsm-multihop': 'ttlSecurity', 'hold-2': 'holdTime', mp: 'maxPrefix.ipv4.limit', Upper_Case: 'name', 'not-a-map': '(value)',
    });
    for (const p of problems) expect(p.message).toContain(`BGPPeer ${p.resource}: ${p.field}`);
  });

  it('validatePeerResource throws a typed error', () => {
    let err: unknown;
    try {
      validatePeerResource(tor('x', { password: '' }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BgpPeerError);
    expect((err as BgpPeerError).code).toBe('invalid-bgp-peer');
    expect((err as BgpPeerError).field).toBe('password');
  });
});

describe('withDatastorePeers: merging into the agent config', () => {
  it('appends datastore peers; the file wins on the same address; unknown policies are refused; the result parses', () => {
    const raw = { routerId: '192.0.2.1', asn: 65000, peers: [{ address: '10.0.0.1', asn: 65001 }], policies: { in: { terms: [] } } };
    const peers = peersForNode([
      tor('dup'),
      tor('new', { peerIP: '10.0.9.1' }),
      tor('pol', { peerIP: '10.0.9.2', importPolicy: 'in' }),
      tor('nopol', { peerIP: '10.0.9.3', exportPolicy: 'missing' }),
    ], 'n', {});
    const { bgp, problems } = withDatastorePeers(raw, peers);
    expect(problems.map((p) => [p.resource, p.field])).toEqual([['dup', 'peerIP'], ['nopol', 'exportPolicy']]);
    const cfg = parseBgpConfig(bgp);
    expect(cfg.peers.map((p) => `${p.name}=${p.address}`)).toEqual(['10.0.0.1=10.0.0.1', 'bgppeer/new=10.0.9.1', 'bgppeer/pol=10.0.9.2']);
    expect(raw.peers).toHaveLength(1); // input untouched
  });
});

describe('describePeers (uplinkctl)', () => {
  it('lists each resource with the nodes it selects, invalid ones with their error', () => {
    const nodes = [{ name: 'n1', labels: { rack: 'a' } }, { name: 'n2', labels: { rack: 'b' } }];
    const view = describePeers([tor('b', { nodeSelector: 'rack == "b"' }), tor('a', { node: 'n1' }), tor('bad', { asNumber: -1 }), tor('all')], nodes);
    expect(view.map((v) => [v.name, v.valid, v.nodes])).toEqual([['a', true, ['n1']], ['all', true, ['n1', 'n2']], ['b', true, ['n2']], ['bad', false, []]]);
    expect(view[3]!.error).toContain('asNumber');
    expect(view[0]!.selector).toBe('node == n1');
  });
});

describe('bgpWithDatastorePeers: what the agent hands to bgpConfigOf', () => {
  it('the merged section goes through the agent config and bgpConfigOf unchanged for file peers', async () => {
    const { parseAgentConfig } = await import('../config.js');
    const { bgpConfigOf } = await import('../bgp-bridge.js');
    const { bgpWithDatastorePeers } = await import('./merge.js');
    const cfg = parseAgentConfig({ nodeName: 'n1', routerId: '192.0.2.1', asn: 65000, peers: [{ name: 'tor', address: '10.0.0.1', asn: 65001 }] });
    const resources = [tor('rack-a', { peerIP: '10.0.1.1', nodeSelector: 'rack == "a"' }), tor('dup'), tor('bad', { asNumber: 'x' })];
    const bgp = bgpWithDatastorePeers(cfg.bgp, resources, 'n1', { rack: 'a' });
    const parsed = bgpConfigOf({ ...cfg, bgp });
    expect(parsed.peers.map((p) => [p.name, p.address, p.asn])).toEqual([['tor', '10.0.0.1', 65001], ['bgppeer/rack-a', '10.0.1.1', 65001]]);
    // Another rack: only the file's peer.
    expect(bgpConfigOf({ ...cfg, bgp: bgpWithDatastorePeers(cfg.bgp, resources, 'n2', { rack: 'b' }) }).peers.map((p) => p.name)).toEqual(['tor']);
  });
});
