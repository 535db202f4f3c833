// Issue 6, BGP unnumbered end to end: uplinkd with `interface:` peers in a namespace lab against real FRR
// (`neighbor IF interface`). The smallest fabric that proves it (topology/examples/unnumbered-small.yaml):
// one spine, two racks of one ToR and one node, no address on any fabric link. Read back from FRR, from
// uplinkd (uplinkctl) and from the kernels:
//   - every session, ToR-spine and node-ToR, Established; uplinkd's peer is the ToR's link-local
//     address on eth1, learned from its router advertisements;
//   - pods on the two racks ping each other over IPv4 and IPv6;
//   - the node's kernel route to the other rack's IPv4 pod block goes via an IPv6 link-local next hop
//     on the uplink (RFC 8950: IPv4 NLRI with an IPv6 next hop, installed as RTA_VIA).
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLab } from '../../topology/clab.js';
import { loadTopology } from '../../topology/resolve.js';
import { addPod, type AddPodResult } from '../pods.js';
import { down, execIn, up, type LabOptions } from '../runner.js';
import { waitBgp } from '../wait.js';
import { run } from '../sys.js';
import { eventually, ipJson, namespacesWith, testPrefix } from './lab-util.js';

const isRoot = process.getuid?.() === 0;
const REPO = join(import.meta.dirname, '..', '..');
const MODEL = join(REPO, 'topology', 'examples', 'unnumbered-small.yaml');
// Pods need the CNI shim, the agents dist/ (both from `npm run build`).
const built = existsSync(join(REPO, 'build', 'Release', 'uplink_cni_shim')) && existsSync(join(REPO, 'dist', 'uplinkd', 'main.js'));

interface Neighbor {
  name: string;
  state: string;
  address?: string;
  remoteAddress?: string;
}

interface Route {
  dst: string;
  dev?: string;
  gateway?: string;
  via?: { family: string; host: string };
  nexthops?: Array<{ dev?: string; gateway?: string; via?: { family: string; host: string } }>;
}

const v4 = (p: AddPodResult['pod']): string => p.ips.find((ip) => !ip.includes(':'))!;
const v6 = (p: AddPodResult['pod']): string => p.ips.find((ip) => ip.includes(':'))!;

function ipv4Int(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

/** The IPv4 route in `routes` whose prefix holds `ip` (longest match). */
function routeFor(routes: Route[], ip: string): Route | undefined {
  let best: Route | undefined;
  let bestLen = -1;
  for (const r of routes) {
    const [net, len] = r.dst.split('/');
    if (!net || !len || net.includes(':')) continue;
    const l = Number(len);
    // Compare the top l bits by division: 32-bit bitwise ops would go negative for high addresses.
    const inside = Math.floor(ipv4Int(ip) / 2 ** (32 - l)) === Math.floor(ipv4Int(net) / 2 ** (32 - l));
    if (inside && l > bestLen) {
      best = r;
      bestLen = l;
    }
  }
  return best;
}

function pingOk(netns: string, ip: string): boolean {
  return run('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', ip], { allowFail: true }).includes(' 0% packet loss');
}

describe.skipIf(!isRoot || !built)('unnumbered lab: uplinkd interface peers against FRR', () => {
  const prefix = testPrefix();
  let dir = '';
  let file = '';
  let opts: LabOptions = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'uls-unnum-'));
    // FRR runs as the frr user and must traverse to its private dir under the state dir.
    chmodSync(dir, 0o755);
    opts = { prefix, stateDir: join(dir, '.state') };
  });

  afterAll(async () => {
    if (file) await down(file, opts);
    expect(namespacesWith(prefix)).toEqual([]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sessions Established on interface peers, cross-rack pod pings, IPv4 routes via IPv6 link-local', async () => {
    const fabric = loadTopology(MODEL);
    expect(fabric.spec.fabric.unnumbered).toBe(true);
    file = writeLab(fabric, dir, { agent: { root: join(dir, 'agents') } });
    await up(file, opts);
    // Every neighbour of every FRR node Established: spine-ToR and ToR-node (uplinkd), all unnumbered.
    await waitBgp(file, opts, 45_000);
    const lab = fabric.spec.name;
    const nsOf = (node: string): string => `${prefix}-${lab}-${node}`;

    // FRR's view of the node session: an interface peer on eth2 (the ToR's port to the node).
    for (const tor of ['tor1a', 'tor2a']) {
      const j = JSON.parse(execIn(file, tor, ['vtysh', '-c', 'show bgp neighbors eth2 json'], opts)) as Record<string, { bgpState?: string; bgpNeighborAddr?: string }>;
      expect(j.eth2?.bgpState, `${tor} eth2`).toBe('Established');
    }

    // uplinkd's view: its one peer is the interface peer on eth1, Established with the ToR's link-local.
    for (const node of ['node1', 'node2']) {
      const cfg = join(dir, node, 'uplinkd.yaml');
      const sock = join(dir, 'agents', node, 'run', 'control.sock');
      const out = execFileSync(process.execPath, [join(REPO, 'dist', 'uplinkctl', 'main.js'), '-c', cfg, '-s', sock, '-o', 'json', 'show', 'neighbors'], { encoding: 'utf8', timeout: 20_000 });
      const parsed = JSON.parse(out) as Neighbor[] | { neighbors: Neighbor[] };
      const neighbors = Array.isArray(parsed) ? parsed : parsed.neighbors;
      expect(neighbors, out).toHaveLength(1);
      expect(neighbors[0]!.state, out).toBe('Established');
      expect(neighbors[0]!.address ?? neighbors[0]!.remoteAddress ?? '', out).toMatch(/^fe80:/i);
    }

    // Pods on both racks; pings across the spine over both families.
    const a = addPod(file, 'node1', 'web1', opts).pod;
    const b = addPod(file, 'node2', 'web1', opts).pod;
    expect([v4(a), v6(a), v4(b), v6(b)].every(Boolean)).toBe(true);
    for (const [from, to] of [
      [a.netns, v4(b)],
      [b.netns, v4(a)],
      [a.netns, v6(b)],
      [b.netns, v6(a)],
    ] as const) {
      await eventually(`${from} pings ${to}`, () => (pingOk(from, to) ? true : undefined), 20_000, 250);
    }

    // node1's kernel route to node2's pod block: via an IPv6 link-local address on eth1 (RFC 8950).
    const route = await eventually(
      `node1 has a route to ${v4(b)}`,
      () => {
        const r = routeFor(ipJson<Route[]>(nsOf('node1'), 'route', 'show'), v4(b));
        return r && r.dst !== 'default' ? r : undefined;
      },
      10_000,
    );
    const hops = route.nexthops ?? [route];
    expect(hops.length, JSON.stringify(route)).toBeGreaterThan(0);
    for (const h of hops) {
      expect(h.dev, JSON.stringify(route)).toBe('eth1');
      expect(h.via?.family, JSON.stringify(route)).toBe('inet6');
      expect(h.via?.host ?? '', JSON.stringify(route)).toMatch(/^fe80:/i);
    }
    // And the link has no IPv4 address at all: the IPv4 route has nothing else to stand on.
    const addrs = ipJson<Array<{ addr_info: Array<{ family: string }> }>>(nsOf('node1'), 'addr', 'show', 'dev', 'eth1');
    expect(addrs[0]!.addr_info.filter((x) => x.family === 'inet')).toEqual([]);
  }, 120_000);
});
