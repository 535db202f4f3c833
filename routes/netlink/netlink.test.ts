// The netlink layer against the real kernel, in namespaces made and removed by each test. Every
// assertion reads state back with `ip -j` (iproute2), not from our own bookkeeping.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Netns } from '../../test/harness/netns.js';
import { NetlinkError, NetlinkHandle, UPLINK_RT_PROTO, UPLINK_RT_PROTO_NAME, readSysctl, writeSysctl, type Route } from './index.js';

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  type?: string;
  metric?: number;
  flags?: string[];
  via?: { family: string; host: string };
  nexthops?: Array<{ gateway?: string; dev?: string; weight?: number; via?: { family: string; host: string } }>;
}

let ns: Netns;
let h: NetlinkHandle;

beforeEach(() => {
  ns = Netns.create('ulr');
  // A connected subnet for gateways: a veth pair inside the namespace.
  ns.ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  ns.ip('addr', 'add', '10.9.0.1/24', 'dev', 'v0');
  ns.ip('addr', 'add', '10.9.1.1/24', 'dev', 'v1');
  ns.ip('addr', 'add', 'fd00:9::1/64', 'dev', 'v0', 'nodad');
  ns.ip('link', 'set', 'v0', 'up');
  ns.ip('link', 'set', 'v1', 'up');
  h = new NetlinkHandle(ns.path);
});

afterEach(async () => {
  try {
    await h.close();
  } finally {
    ns.destroy();
  }
});

function ipRoutes(...args: string[]): IpRoute[] {
  return ns.ipJson<IpRoute[]>('route', 'show', ...args);
}

