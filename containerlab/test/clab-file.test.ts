// Reading .clab.yml files: containerlab's inheritance, binds, links, naming; FRR daemons files.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLabTopology, namespaceName, parseLabTopology } from '../clab-file.js';
import { LabError, LabErrorCode } from '../errors.js';
import { parseDaemonsFile } from '../frr-node.js';
import { classify } from '../roles.js';
import { splitWords } from '../shell-words.js';
import { readFileSync } from 'node:fs';

const FRR01 = join(import.meta.dirname, '..', 'examples', 'frr01');

describe('containerlab topology file', () => {
  it('reads frr01: groups give kind and image, binds resolve against the file\'s dir', () => {
    const t = loadLabTopology(join(FRR01, 'frr01.clab.yml'));
    expect(t.name).toBe('frr01');
    const r1 = t.nodes.find((n) => n.name === 'router1')!;
    expect(r1).toMatchObject({ kind: 'linux', image: 'quay.io/frrouting/frr:10.5.1' });
    expect(r1.binds).toEqual([
      { host: join(FRR01, 'router1/daemons'), container: '/etc/frr/daemons', readOnly: false },
      { host: join(FRR01, 'router1/frr.conf'), container: '/etc/frr/frr.conf', readOnly: false },
    ]);
    const pc1 = t.nodes.find((n) => n.name === 'PC1')!;
    expect(pc1.exec[1]).toBe('ip addr add 192.168.11.2/24 dev eth1');
    expect(t.links).toHaveLength(6);
    expect(t.links[3]).toEqual({ a: { node: 'PC1', iface: 'eth1' }, b: { node: 'router1', iface: 'eth3' }, mtu: 9500 });
    expect(t.nodes.map((n) => classify(n))).toEqual(['frr', 'frr', 'frr', 'plain', 'plain', 'plain']);
  });

  it('inherits node > group > kind > defaults; merges env and binds, takes exec whole', () => {
    const t = parseLabTopology(
      `name: inh
topology:
  defaults: { kind: linux, env: { A: d, B: d }, binds: ["d.conf:/etc/x.conf"] }
  kinds: { linux: { image: kind-img, env: { B: k }, exec: ["echo kind"] } }
  groups: { g: { image: group-img, env: { C: g } } }
  nodes:
    n1: { group: g, env: { C: n }, binds: ["n.conf:/etc/x.conf:ro"] }
    n2: { exec: ["echo n2"] }
`,
      '/lab',
    );
    const [n1, n2] = t.nodes;
    expect(n1).toMatchObject({ kind: 'linux', image: 'group-img', env: { A: 'd', B: 'k', C: 'n' }, exec: ['echo kind'] });
    expect(n1!.binds).toEqual([{ host: '/lab/n.conf', container: '/etc/x.conf', readOnly: true }]);
    expect(n2).toMatchObject({ image: 'kind-img', exec: ['echo n2'], env: { A: 'd', B: 'k' } });
  });

  it('rejects links to unknown nodes, reused endpoints and link types it cannot emulate', () => {
    const mk = (links: string): unknown => {
      try {
        parseLabTopology(`name: l\ntopology:\n  nodes: { a: { kind: linux }, b: { kind: linux } }\n  links:\n${links}`, '/');
      } catch (err) {
        return err;
      }
      return undefined;
    };
    const e1 = mk('    - endpoints: ["a:eth1", "c:eth1"]\n') as LabError;
    expect(e1.code).toBe(LabErrorCode.BadTopology);
    expect(e1.message).toMatch(/links\[0\]\.endpoints\[1\]: unknown node "c"/);
    expect((mk('    - endpoints: ["a:eth1", "b:eth1"]\n    - endpoints: ["a:eth1", "b:eth2"]\n') as LabError).message).toMatch(/already used/);
    expect((mk('    - endpoints: ["a:eth1", "host:veth9"]\n') as LabError).code).toBe(LabErrorCode.Unsupported);
    expect(mk('    - endpoints: ["a:eth1", "b:eth1"]\n')).toBeUndefined();
  });

  it('names namespaces like containerlab names containers', () => {
    expect(namespaceName({ name: 'frr01', prefix: undefined }, 'PC1')).toBe('clab-frr01-PC1');
    expect(namespaceName({ name: 'frr01', prefix: '' }, 'PC1')).toBe('PC1');
    expect(namespaceName({ name: 'frr01', prefix: 'ull1' }, 'PC1')).toBe('ull1-frr01-PC1');
  });

  it('splits exec lines like a shell, without one', () => {
    expect(splitWords(`ip route add 10.0.0.0/8 via 1.2.3.4`)).toEqual(['ip', 'route', 'add', '10.0.0.0/8', 'via', '1.2.3.4']);
    expect(splitWords(`sh -c 'echo "a b" | wc -c'`)).toEqual(['sh', '-c', 'echo "a b" | wc -c']);
    expect(splitWords(`echo "x \\"y\\"" z\\ w`)).toEqual(['echo', 'x "y"', 'z w']);
    expect(() => splitWords(`echo 'open`)).toThrow(LabError);
  });

  it('reads FRR daemons files in frrcommon.sh order, zebra and staticd always, minus --daemon', () => {
    const d = parseDaemonsFile(readFileSync(join(FRR01, 'router1', 'daemons'), 'utf8'));
    expect(d.map((x) => x.name)).toEqual(['zebra', 'ospfd', 'ldpd', 'staticd']);
    expect(d[0]!.options).toEqual(['-s', '90000000', '-A', '127.0.0.1']);
  });
});

describe('agent image mapping', () => {
  const node = (image: string, labels: Record<string, string> = {}) => ({ name: 'n', kind: 'linux', image, binds: [], exec: [], env: {}, labels });
  it('recognises uplink images and the agent label, and nothing else', () => {
    expect(classify(node('ghcr.io/uplink-net/uplink:0.1.0'))).toBe('agent');
    expect(classify(node('uplink/agent:dev'))).toBe('agent');
    expect(classify(node('alpine:3', { 'uplink.dev/agent': 'true' }))).toBe('agent');
    expect(classify(node('ghcr.io/uplink-net/uplinkctl:1'))).toBe('plain');
    expect(classify(node('wbitt/network-multitool:3.22.2'))).toBe('plain');
    expect(classify(node('docker.io/pierky/bird:2.14'))).toBe('bird');
  });
});
