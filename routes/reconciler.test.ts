// The FIB reconciler against a real kernel table in a throwaway namespace. State is read back with
// `ip -j`; drift is made with `ip route del/replace` like an operator (or another daemon) would.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Netns } from '../test/harness/netns.js';
import { NetlinkHandle, UPLINK_RT_PROTO, type Route, type RouteEvent } from './netlink/index.js';
import { driftRepairs, routesInstalled } from './metrics.js';
import { FibReconciler } from './reconciler.js';

interface IpRoute {
  dst: string;
  dev?: string;
  gateway?: string;
  protocol?: string;
  type?: string;
  nexthops?: Array<{ gateway?: string; dev?: string; weight?: number }>;
}

let ns: Netns;
const running: FibReconciler[] = [];

beforeEach(() => {
  ns = Netns.create('ulr');
  // Two "ToR" links inside the namespace.
  ns.ip('link', 'add', 'tor1', 'type', 'veth', 'peer', 'name', 'tor1p');
  ns.ip('link', 'add', 'tor2', 'type', 'veth', 'peer', 'name', 'tor2p');
  ns.ip('addr', 'add', '10.8.1.1/30', 'dev', 'tor1');
  ns.ip('addr', 'add', '10.8.2.1/30', 'dev', 'tor2');
  ns.ip('addr', 'add', 'fd00:81::1/64', 'dev', 'tor1', 'nodad');
  for (const l of ['tor1', 'tor1p', 'tor2', 'tor2p']) ns.ip('link', 'set', l, 'up');
});

afterEach(async () => {
  try {
    for (const r of running.splice(0)) await r.stop();
  } finally {
    ns.destroy();
  }
});

function reconciler(opts: ConstructorParameters<typeof FibReconciler>[0] = {}): FibReconciler {
  const r = new FibReconciler({ netns: ns.path, debounceMs: 100, resyncIntervalMs: 0, ...opts });
  running.push(r);
  return r;
}

function ours(): Map<string, IpRoute> {
  const v4 = ns.ipJson<IpRoute[]>('-4', 'route', 'show', 'proto', String(UPLINK_RT_PROTO));
  const v6 = ns.ipJson<IpRoute[]>('-6', 'route', 'show', 'proto', String(UPLINK_RT_PROTO));
  return new Map([...v4, ...v6].map((r) => [r.dst, r]));
}