describe('routes', () => {
  it('batch-adds 100k IPv4 routes in one call and dumps them all back', async () => {
    const n = 100_000;
    const routes: Route[] = [];
    for (let i = 0; i < n; i++) {
      routes.push({ dst: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, nexthops: [{ gateway: '10.9.0.2' }] });
    }
    const res = await h.addRoutes(routes);
    expect(res.failures).toEqual([]);
    expect(res.ok).toBe(n);
    const dumped = await h.dumpRoutes({ family: 4, protocol: UPLINK_RT_PROTO });
    expect(dumped.length).toBe(n);
    expect(new Set(dumped.map((r) => r.dst))).toEqual(new Set(routes.map((r) => r.dst)));
    // iproute2 agrees on the count and on one sample.
    const out = execFileSync('ip', ['-n', ns.name, '-4', 'route', 'show', 'proto', String(UPLINK_RT_PROTO)], { maxBuffer: 256 << 20, encoding: 'utf8' });
    const count = out.trim().split('\n').length;
    expect(count).toBe(n);
    const sample = ipRoutes('10.101.134.159/32');
    expect(sample[0]?.gateway).toBe('10.9.0.2');
    // iproute2 prints the name once scripts/bootstrap.sh registered it in rt_protos.d, else the number.
    expect([String(UPLINK_RT_PROTO), UPLINK_RT_PROTO_NAME]).toContain(sample[0]?.protocol);
  }, 120_000);

  it('reports per-route failures by index and applies the rest', async () => {
    const res = await h.applyRoutes(
      [
        { op: 'add', route: { dst: '10.20.0.0/24', nexthops: [{ gateway: '10.9.0.2' }] } },
        { op: 'add', route: { dst: '10.20.1.0/24', nexthops: [{ gateway: '10.77.0.1' }] } },
        { op: 'add', route: { dst: '10.20.2.0/24', nexthops: [{ dev: 'nope0' }] } },
        { op: 'delete', route: { dst: '10.20.9.0/24' } },
        { op: 'add', route: { dst: '10.20.3.0/24', type: 'blackhole' } },
      ],
      { missingOk: false },
    );
    expect(res.failures.map((f) => [f.index, f.errnoName])).toEqual([
      [1, 'ENETUNREACH'],
      [2, 'ENODEV'],
      [3, 'ESRCH'],
    ]);
    expect(res.failures[0]?.message).toMatch(/gateway/i);
    expect(ipRoutes('proto', String(UPLINK_RT_PROTO)).map((r) => r.dst).sort()).toEqual(['10.20.0.0/24', '10.20.3.0/24']);
    // A missing route is "already gone" by default.
    expect((await h.deleteRoutes([{ dst: '10.20.9.0/24' }])).failures).toEqual([]);
    await expect(h.addRoute({ dst: '10.20.0.0/24', nexthops: [{ gateway: '10.9.0.2' }] })).rejects.toMatchObject({
      errnoName: 'EEXIST',
      operation: 'route add 10.20.0.0/24',
    });
    await expect(h.addRoute({ dst: '10.20.0.0/24', nexthops: [{ gateway: '10.9.0.2' }] })).rejects.toBeInstanceOf(NetlinkError);
  });

  it('installs ECMP with weights, blackhole, unreachable, onlink, metric and a custom table', async () => {
    await h.replaceRoute({
      dst: '10.30.0.0/24',
      nexthops: [
        { gateway: '10.9.0.2', dev: 'v0', weight: 3 },
        { gateway: '10.9.1.2', dev: 'v1', weight: 1 },
      ],
    });
    await h.replaceRoute({ dst: '10.31.0.0/24', type: 'blackhole', metric: 50 });
    await h.replaceRoute({ dst: '10.32.0.0/24', type: 'unreachable', table: 100 });
    await h.replaceRoute({ dst: '10.33.0.0/24', nexthops: [{ gateway: '192.0.2.1', dev: 'v0', onlink: true }] });
    const [mp] = ipRoutes('10.30.0.0/24');
    expect(mp?.nexthops?.map((x) => [x.gateway, x.dev, x.weight])).toEqual([
      ['10.9.0.2', 'v0', 3],
      ['10.9.1.2', 'v1', 1],
    ]);
    const [bh] = ipRoutes('10.31.0.0/24');
    expect(bh?.type).toBe('blackhole');
    expect(bh?.metric).toBe(50);
    const [un] = ns.ipJson<IpRoute[]>('route', 'show', 'table', '100');
    expect(un?.type).toBe('unreachable');
    const [ol] = ipRoutes('10.33.0.0/24');
    expect(ol?.flags).toContain('onlink');
    // Our own decode agrees with iproute2.
    const all = await h.dumpRoutes({ protocol: UPLINK_RT_PROTO });
    const byDst = new Map(all.map((r) => [r.dst, r]));
    expect(byDst.get('10.30.0.0/24')?.nexthops.map((x) => x.weight)).toEqual([3, 1]);
    expect(byDst.get('10.32.0.0/24')?.table).toBe(100);
    expect(byDst.get('10.33.0.0/24')?.nexthops[0]?.onlink).toBe(true);
    // Losing an ECMP leg is a replace of the same route.
    await h.replaceRoute({ dst: '10.30.0.0/24', nexthops: [{ gateway: '10.9.0.2', dev: 'v0' }] });
    const [after] = ipRoutes('10.30.0.0/24');
    expect(after?.gateway).toBe('10.9.0.2');
    expect(after?.nexthops).toBeUndefined();
  });

  it('installs IPv6 routes (ECMP too) and IPv4 routes via IPv6 next hops (RTA_VIA)', async () => {
    ns.ip('addr', 'add', 'fd00:19::1/64', 'dev', 'v1', 'nodad');
    await h.replaceRoutes([
      { dst: 'fd10::/64', nexthops: [{ gateway: 'fd00:9::2', dev: 'v0' }] },
      { dst: 'fd11::/48', nexthops: [{ gateway: 'fd00:9::2', dev: 'v0' }, { gateway: 'fd00:19::2', dev: 'v1' }] },
      { dst: 'fd12::/64', type: 'blackhole' },
      { dst: '10.40.0.0/24', nexthops: [{ via: 'fd00:9::2', dev: 'v0' }] },
    ]).then((r) => expect(r.failures).toEqual([]));
    const v6 = ns.ipJson<IpRoute[]>('-6', 'route', 'show', 'proto', String(UPLINK_RT_PROTO));
    const m = new Map(v6.map((r) => [r.dst, r]));
    expect(m.get('fd10::/64')?.gateway).toBe('fd00:9::2');
    expect(m.get('fd11::/48')?.nexthops?.map((x) => x.gateway)).toEqual(['fd00:9::2', 'fd00:19::2']);
    expect(m.get('fd12::/64')?.type).toBe('blackhole');
    const [via] = ipRoutes('10.40.0.0/24');
    expect(via?.via).toEqual({ family: 'inet6', host: 'fd00:9::2' });
    const dumped = await h.dumpRoutes({ family: 4, protocol: UPLINK_RT_PROTO });
    expect(dumped.find((r) => r.dst === '10.40.0.0/24')?.nexthops[0]?.via).toBe('fd00:9::2');
    const d6 = await h.dumpRoutes({ family: 6, protocol: UPLINK_RT_PROTO });
    expect(d6.find((r) => r.dst === 'fd11::/48')?.nexthops.length).toBe(2);
    expect(d6.find((r) => r.dst === 'fd10::/64')?.metric).toBe(1024);
  });

  it('notifies route deletions done by someone else', async () => {
    await h.replaceRoute({ dst: '10.50.0.0/24', type: 'blackhole' });
    const w = h.watchRoutes();
    try {
      const seen = new Promise<string>((resolve) => {
        w.on('route', (ev) => {
          if (ev.action === 'del' && ev.route.dst === '10.50.0.0/24') resolve(`${ev.route.protocol}`);
        });
      });
      ns.ip('route', 'del', '10.50.0.0/24');
      expect(await seen).toBe(String(UPLINK_RT_PROTO));
    } finally {
      w.close();
    }
  });
});

