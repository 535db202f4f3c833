// Pods reach each other and their node: two pods on one node, and pods on two "nodes" (each a netns
// running its own agent, joined by a routed veth link with static routes for the other node's pool).
// Also 50 concurrent ADDs on one node: all succeed, no address twice, nothing left after 50 DELs.
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot, link, type Netns } from '../../test/harness/netns.js';
import { TestNode, ipamState, newPod } from './support.js';

// Three probes 200 ms apart, success on any reply: the first packet of a path can wait for several
// neighbour resolutions on a loaded machine.
const PING = ['-c', '3', '-i', '0.2', '-W', '2'];

type Res = { ips: Array<{ address: string }> };
const addr = (r: Res, v6: boolean): string => r.ips.find((i) => i.address.includes(':') === v6)!.address.split('/')[0]!;

describe.skipIf(!isRoot)('uplink CNI: connectivity and concurrency', () => {
  const nodes: TestNode[] = [];
  const pods: Netns[] = [];
  afterEach(() => {
    TestNode.destroyAll();
    for (const p of pods.splice(0)) p.destroy();
    for (const n of nodes.splice(0)) n.destroy();
  });
  const pod = (): Netns => {
    const p = newPod();
    pods.push(p);
    return p;
  };

  it('two pods on one node ping each other and the node over IPv4 and IPv6', async () => {
    const node = await TestNode.start({ pools: [{ name: 'v4', cidr: '10.76.0.0/24', blockSize: 28 }, { name: 'v6', cidr: 'fd00:76::/120', blockSize: 124 }] });
    nodes.push(node);
    node.ns.ip('addr', 'add', '10.99.1.1/32', 'dev', 'lo');
    node.ns.ip('addr', 'add', 'fd00:99:1::1/128', 'dev', 'lo');
    const rt = node.runtime();
    const list = node.conflist('1.0.0');
    const [a, b] = [pod(), pod()];
    const ra = await rt.add(list, { containerId: 'pinga', netns: a.path, ifname: 'eth0' }) as Res;
    const rb = await rt.add(list, { containerId: 'pingb', netns: b.path, ifname: 'eth0' }) as Res;
    a.exec('ping', [...PING, addr(rb, false)]);
    b.exec('ping', [...PING, addr(ra, false)]);
    a.exec('ping', ['-6', ...PING, addr(rb, true)]);
    a.exec('ping', [...PING, '10.99.1.1']);
    a.exec('ping', ['-6', ...PING, 'fd00:99:1::1']);
    // And the node reaches the pod (its /32 route via the host veth).
    node.ns.exec('ping', [...PING, addr(ra, false)]);
  });

  it('pods on two nodes joined by a routed link ping each other and the other node', async () => {
    const na = await TestNode.start({ node: 'node-a', pools: [{ name: 'v4', cidr: '10.77.0.0/24', blockSize: 28 }, { name: 'v6', cidr: 'fd00:77::/120', blockSize: 124 }] });
    nodes.push(na);
    const nb = await TestNode.start({ node: 'node-b', pools: [{ name: 'v4', cidr: '10.78.0.0/24', blockSize: 28 }, { name: 'v6', cidr: 'fd00:78::/120', blockSize: 124 }] });
    nodes.push(nb);
    link(na.ns, 'tob', nb.ns, 'toa', ['10.200.0.1/30', 'fd00:200::1/126'], ['10.200.0.2/30', 'fd00:200::2/126']);
    na.ns.ip('route', 'add', '10.78.0.0/24', 'via', '10.200.0.2');
    na.ns.ip('-6', 'route', 'add', 'fd00:78::/120', 'via', 'fd00:200::2');
    nb.ns.ip('route', 'add', '10.77.0.0/24', 'via', '10.200.0.1');
    nb.ns.ip('-6', 'route', 'add', 'fd00:77::/120', 'via', 'fd00:200::1');
    const [pa, pb] = [pod(), pod()];
    const ra = await na.runtime().add(na.conflist('1.1.0'), { containerId: 'xa', netns: pa.path, ifname: 'eth0' }) as Res;
    const rb = await nb.runtime().add(nb.conflist('1.1.0'), { containerId: 'xb', netns: pb.path, ifname: 'eth0' }) as Res;
    expect(addr(ra, false)).toMatch(/^10\.77\./);
    expect(addr(rb, false)).toMatch(/^10\.78\./);
    pa.exec('ping', [...PING, addr(rb, false)]);
    pb.exec('ping', [...PING, addr(ra, false)]);
    pa.exec('ping', ['-6', ...PING, addr(rb, true)]);
    pb.exec('ping', ['-6', ...PING, addr(ra, true)]);
    // The other node's link address.
    pa.exec('ping', [...PING, '10.200.0.2']);
    pb.exec('ping', ['-6', ...PING, 'fd00:200::1']);
  });

  it('50 concurrent ADDs all succeed with distinct addresses; 50 DELs leave nothing', async () => {
    const node = await TestNode.start({ pools: [{ name: 'v4', cidr: '10.79.0.0/24' }, { name: 'v6', cidr: 'fd00:79::/120' }] });
    nodes.push(node);
    const rt = node.runtime();
    const list = node.conflist('1.0.0');
    const atts = Array.from({ length: 50 }, (_, i) => ({ containerId: `conc${i}`, netns: pod().path, ifname: 'eth0' }));
    const results = await Promise.all(atts.map((a) => rt.add(list, a) as Promise<Res>));
    const v4 = results.map((r) => addr(r, false));
    const v6 = results.map((r) => addr(r, true));
    expect(new Set(v4).size).toBe(50);
    expect(new Set(v6).size).toBe(50);
    expect(node.ns.ipJson<unknown[]>('link', 'show', 'type', 'veth')).toHaveLength(50);
    expect((await ipamState(node)).addresses).toHaveLength(100);
    // Every pod actually holds the address IPAM gave it.
    for (const [i, a] of atts.entries()) {
      const p = pods[i]!;
      expect(p.ip('-4', 'addr', 'show', 'dev', 'eth0')).toContain(v4[i]);
      expect(a.netns).toBe(p.path);
    }
    await Promise.all(atts.map((a) => rt.del(list, a)));
    expect(node.ns.ipJson('link', 'show', 'type', 'veth')).toEqual([]);
    expect(node.ns.ipJson('route', 'show', 'proto', '77')).toEqual([]);
    expect(await ipamState(node)).toEqual({ handles: [], addresses: [] });
  });
});
