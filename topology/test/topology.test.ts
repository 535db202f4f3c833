// The model, its numbering and its validation errors. Reads the shipped examples; a missing
// example file fails the test.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { TopologyError, TopologyErrorCode } from '../errors.js';
import { frrConfig } from '../frr.js';
import { netsOverlap, parseIfaceAddr, parseNet } from '../../lib/ip.js';
import { nodeLabels, torResources } from '../kube.js';
import { parseTopology } from '../model.js';
import { nodeBgpConfig, sessionsOf } from '../peers.js';
import { devicesOf, loadTopology, resolveTopology } from '../resolve.js';

const EXAMPLES = join(import.meta.dirname, '..', 'examples');
const defaultFile = join(EXAMPLES, 'default.yaml');
const dualFile = join(EXAMPLES, 'dualstack-as-per-node.yaml');

/** The default example as a plain object, to mutate for error cases. */
function baseDoc(): Record<string, unknown> {
  return parseYaml(readFileSync(defaultFile, 'utf8')) as Record<string, unknown>;
}
function errorOf(doc: unknown): TopologyError {
  try {
    resolveTopology(parseTopology(stringify(doc)));
  } catch (err) {
    if (err instanceof TopologyError) return err;
    throw err;
  }
  throw new Error('expected a TopologyError, the topology was accepted');
}
type Rack = { name: string; asn?: number; tors: Array<string | { name: string; asn?: number }>; nodes: Array<{ name: string; uplinks: unknown[] }> };

describe('default example (AS per rack)', () => {
  const f = loadTopology(defaultFile);

  it('has 2 spines, 4 ToRs and 4 dual-homed nodes', () => {
    expect(devicesOf(f, 'spine').map((d) => d.name)).toEqual(['spine1', 'spine2']);
    expect(devicesOf(f, 'tor').map((d) => d.name)).toEqual(['tor1a', 'tor1b', 'tor2a', 'tor2b']);
    for (const n of devicesOf(f, 'node')) expect(n.ifaces.size).toBe(2);
    expect(f.spec.pools[0]!.cidrText).toBe('10.244.0.0/16');
    expect(f.spec.pools[0]!.blockSize).toBe(26);
  });

  it('numbers ASNs per rack: ToRs and nodes share the rack AS, spines one AS', () => {
    const asn = (n: string): number => f.devices.get(n)!.asn;
    expect([asn('spine1'), asn('spine2')]).toEqual([65000, 65000]);
    expect([asn('tor1a'), asn('tor1b'), asn('node1'), asn('node2')]).toEqual([65101, 65101, 65101, 65101]);
    expect([asn('tor2a'), asn('tor2b'), asn('node3'), asn('node4')]).toEqual([65102, 65102, 65102, 65102]);
    // Node <-> ToR is iBGP in this model, ToR <-> spine eBGP.
    expect(sessionsOf(f, 'node1').map((s) => s.type)).toEqual(['ibgp', 'ibgp']);
    expect(sessionsOf(f, 'tor1a').filter((s) => s.peerRole === 'spine').every((s) => s.type === 'ebgp')).toBe(true);
  });

  it('gives every link a distinct /31 from the fabric range, both ends in it', () => {
    const fabric = f.spec.fabric.ipv4!;
    const subnets = f.links.map((l) => {
      const [a, b] = [parseIfaceAddr(l.up.addresses[0]!)!, parseIfaceAddr(l.down.addresses[0]!)!];
      expect(a.prefix).toBe(31);
      expect(b.value - a.value).toBe(1n);
      const c = parseNet(l.up.addresses[0]!)!;
      expect(netsOverlap(c, fabric)).toBe(true);
      return c;
    });
    for (let i = 0; i < subnets.length; i++) for (let j = i + 1; j < subnets.length; j++) expect(netsOverlap(subnets[i]!, subnets[j]!)).toBe(false);
    expect(f.links).toHaveLength(8 + 8);
  });

  it('derives each node\'s peers for uplinkd from the ToRs\' side of its links', () => {
    const cfg = nodeBgpConfig(f, 'node3');
    expect(cfg).toMatchObject({ node: 'node3', rack: 'rack2', zone: 'zone-b', asn: 65102 });
    expect(cfg.peers.map((p) => [p.peerName, p.interface, p.peerAsn])).toEqual([
      ['tor2a', 'eth1', 65102],
      ['tor2b', 'eth2', 65102],
    ]);
    for (const p of cfg.peers) {
      const torIf = f.links.find((l) => l.down.device === 'node3' && l.up.device === p.peerName)!;
      expect(`${p.peerAddress}/31`).toBe(torIf.up.addresses[0]);
      expect(`${p.localAddress}/31`).toBe(torIf.down.addresses[0]);
    }
  });

  it('writes FRR configs with multipath-relax, maximum-paths, pool route-maps and one neighbor per session', () => {
    const conf = frrConfig(f, 'tor1a');
    expect(conf).toContain('router bgp 65101');
    expect(conf).toContain(' bgp bestpath as-path multipath-relax');
    expect(conf).toMatch(/maximum-paths 64/);
    expect(conf).toContain('ip prefix-list UPLINK-POOLS seq 5 permit 10.244.0.0/16 le 32');
    for (const s of sessionsOf(f, 'tor1a')) expect(conf).toContain(` neighbor ${s.peerAddress} peer-group`);
    expect(conf).toContain('  neighbor NODES-IBGP-V4 route-reflector-client');
    expect(frrConfig(f, 'spine2')).toContain('router bgp 65000');
  });

  it('maps nodes to Kubernetes labels and ToR resources', () => {
    expect(nodeLabels(f, 'node2')).toEqual({ 'topology.kubernetes.io/zone': 'zone-a', 'uplink.dev/rack': 'rack1', 'uplink.dev/asn': '65101' });
    const tors = torResources(f);
    expect(tors.map((t) => t.metadata.annotations['uplink.dev/key'])).toEqual(['tors/tor1a', 'tors/tor1b', 'tors/tor2a', 'tors/tor2b']);
    // Object names as the kubernetes datastore derives them: slug of the key plus a hash.
    expect(tors[0]!.metadata.name).toMatch(/^tor1a-[0-9a-f]{10}$/);
    expect(tors[0]!.metadata.labels['uplink.dev/rack']).toBe('rack1');
    expect(tors[0]!.spec.value.nodes.map((n) => n.node)).toEqual(['node1', 'node2']);
    expect(tors[0]!.spec.value.nodes[0]!.torAddress).toBe(nodeBgpConfig(f, 'node1').peers[0]!.peerAddress);
  });
});