describe('links, addresses, sysctls', () => {
  it('creates a veth with its peer directly in another netns, addresses and sysctls, read back with ip -j', async () => {
    const pod = Netns.create('ulr');
    try {
      const host = h;
      await host.createVeth({ name: 'ulrh0', mtu: 1450, peerName: 'eth0', peerNetns: pod.path, peerMtu: 1450, peerMac: '02:aa:bb:cc:dd:01' });
      const hostLink = ns.ipJson<Array<{ ifname: string; mtu: number; link_netnsid?: number }>>('link', 'show', 'ulrh0')[0];
      expect(hostLink?.mtu).toBe(1450);
      const podLink = pod.ipJson<Array<{ ifname: string; mtu: number; address: string; operstate: string }>>('link', 'show', 'eth0')[0];
      expect(podLink?.address).toBe('02:aa:bb:cc:dd:01');
      expect(podLink?.mtu).toBe(1450);

      const p = new NetlinkHandle(pod.path);
      try {
        await p.setLink('eth0', { up: true });
        await host.setLink('ulrh0', { up: true, mtu: 1400 });
        await p.addAddress({ dev: 'eth0', address: '10.60.0.5/32', peer: '169.254.1.1', scope: 'universe' });
        await p.addAddress({ dev: 'eth0', address: 'fd00:60::5/128' });
        await p.addNeighProxy('eth0', '10.60.0.9');
        await p.setNeighbours('eth0', [
          { address: '169.254.1.1', mac: 'ee:ee:ee:ee:ee:ee' },
          { address: 'fe80::1', mac: 'ee:ee:ee:ee:ee:ef' },
        ]);
        const neigh = pod.ipJson<Array<{ dst: string; lladdr: string; state: string[] }>>('neigh', 'show', 'dev', 'eth0');
        expect(neigh.find((x) => x.dst === '169.254.1.1')).toMatchObject({ lladdr: 'ee:ee:ee:ee:ee:ee', state: ['PERMANENT'] });
        expect(neigh.find((x) => x.dst === 'fe80::1')?.lladdr).toBe('ee:ee:ee:ee:ee:ef');
        const addrs = pod.ipJson<Array<{ addr_info: Array<{ local: string; address?: string; prefixlen: number; family: string; nodad?: boolean }> }>>(
          'addr',
          'show',
          'eth0',
        )[0]?.addr_info;
        const v4 = addrs?.find((a) => a.family === 'inet');
        expect(v4).toMatchObject({ local: '10.60.0.5', address: '169.254.1.1', prefixlen: 32 });
        const v6 = addrs?.find((a) => a.local === 'fd00:60::5');
        expect(v6?.nodad).toBe(true);
        expect((await p.getLink('eth0'))?.up).toBe(true);
        expect(ns.ipJson<Array<{ mtu: number }>>('link', 'show', 'ulrh0')[0]?.mtu).toBe(1400);
        expect(pod.ipJson<Array<{ dst: string }>>('neigh', 'show', 'proxy').map((x) => x.dst)).toContain('10.60.0.9');

        writeSysctl('net.ipv4.conf.ulrh0.proxy_arp', 1, { netns: ns.path });
        writeSysctl('net.ipv6.conf.eth0.accept_ra', 0, { netns: pod.path });
        writeSysctl('net.ipv4.ip_forward', 1, { netns: pod.path });
        expect(ns.exec('cat', ['/proc/sys/net/ipv4/conf/ulrh0/proxy_arp']).trim()).toBe('1');
        expect(pod.exec('cat', ['/proc/sys/net/ipv6/conf/eth0/accept_ra']).trim()).toBe('0');
        expect(readSysctl('net.ipv4.ip_forward', { netns: pod.path })).toBe('1');
        // The agent's own namespace is untouched: the write happened on a setns'd thread only.
        expect(() => readSysctl('net.ipv4.conf.ulrh0.proxy_arp')).toThrow(NetlinkError);

        await p.deleteAddress({ dev: 'eth0', address: '10.60.0.5/32', peer: '169.254.1.1' });
        await p.deleteAddress({ dev: 'eth0', address: '10.60.0.5/32', peer: '169.254.1.1' }); // already gone: ok
        expect(pod.ipJson<Array<{ addr_info: Array<{ family: string }> }>>('addr', 'show', 'eth0')[0]?.addr_info.some((a) => a.family === 'inet')).toBe(false);
      } finally {
        await p.close();
      }
      await host.deleteLink('ulrh0');
      await host.deleteLink('ulrh0'); // missing is ok by default
      await expect(host.deleteLink('ulrh0', { missingOk: false })).rejects.toBeInstanceOf(NetlinkError);
      expect(pod.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname)).not.toContain('eth0');
    } finally {
      pod.destroy();
    }
  });
});

describe('resources', () => {
  it('leaks no file descriptors across opens, failures, watchers and closes', async () => {
    const fds = (): number => readdirSync('/proc/self/fd').length;
    // Warm up (the addon and libuv open their own fds once).
    const warm = new NetlinkHandle(ns.path);
    await warm.dumpRoutes();
    await warm.close();
    const before = fds();
    for (let i = 0; i < 20; i++) {
      const x = new NetlinkHandle(ns.path);
      await x.applyRoutes([{ op: 'add', route: { dst: '10.99.0.0/24', nexthops: [{ gateway: '10.66.0.1' }] } }]);
      await expect(x.createVeth({ name: 'x0', peerName: 'x1', peerNetns: '/var/run/netns/does-not-exist' })).rejects.toBeInstanceOf(NetlinkError);
      await expect(x.getLink('nope')).resolves.toBeUndefined();
      const w = x.watchRoutes({ ignoreOwn: true });
      w.close();
      await x.close();
      expect(() => new NetlinkHandle('/var/run/netns/does-not-exist')).toThrow(NetlinkError);
      expect(() => readSysctl('net.ipv4.conf.nope.forwarding', { netns: ns.path })).toThrow(NetlinkError);
    }
    expect(fds()).toBe(before);
  });
});
