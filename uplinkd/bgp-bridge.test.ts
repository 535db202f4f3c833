// Loc-RIB changes -> FIB deltas (what BgpBridge hands FibReconciler.applyChanges), and that the deltas
// land in a real kernel table: RFC 8950 next hops, unnumbered (link-local) next hops, ECMP, removals.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Netns } from '../test/harness/netns.js';
import { FibReconciler } from '../routes/reconciler.js';
import { UPLINK_RT_PROTO } from '../routes/netlink/index.js';
import type { FibChange } from '../bgpd/rib/rib.js';
import { ribDelta } from './bgp-bridge.js';

it('maps each change to an upsert or a removal, RFC 8950 and link-local next hops included', () => {
  const changes: FibChange[] = [
    { prefix: '10.1.0.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.2' }, { address: '10.0.0.3' }] },
    { prefix: '10.2.0.0/24', family: 'ipv4', nextHops: [{ address: 'fe80::2', linkLocal: 'eth1' }] },
    { prefix: 'fd00:1::/64', family: 'ipv6', nextHops: [{ address: 'fd00::2' }] },
    { prefix: '10.3.0.0/24', family: 'ipv4', nextHops: [] },
  ];
  expect(ribDelta(changes)).toEqual({
    upserts: [
      { dst: '10.1.0.0/24', nexthops: [{ gateway: '10.0.0.2' }, { gateway: '10.0.0.3' }] },
      // An IPv4 route over an IPv6 next hop goes out with RTA_VIA (RFC 8950), through the interface.
      { dst: '10.2.0.0/24', nexthops: [{ via: 'fe80::2', dev: 'eth1', onlink: true }] },
      { dst: 'fd00:1::/64', nexthops: [{ gateway: 'fd00::2' }] },
    ],
    removals: [{ dst: '10.3.0.0/24' }],
  });
});

let ns: Netns;
let rec: FibReconciler | undefined;

beforeEach(() => {
  ns = Netns.create('ulf');
  ns.ip('link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p');
  ns.ip('addr', 'add', '10.0.0.1/24', 'dev', 'eth1');
  for (const l of ['eth1', 'eth1p']) ns.ip('link', 'set', l, 'up');
});

afterEach(async () => {
  try {
    await rec?.stop();
  } finally {
    rec = undefined;
    ns.destroy();
  }
});

it('successive batches of deltas leave the kernel at the Loc-RIB', async () => {
  rec = new FibReconciler({ netns: ns.path, resyncIntervalMs: 0 });
  await rec.start();
  const push = (changes: FibChange[]): Promise<void> => {
    const { upserts, removals } = ribDelta(changes);
    return rec!.applyChanges('rib', upserts, removals);
  };
  await push([
    { prefix: '10.1.0.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.2' }] },
    { prefix: '10.2.0.0/24', family: 'ipv4', nextHops: [{ address: 'fe80::2', linkLocal: 'eth1' }] },
    { prefix: '10.3.0.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.2' }, { address: '10.0.0.3' }] },
  ]);
  // Next batch: a next-hop change, an ECMP leg lost, a withdrawal.
  await push([
    { prefix: '10.1.0.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.4' }] },
    { prefix: '10.3.0.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.3' }] },
    { prefix: '10.2.0.0/24', family: 'ipv4', nextHops: [] },
  ]);
  const rs = ns.ipJson<{ dst: string; gateway?: string }[]>('-4', 'route', 'show', 'proto', String(UPLINK_RT_PROTO));
  expect(new Map(rs.map((r) => [r.dst, r.gateway]))).toEqual(
    new Map([
      ['10.1.0.0/24', '10.0.0.4'],
      ['10.3.0.0/24', '10.0.0.3'],
    ]),
  );
});