async function waitFor(pred: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

async function metric(m: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number> }> }> }, labels: Record<string, string> = {}): Promise<number> {
  const v = (await m.get()).values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

const ecmp: Route = { dst: '10.100.0.0/24', nexthops: [{ gateway: '10.8.1.2' }, { gateway: '10.8.2.2' }] };
const single: Route = { dst: '10.100.1.0/24', nexthops: [{ gateway: '10.8.1.2', dev: 'tor1' }] };
const hole: Route = { dst: '10.100.2.0/24', type: 'blackhole' };
const v6: Route = { dst: 'fd00:100::/64', nexthops: [{ gateway: 'fd00:81::2' }] };
const viaV6: Route = { dst: '10.100.3.0/24', nexthops: [{ via: 'fd00:81::2', dev: 'tor1' }] };

describe('FibReconciler', () => {
  it('installs the desired set and repairs drift (delete and foreign replace) within 1 s, counted', async () => {
    const r = reconciler();
    await r.start();
    await r.setDesired('rib', [ecmp, single, hole, v6, viaV6]);
    const got = ours();
    expect([...got.keys()].sort()).toEqual(['10.100.0.0/24', '10.100.1.0/24', '10.100.2.0/24', '10.100.3.0/24', 'fd00:100::/64']);
    expect(got.get('10.100.0.0/24')?.nexthops?.map((n) => n.gateway)).toEqual(['10.8.1.2', '10.8.2.2']);
    expect(await metric(routesInstalled, { table: '254', family: 'ipv4' })).toBe(4);

    const before = await metric(driftRepairs);
    // Restoration is timed by the kernel's own notification (another socket), not by polling `ip`.
    const h = new NetlinkHandle(ns.path);
    const w = h.watchRoutes();
    try {
      const restored = new Promise<number>((resolve) => {
        w.on('route', (e) => {
          if (e.action === 'new' && e.route.dst === '10.100.1.0/24' && e.route.protocol === UPLINK_RT_PROTO) resolve(performance.now());
        });
      });
      const t0 = performance.now();
      ns.ip('route', 'del', '10.100.1.0/24');
      const took = (await restored) - t0;
      expect(took).toBeLessThan(1000);
    } finally {
      w.close();
      await h.close();
    }
    expect(ours().get('10.100.1.0/24')?.gateway).toBe('10.8.1.2');
    await waitFor(() => r.status().installed === 5, 1000);
    expect(await metric(driftRepairs)).toBe(before + 1);

    // Someone rewrites our ECMP route to a single path with their own protocol: desired state wins.
    ns.ip('route', 'replace', '10.100.0.0/24', 'via', '10.8.2.2', 'proto', 'static');
    await waitFor(() => ours().get('10.100.0.0/24')?.nexthops?.length === 2, 2000);
    await waitFor(() => r.status().installed === 5, 1000);
    expect(await metric(driftRepairs)).toBe(before + 2);

    // A burst of deletions is repaired by one debounced pass.
    ns.ip('route', 'del', '10.100.2.0/24');
    ns.ip('-6', 'route', 'del', 'fd00:100::/64');
    ns.ip('route', 'del', '10.100.3.0/24');
    await waitFor(() => ours().size === 5, 2000);
    await waitFor(() => r.status().installed === 5, 1000);
    expect(await metric(driftRepairs)).toBe(before + 5);
  });

  it('leaves foreign routes alone and removes withdrawn routes of ours', async () => {
    ns.ip('route', 'add', '10.200.0.0/24', 'via', '10.8.1.2', 'proto', 'static');
    const r = reconciler();
    await r.start();
    await r.markConverged();
    await r.setDesired('rib', [single, hole]);
    await r.setDesired('pods', [{ dst: '10.100.9.0/26', nexthops: [{ dev: 'tor2' }] }]);
    expect([...ours().keys()].sort()).toEqual(['10.100.1.0/24', '10.100.2.0/24', '10.100.9.0/26']);
    await r.setDesired('rib', [single]);
    expect([...ours().keys()].sort()).toEqual(['10.100.1.0/24', '10.100.9.0/26']);
    await r.removeSource('pods');
    expect([...ours().keys()]).toEqual(['10.100.1.0/24']);
    await r.resync();
    expect(ns.ipJson<IpRoute[]>('route', 'show', '10.200.0.0/24')[0]?.protocol).toBe('static');
  });

  it('losing an ECMP next hop is a replace of the route, never a delete', async () => {
    const r = reconciler();
    await r.start();
    await r.setDesired('rib', [ecmp]);
    const h = new NetlinkHandle(ns.path);
    const w = h.watchRoutes();
    const events: RouteEvent[] = [];
    w.on('route', (e) => events.push(e));
    try {
      await r.setDesired('rib', [{ dst: '10.100.0.0/24', nexthops: [{ gateway: '10.8.1.2' }] }]);
      await waitFor(() => events.length > 0, 1000);
      expect(ours().get('10.100.0.0/24')?.gateway).toBe('10.8.1.2');
      expect(events.map((e) => e.action)).toEqual(['new']);
    } finally {
      w.close();
      await h.close();
    }
  });

  it('restart: a second instance adopts routes as stale with no delete, replaces changed ones, drops stale on convergence', async () => {
    const first = reconciler();
    await first.start();
    await first.setDesired('rib', [ecmp, single, hole, v6]);
    await first.stop(); // graceful: routes stay
    expect(ours().size).toBe(4);

    const h = new NetlinkHandle(ns.path);
    const w = h.watchRoutes();
    const events: RouteEvent[] = [];
    w.on('route', (e) => events.push(e));
    try {
      const second = reconciler({ staleTimeoutMs: 60_000 });
      await second.start();
      // Nothing desired yet: everything is stale and kept.
      expect(ours().size).toBe(4);
      expect(second.status().stale).toBe(4);
      // The RIB comes back partially, one route with a changed next hop.
      await second.setDesired('rib', [ecmp, { dst: '10.100.1.0/24', nexthops: [{ gateway: '10.8.2.2' }] }]);
      expect(ours().get('10.100.1.0/24')?.gateway).toBe('10.8.2.2');
      expect(ours().size).toBe(4);
      expect(events.filter((e) => e.action === 'del')).toEqual([]);
      // End-of-RIB: the routes still unwanted go.
      await second.markConverged();
      expect([...ours().keys()].sort()).toEqual(['10.100.0.0/24', '10.100.1.0/24']);
      await waitFor(() => events.filter((e) => e.action === 'del').length >= 2, 1000);
      const deleted = events.filter((e) => e.action === 'del').map((e) => e.route.dst).sort();
      expect(deleted).toEqual(['10.100.2.0/24', 'fd00:100::/64']);
    } finally {
      w.close();
      await h.close();
    }
  });

  it('a pod route follows its device: retried until the veth exists, re-resolved when it is recreated', async () => {
    const r = reconciler({ retryMs: 200 });
    await r.start();
    await r.markConverged();
    await r.setDesired('pods', [{ dst: '10.100.9.5/32', nexthops: [{ dev: 'pod0' }] }]);
    // (ip -j prints a host route without its /32.)
    expect(ours().has('10.100.9.5')).toBe(false); // no such device yet: failed, counted, retried
    ns.ip('link', 'add', 'pod0', 'type', 'veth', 'peer', 'name', 'pod0p');
    ns.ip('link', 'set', 'pod0', 'up');
    await waitFor(() => ours().get('10.100.9.5')?.dev === 'pod0', 3000);
    // The CNI recreates the veth: IPv4 routes through the old one vanish without a notification.
    ns.ip('link', 'del', 'pod0');
    ns.ip('link', 'add', 'pod0', 'type', 'veth', 'peer', 'name', 'pod0p');
    ns.ip('link', 'set', 'pod0', 'up');
    expect(ours().has('10.100.9.5')).toBe(false);
    await r.resync(); // what the periodic resync does
    expect(ours().get('10.100.9.5')?.dev).toBe('pod0');
  });

  it('the stale timer removes stale routes when convergence never comes', async () => {
    const first = reconciler();
    await first.start();
    await first.setDesired('rib', [single, hole]);
    await first.stop();
    const second = reconciler({ staleTimeoutMs: 300 });
    await second.start();
    await second.setDesired('rib', [single]);
    expect(ours().size).toBe(2);
    await waitFor(() => ours().size === 1, 2000);
    expect([...ours().keys()]).toEqual(['10.100.1.0/24']);
  });
});
