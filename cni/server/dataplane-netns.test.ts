// IprouteDataplane with its host side in another namespace (the agent of a simulated node sharing a
// process with other nodes' agents, uplinkd/agent-group.ts): every host-side step lands in the node's
// namespace and none in ours. Read back from the kernel with `ip -j`.
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot, Netns, run } from '../../test/harness/netns.js';
import { IprouteDataplane, type LinkPlan } from './dataplane.js';

describe.skipIf(!isRoot)('IprouteDataplane host side in a node namespace', () => {
  const made: Netns[] = [];
  afterEach(() => {
    for (const ns of made.splice(0)) ns.destroy();
  });

  it('creates, configures, inspects, routes and deletes the host end inside the node namespace', async () => {
    const node = Netns.create('ulm');
    const pod = Netns.create('ulm');
    made.push(node, pod);
    const dp = new IprouteDataplane({ netns: node.path });
    const hostIf = `ulm${node.name.slice(-6)}`;
    const plan: LinkPlan = {
      hostIf, hostMac: '02:00:00:00:10:01', ctrIf: 'eth0', ctrMac: '02:00:00:00:10:02',
      netns: pod.path, mtu: 1400, ipv4: '10.244.7.5', ipv6: 'fd00:244::7:5',
    };
    await dp.enableForwarding();
    await dp.createVeth(plan);
    await dp.configureContainer(plan);
    await dp.configureHost(plan);
    await dp.addHostRoutes(plan);

    // Not in our namespace; in the node's, up, with fe80::1, proxy ARP and the pod's routes.
    expect(run('ip', ['link', 'show', 'dev', hostIf], { allowFail: true })).toBe('');
    const link = node.ipJson<Array<{ ifname: string; mtu: number; flags: string[] }>>('link', 'show', 'dev', hostIf)[0]!;
    expect(link.mtu).toBe(1400);
    expect(link.flags).toContain('UP');
    expect(node.exec('cat', [`/proc/sys/net/ipv4/conf/${hostIf}/proxy_arp`]).trim()).toBe('1');
    expect(node.exec('cat', ['/proc/sys/net/ipv4/ip_forward']).trim()).toBe('1');
    const r4 = node.ipJson<Array<{ dst: string; protocol: string }>>('-4', 'route', 'show', 'dev', hostIf);
    // iproute2 prints our protocol by name where rt_protos.d names it ("77 uplink").
    expect(r4.filter((r) => r.dst === '10.244.7.5').map((r) => r.protocol)).toEqual([expect.stringMatching(/^(77|uplink)$/)]);
    const host = await dp.inspectHost(hostIf);
    expect(host?.addrs).toContain('fe80::1/64');
    expect(host?.routes.map((r) => r.dst)).toEqual(expect.arrayContaining(['10.244.7.5', 'fd00:244::7:5']));
    expect(await dp.listHostLinks('ulm')).toEqual([hostIf]);
    // The pod side is reachable through the node's end (the node's source address on lo, as a
    // node's loopback): the path the agent sets up works, proxy ARP for 169.254.1.1 included.
    node.ip('addr', 'add', '10.1.1.1/32', 'dev', 'lo');
    expect(node.exec('ping', ['-c', '1', '-W', '2', '10.244.7.5'], { allowFail: true })).toContain(' 0% packet loss');

    await dp.deleteHostRoutes(plan);
    expect(node.ipJson<unknown[]>('-4', 'route', 'show', 'dev', hostIf)).toEqual([]);
    expect(await dp.deleteVeth(hostIf)).toBe(true);
    expect(await dp.deleteVeth(hostIf)).toBe(false);
    expect(await dp.inspectHost(hostIf)).toBeNull();
    expect(pod.exec('ip', ['link', 'show', 'dev', 'eth0'], { allowFail: true })).toBe('');
  }, 30_000);
});
