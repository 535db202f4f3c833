// ADD / CHECK / DEL through the shim and the agent, driven by the spec-following runtime harness.
// Assertions read the kernel back with `ip -j` and IPAM from the datastore, not from the agent.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, type Netns } from '../../test/harness/netns.js';
import { CniPluginError } from '../../test/harness/cni-runtime.js';
import { TestNode, ensureAgentBuilt, ipamState, newPod, shimBinDir } from './support.js';

// Three probes 200 ms apart, success on any reply: the first packet of a path can wait for several
// neighbour resolutions on a loaded machine.
const PING = ['-c', '3', '-i', '0.2', '-W', '2'];

const POOLS = [{ name: 'v4', cidr: '10.70.0.0/24', blockSize: 28 }, { name: 'v6', cidr: 'fd00:70::/120', blockSize: 124 }];

interface IpAddr { ifname: string; address: string; mtu: number; flags: string[]; addr_info: Array<{ local: string; prefixlen: number; family: string; scope: string; nodad?: boolean }> }
interface IpRoute { dst: string; gateway?: string; dev: string; protocol?: string; flags?: string[] }

describe.skipIf(!isRoot)('uplink CNI: ADD/CHECK/DEL', () => {
  let node: TestNode | undefined;
  const pods: Netns[] = [];

  beforeAll(() => {
    ensureAgentBuilt();
    shimBinDir();
  });
  afterEach(() => {
    TestNode.destroyAll();
    for (const p of pods.splice(0)) p.destroy();
    node?.destroy();
    node = undefined;
  });

  // The agent's two dataplanes: native netlink (default) and iproute2 (when the addon is not built).
  const variants = [['0.4.0', 'netlink'], ['1.0.0', 'netlink'], ['1.1.0', 'netlink'], ['1.0.0', 'iproute']] as const;
  for (const [version, dataplane] of variants) {
    it(`attaches a dual-stack pod with a ${version} config (${dataplane}) and removes every trace on DEL`, async () => {
      node = await TestNode.start({ pools: POOLS, env: { UPLINK_TEST_DATAPLANE: dataplane } });
      const pod = newPod();
      pods.push(pod);
      const rt = node.runtime();
      const list = node.conflist(version);
      const att = { containerId: `ctr${version.replace(/\./g, '')}${dataplane}`, netns: pod.path, ifname: 'eth0', args: [['K8S_POD_NAME', 'web-0'], ['K8S_POD_NAMESPACE', 'prod']] as Array<[string, string]> };
      const res = await rt.add(list, att) as { cniVersion: string; interfaces: Array<{ name: string; mac: string; sandbox?: string }>; ips: Array<{ address: string; version?: string; interface: number }> };

      // Result in the config's version, with the MACs podman insists on.
      expect(res.cniVersion).toBe(version);
      const ctr = res.interfaces.find((i) => i.sandbox === pod.path);
      const host = res.interfaces.find((i) => !i.sandbox);
      expect(ctr?.name).toBe('eth0');
      expect(ctr?.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(host?.name).toMatch(/^upl[0-9a-f]{11}$/);
      const v4 = res.ips.find((i) => !i.address.includes(':'))!.address;
      const v6 = res.ips.find((i) => i.address.includes(':'))!.address;
      expect(v4).toMatch(/^10\.70\.0\.\d+\/32$/);
      expect(v6).toMatch(/^fd00:70::[0-9a-f]*\/128$/);
      if (version === '0.4.0') expect(res.ips.map((i) => i.version).sort()).toEqual(['4', '6']);
      else expect(res.ips.every((i) => i.version === undefined)).toBe(true);

      // Container side, read from the kernel.
      const [link] = pod.ipJson<IpAddr[]>('addr', 'show', 'dev', 'eth0');
      expect(link!.mtu).toBe(1400);
      expect(link!.flags).toContain('UP');
      const globals = link!.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
      expect(globals.sort()).toEqual([v4, v6].sort());
      expect(pod.exec('cat', ['/proc/sys/net/ipv6/conf/eth0/accept_dad']).trim()).toBe('0');
      // No DAD wait: the kernel clears "tentative" from its address workqueue at once when DAD is off
      // (it can show for a moment on a loaded machine); with DAD on it stays >= 1 s (RFC 4862 §5.4,
      // RetransTimer 1000 ms). So: no tentative IPv6 address within 500 ms of the ADD returning.
      let tentative: unknown[] = [];
      for (const deadline = Date.now() + 500; ;) {
        const [l] = pod.ipJson<IpAddr[]>('addr', 'show', 'dev', 'eth0');
        tentative = l!.addr_info.filter((a) => a.family === 'inet6' && (a as { tentative?: boolean }).tentative);
        if (tentative.length === 0 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(tentative).toEqual([]);
      const r4 = pod.ipJson<IpRoute[]>('route', 'show', 'default');
      expect(r4).toEqual([expect.objectContaining({ gateway: '169.254.1.1', dev: 'eth0', flags: expect.arrayContaining(['onlink']) })]);
      const r6 = pod.ipJson<IpRoute[]>('-6', 'route', 'show', 'default');
      expect(r6).toEqual([expect.objectContaining({ gateway: 'fe80::1', dev: 'eth0' })]);

      // Host side, in the node's netns.
      const [hl] = node.ns.ipJson<IpAddr[]>('addr', 'show', 'dev', host!.name);
      expect(hl!.flags).toContain('UP');
      expect(hl!.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toContain('fe80::1/64');
      expect(node.ns.exec('cat', [`/proc/sys/net/ipv4/conf/${host!.name}/proxy_arp`]).trim()).toBe('1');
      const hr4 = node.ns.ipJson<IpRoute[]>('route', 'show', v4.replace('/32', ''));
      expect(hr4).toEqual([expect.objectContaining({ dev: host!.name, protocol: expect.stringMatching(/^(uplink|77)$/) })]);
      const hr6 = node.ns.ipJson<IpRoute[]>('-6', 'route', 'show', v6);
      expect(hr6).toEqual([expect.objectContaining({ dev: host!.name, protocol: expect.stringMatching(/^(uplink|77)$/) })]);

      // IPAM holds the handle with the pod's attributes.
      expect((await ipamState(node)).handles).toEqual([`${att.containerId}.eth0`]);

      // CHECK passes against the cached result (from 0.4.0 on).
      await rt.check(list, att);

      // The pod reaches the node through the link-local gateway.
      node.ns.ip('addr', 'add', '10.99.0.1/32', 'dev', 'lo');
      pod.exec('ping', [...PING, '10.99.0.1']);

      await rt.del(list, att);
      expect(node.ns.ipJson<IpAddr[]>('link', 'show', 'type', 'veth')).toEqual([]);
      expect(pod.ipJson<IpAddr[]>('link', 'show', 'type', 'veth')).toEqual([]);
      expect(node.ns.ipJson<IpRoute[]>('route', 'show', 'proto', '77')).toEqual([]);
      expect(await ipamState(node)).toEqual({ handles: [], addresses: [] });
      // DEL again: idempotent.
      await rt.del(list, att);
    });
  }

  it('a config naming pools allocates from those only (v4 pool alone: a v4-only attachment)', async () => {
    node = await TestNode.start({ pools: POOLS });
    const pod = newPod();
    pods.push(pod);
    const rt = node.runtime();
    const list = node.conflist('1.0.0', [node.uplinkConf({ pools: ['v4'] })]);
    const res = await rt.add(list, { containerId: 'v4only', netns: pod.path, ifname: 'eth0' }) as { ips: Array<{ address: string }>; routes: Array<{ dst: string }> };
    expect(res.ips.map((i) => i.address)).toEqual([expect.stringMatching(/^10\.70\.0\.\d+\/32$/)]);
    expect(res.routes).toEqual([{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);
    expect(pod.ipJson('-6', 'route', 'show', 'default')).toEqual([]);
    await rt.check(list, { containerId: 'v4only', netns: pod.path, ifname: 'eth0' });
    await rt.del(list, { containerId: 'v4only', netns: pod.path, ifname: 'eth0' });
  });

  it('CHECK fails with the mismatch spelled out when the pod address is removed', async () => {
    node = await TestNode.start({ pools: POOLS });
    const pod = newPod();
    pods.push(pod);
    const rt = node.runtime();
    const list = node.conflist('1.0.0');
    const att = { containerId: 'ctrcheck1', netns: pod.path, ifname: 'eth0' };
    const res = await rt.add(list, att) as { ips: Array<{ address: string }> };
    const v4 = res.ips.find((i) => !i.address.includes(':'))!.address;
    pod.ip('addr', 'del', v4, 'dev', 'eth0');
    const err = await rt.check(list, att).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    expect((err as CniPluginError).cniCode).toBe(102);
    expect((err as CniPluginError).details).toContain(`eth0 lacks address ${v4}`);
    await rt.del(list, att);
  });

  it('DEL succeeds after the netns is gone, and again with no record at all', async () => {
    node = await TestNode.start({ pools: POOLS });
    const pod = newPod();
    const rt = node.runtime();
    const list = node.conflist('1.0.0');
    const att = { containerId: 'ctrgone1', netns: pod.path, ifname: 'eth0' };
    await rt.add(list, att);
    pod.destroy(); // the veth pair dies with the netns
    await rt.del(list, { ...att, netns: '' });
    expect(await ipamState(node)).toEqual({ handles: [], addresses: [] });
    await rt.del(list, { ...att, netns: '' });
    await rt.del(list, { containerId: 'never-added', netns: '', ifname: 'eth0' });
  });
});
