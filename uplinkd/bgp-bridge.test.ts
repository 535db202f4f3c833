// Loc-RIB changes -> FIB deltas (what BgpBridge hands FibReconciler.applyChanges), and that the deltas
// land in a real kernel table: RFC 8950 next hops, unnumbered (link-local) next hops, ECMP, removals.
import { expect, it } from 'vitest';
import { useFibNs } from '../test/harness/fib-ns.js';
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

const fib = useFibNs({ prefix: 'ulf', dev: 'eth1', addr: '10.0.0.1/24' });

it('successive batches of deltas leave the kernel at the Loc-RIB', async () => {
  const rec = fib.reconciler({ resyncIntervalMs: 0 });
  await rec.start();
  const push = (changes: FibChange[]): Promise<void> => {
    const { upserts, removals } = ribDelta(changes);
    return rec.applyChanges('rib', upserts, removals);
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
  expect(fib.ours()).toEqual(
    new Map([
      ['10.1.0.0/24', '10.0.0.4'],
      ['10.3.0.0/24', '10.0.0.3'],
    ]),
  );
});
