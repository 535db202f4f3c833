// uplink inside a conflist chain with the reference plugins portmap, bandwidth and tuning
// (containernetworking-plugins from /usr/lib/cni): each gets the previous result, CHECK walks the chain
// with the cached result, DEL runs it in reverse; the plugins' state is read back from the kernel.
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot, type Netns } from '../../test/harness/netns.js';
import { CniPluginError } from '../../test/harness/cni-runtime.js';
import { TestNode, newPod } from './support.js';

describe.skipIf(!isRoot)('uplink CNI in a chain with portmap, bandwidth and tuning', () => {
  let node: TestNode | undefined;
  let pod: Netns | undefined;
  afterEach(() => {
    TestNode.destroyAll();
    pod?.destroy();
    node?.destroy();
    pod = node = undefined;
  });

  it('ADD, CHECK and DEL pass prevResult along and clean up every plugin', async () => {
    // IPv4 only: Debian 12's portmap (plugins 1.1.1) fails CHECK on any dual-stack result, looking for
    // the IPv4 DNAT rule in ip6tables ("could not check ipv6 dnat ... 10.x:80 not found"); dual stack
    // without chaining is covered in attach.test.ts.
    node = await TestNode.start({ pools: [{ name: 'v4', cidr: '10.75.0.0/24', blockSize: 28 }] });
    pod = newPod();
    const rt = node.runtime();
    const list = node.conflist('1.0.0', [
      node.uplinkConf(),
      { type: 'portmap', capabilities: { portMappings: true }, snat: false },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
      { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.rp_filter': '2' } },
    ]);
    const att = {
      containerId: 'chain1', netns: pod.path, ifname: 'eth0',
      capabilityArgs: {
        portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }],
        bandwidth: { ingressRate: 8_000_000, ingressBurst: 80_000, egressRate: 8_000_000, egressBurst: 80_000 },
      },
    };
    const res = await rt.add(list, att) as { cniVersion: string; interfaces: Array<{ name: string; mac?: string; sandbox?: string }>; ips: Array<{ address: string }> };
    expect(res.cniVersion).toBe('1.0.0');
    const v4 = res.ips.find((i) => !i.address.includes(':'))!.address.replace('/32', '');
    const hostIf = res.interfaces.find((i) => i.name.startsWith('upl'))!.name;
    // bandwidth adds its ifb device to the result after ours: prevResult reached it intact.
    expect(res.interfaces.map((i) => i.name)).toEqual(expect.arrayContaining([hostIf, 'eth0']));

    // portmap: a DNAT rule to the pod's address in the node's netns.
    const nat = node.ns.exec('iptables-save', ['-t', 'nat']);
    expect(nat).toContain(`--to-destination ${v4}:80`);
    expect(nat).toContain('--dport 18080');
    // bandwidth: a tbf qdisc on the host veth (ingress shaping of the pod).
    expect(node.ns.exec('tc', ['qdisc', 'show', 'dev', hostIf])).toContain('tbf');
    // tuning: the sysctl inside the pod.
    expect(pod.exec('cat', ['/proc/sys/net/ipv4/conf/eth0/rp_filter']).trim()).toBe('2');

    // Debian 12's portmap (plugins 1.1.1) cannot pass CHECK when ip6tables is usable: checkPorts looks
    // for the IPv4 DNAT chain in ip6tables too (fixed upstream after 1.1.1). Pin that, so the test says
    // so when Debian ships a fixed portmap, and CHECK the rest of the chain with the same cached result.
    const pmErr = await rt.check(list, att).catch((e: unknown) => e);
    expect(pmErr).toBeInstanceOf(CniPluginError);
    expect((pmErr as CniPluginError).plugin).toBe('portmap');
    expect((pmErr as CniPluginError).msg).toContain('could not check ipv6 dnat');
    await rt.check({ ...list, plugins: list.plugins.filter((p) => p.type !== 'portmap') }, att);

    await rt.del(list, att);
    expect(node.ns.exec('iptables-save', ['-t', 'nat'])).not.toContain(v4);
    expect(node.ns.ipJson('link', 'show', 'type', 'veth')).toEqual([]);
    expect(node.ns.ipJson('link', 'show', 'type', 'ifb')).toEqual([]);
    // A second DEL after everything is gone succeeds through the whole chain.
    await rt.del(list, { ...att, netns: '' });
  });
});