describe('dual-stack example (AS per node)', () => {
  const f = loadTopology(dualFile);
  it('gives each node its own private 4-byte AS and ToRs the rack AS', () => {
    expect(devicesOf(f, 'node').map((d) => d.asn)).toEqual([4200000001, 4200000002, 4200000003, 4200000004]);
    expect(devicesOf(f, 'tor').map((d) => d.asn)).toEqual([65101, 65101, 65102, 65102]);
  });
  it('puts an IPv4 /31 and an IPv6 /127 on every link and a session per family', () => {
    for (const l of f.links) {
      expect(l.up.addresses.map((a) => parseIfaceAddr(a)!.prefix)).toEqual([31, 127]);
    }
    const peers = nodeBgpConfig(f, 'node1').peers;
    expect(peers.map((p) => `${p.peerName}:${p.families.join()}`)).toEqual(['tor1a:ipv4-unicast', 'tor1a:ipv6-unicast', 'tor1b:ipv4-unicast', 'tor1b:ipv6-unicast']);
    expect(peers.every((p) => p.type === 'ebgp')).toBe(true);
    expect(frrConfig(f, 'tor1a')).toContain('ipv6 prefix-list UPLINK-POOLS6 seq 5 permit fd00:244::/56 le 128');
  });
});

describe('validation names the element at fault', () => {
  const cases: Array<{ what: string; mutate: (d: Record<string, unknown>) => void; code: TopologyErrorCode; element: RegExp }> = [
    {
      what: 'two ToRs of different racks sharing an AS without allowas-in',
      mutate: (d) => {
        const racks = d.racks as Rack[];
        racks[1]!.tors[0] = { name: 'tor2a', asn: 65101 };
      },
      code: TopologyErrorCode.AsnConflict,
      element: /tor tor2a/,
    },
    {
      what: 'a ToR in the spines\' AS',
      mutate: (d) => {
        (d.racks as Rack[])[0]!.asn = 65000;
      },
      code: TopologyErrorCode.AsnConflict,
      element: /tor tor1a/,
    },
    {
      what: 'a node with no uplink',
      mutate: (d) => {
        (d.racks as Rack[])[1]!.nodes[1]!.uplinks = [];
      },
      code: TopologyErrorCode.NoUplink,
      element: /^racks\[1\]\.nodes\[1\] \(node4\)$/,
    },
    {
      what: 'overlapping pools',
      mutate: (d) => {
        (d.pools as unknown[]).push({ name: 'more', cidr: '10.244.128.0/17', blockSize: 26 });
      },
      code: TopologyErrorCode.PoolOverlap,
      element: /^pools\[1\] \(more\)$/,
    },
    {
      what: 'a pool overlapping the fabric range',
      mutate: (d) => {
        (d.pools as unknown[]).push({ name: 'clash', cidr: '10.255.0.128/25' });
      },
      code: TopologyErrorCode.PoolOverlap,
      element: /pools\[1\]/,
    },
    {
      what: 'an uplink to an unknown ToR',
      mutate: (d) => {
        (d.racks as Rack[])[0]!.nodes[0]!.uplinks = ['tor9z'];
      },
      code: TopologyErrorCode.UnknownReference,
      element: /^racks\[0\]\.nodes\[0\] \(node1\)\.uplinks\[0\]$/,
    },
    {
      what: 'an uplink to another rack\'s ToR',
      mutate: (d) => {
        (d.racks as Rack[])[0]!.nodes[0]!.uplinks = ['tor2a'];
      },
      code: TopologyErrorCode.UnknownReference,
      element: /node1/,
    },
    {
      what: 'a top-level node referring to an unknown rack',
      mutate: (d) => {
        d.nodes = [{ name: 'node9', rack: 'rack7', uplinks: ['tor1a'] }];
      },
      code: TopologyErrorCode.UnknownReference,
      element: /^nodes\[0\] \(node9\)$/,
    },
    {
      what: 'a top-level node without uplinks',
      mutate: (d) => {
        d.nodes = [{ name: 'node9', rack: 'rack2', uplinks: [] }];
      },
      code: TopologyErrorCode.NoUplink,
      element: /^nodes\[0\] \(node9\)$/,
    },
    {
      what: 'a duplicate node name',
      mutate: (d) => {
        (d.racks as Rack[])[1]!.nodes[0]!.name = 'node1';
      },
      code: TopologyErrorCode.DuplicateName,
      element: /racks\[1\]\.nodes\[0\]/,
    },
    {
      what: 'a misspelt key',
      mutate: (d) => {
        (d.racks as Array<Record<string, unknown>>)[0]!.torz = [];
      },
      code: TopologyErrorCode.Invalid,
      element: /^racks\[0\]\.torz$/,
    },
    {
      what: 'a rack with three ToRs',
      mutate: (d) => {
        (d.racks as Rack[])[0]!.tors.push('tor1c');
      },
      code: TopologyErrorCode.Invalid,
      element: /racks\[0\] \(rack1\)/,
    },
    {
      what: 'a fabric range too small',
      mutate: (d) => {
        (d.fabric as Record<string, unknown>).ipv4 = '10.255.0.0/29';
      },
      code: TopologyErrorCode.AddressExhausted,
      element: /fabric\.ipv4/,
    },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const d = baseDoc();
      c.mutate(d);
      const e = errorOf(d);
      expect(e.code).toBe(c.code);
      expect(e.element).toMatch(c.element);
    });
  }

  it('puts a top-level node with a rack reference into that rack', () => {
    const d = baseDoc();
    d.nodes = [{ name: 'node9', rack: 'rack2', uplinks: ['tor2b'] }];
    const f = resolveTopology(parseTopology(stringify(d)));
    expect(f.devices.get('node9')).toMatchObject({ rack: 'rack2', asn: 65102 });
    expect(nodeBgpConfig(f, 'node9').peers.map((p) => p.peerName)).toEqual(['tor2b']);
  });

  it('accepts a shared ToR AS across racks when allowas-in is set, and FRR gets allowas-in', () => {
    const d = baseDoc();
    (d.racks as Rack[])[1]!.asn = 65101;
    (d.asn as Record<string, unknown>).allowasIn = true;
    const f = resolveTopology(parseTopology(stringify(d)));
    expect(f.devices.get('tor2a')!.asn).toBe(65101);
    expect(frrConfig(f, 'tor2a')).toContain('allowas-in 1');
  });

  it('uses explicit uplink addresses and keeps allocation out of their subnet', () => {
    const d = baseDoc();
    (d.racks as Rack[])[0]!.nodes[0]!.uplinks[0] = { tor: 'tor1a', address: '10.255.0.1/31', peerAddress: '10.255.0.0/31' };
    const f = resolveTopology(parseTopology(stringify(d)));
    const p = nodeBgpConfig(f, 'node1').peers[0]!;
    expect([p.localAddress, p.peerAddress]).toEqual(['10.255.0.1', '10.255.0.0']);
    const all = f.links.flatMap((l) => [...l.up.addresses, ...l.down.addresses]);
    expect(all.filter((a) => a.startsWith('10.255.0.0/') || a.startsWith('10.255.0.1/'))).toHaveLength(2);
  });
});

describe('generated FRR configs parse with FRR itself (vtysh -C)', () => {
  const variants: Array<[string, () => ReturnType<typeof loadTopology>]> = [
    ['default', () => loadTopology(defaultFile)],
    ['dual-stack', () => loadTopology(dualFile)],
    [
      'unnumbered',
      () => {
        const d = baseDoc();
        (d.fabric as Record<string, unknown>).unnumbered = true;
        return resolveTopology(parseTopology(stringify(d)));
      },
    ],
  ];
  for (const [name, load] of variants) {
    it(name, () => {
      const f = load();
      const dir = mkdtempSync(join(tmpdir(), 'ull-frrc-'));
      try {
        writeFileSync(join(dir, 'vtysh.conf'), '');
        for (const d of [...devicesOf(f, 'spine'), ...devicesOf(f, 'tor')]) {
          const conf = frrConfig(f, d.name);
          if (name === 'unnumbered') expect(conf).toMatch(d.role === 'tor' ? / neighbor eth1 interface peer-group SPINES\n/ : / neighbor eth1 interface peer-group TORS\n/);
          writeFileSync(join(dir, 'frr.conf'), conf);
          // Exit status 0 means every line parsed; FRR prints the offending line otherwise.
          execFileSync('vtysh', ['--config_dir', dir, '-C', '-f', join(dir, 'frr.conf')], { stdio: 'pipe' });
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('uplinkd configuration per node', () => {
  for (const file of [defaultFile, dualFile]) {
    it(`is accepted by uplinkd's and bgpd's own config parsers (${file.split('/').pop()})`, async () => {
      const { agentConfig } = await import('../agent-config.js');
      const { parseAgentConfig } = await import('../../uplinkd/config.js');
      const { parseBgpConfig } = await import('../../bgpd/config.js');
      const f = loadTopology(file);
      for (const n of devicesOf(f, 'node')) {
        const doc = parseYaml(stringify(agentConfig(f, n.name))) as unknown;
        const cfg = parseAgentConfig(doc);
        expect(cfg.nodeName).toBe(n.name);
        const bgp = parseBgpConfig(cfg.bgp);
        expect(bgp.asn).toBe(n.asn);
        expect(bgp.peers.map((p) => p.address ?? p.interface)).toEqual(nodeBgpConfig(f, n.name).peers.map((p) => p.peerAddress ?? p.interface));
      }
    });
  }
});
