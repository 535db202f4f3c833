// Rib-level checks (no sockets) for this package's RFC 4724 / RFC 7911 / RFC 2545 behaviour: selection
// deferral holds every output, add-path peers get one Path Identifier per selected path and withdrawals
// by identifier, link-local next hops carry the session's interface, and what an iBGP peer is sent as
// next hop (never a link-local from another link, an IPv6 one for IPv4 only with extended next hop).
import { describe, expect, it } from 'vitest';
import { Rib, type FibChange, type OutboundBatch, type RibPeerInfo } from '../rib/rib.js';
import { parsePrefix, formatKey, type PrefixKey } from '../rib/prefix.js';
import { compilePolicy } from '../rib/policy.js';

const seq = (...asns: number[]) => [{ type: 2, asns }];
const info = (over: Partial<RibPeerInfo> = {}): RibPeerInfo => ({
  name: 'p', address: '10.0.0.1', routerId: '1.1.1.1', localAs: 65000, remoteAs: 65001, ebgp: true,
  rrClient: false, igpMetric: 0, allowasIn: 0, localNextHop: { ipv4: '10.0.0.254' }, nextHopSelf: false, ...over,
});
const keys = (...p: string[]) => (visit: (k: PrefixKey, id: number) => void) => p.forEach((x) => visit(parsePrefix(x), 0));
const acceptAll = compilePolicy('all', { terms: [], default: 'accept' });

function setup() {
  const rib = new Rib({ localAs: 65000, routerId: '10.255.0.1', maxPaths: 4 });
  const fib: FibChange[] = [];
  const out = new Map<number, OutboundBatch[]>();
  rib.onFib((c) => fib.push(...c));
  rib.onOutbound((id, b) => out.set(id, [...(out.get(id) ?? []), b]));
  return { rib, fib, out };
}

describe('Rib: selection deferral (RFC 4724 §4.1)', () => {
  it('holds FIB batches, UPDATEs and End-of-RIB until lifted, then sends one converged batch', () => {
    const { rib, fib, out } = setup();
    rib.deferSelection(true);
    const a = rib.addPeer(info({ name: 'a' }));
    const b = rib.addPeer(info({ name: 'b', address: '10.0.1.1', routerId: '2.2.2.2' }));
    const c = rib.addPeer(info({ name: 'c', address: '10.0.2.1', routerId: '3.3.3.3' }));
    rib.peerUp(c, ['ipv4']);
    rib.announce(a, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' }, keys('192.0.2.0/24'));
    rib.announce(b, { origin: 0, asPath: seq(65001), nextHop: '10.0.1.1' }, keys('192.0.2.0/24'));
    expect(fib).toEqual([]);
    expect(out.get(c)).toBeUndefined();
    rib.deferSelection(false);
    rib.flush();
    expect(fib).toEqual([{ prefix: '192.0.2.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.1' }, { address: '10.0.1.1' }] }]);
    expect(out.get(c)?.map((x) => x.endOfRib)).toEqual([['ipv4']]);
  });
});

describe('Rib: add-path send (RFC 7911)', () => {
  it('announces each selected path under its own id, withdraws by id, and nothing extra to plain peers', () => {
    const { rib, out } = setup();
    const a = rib.addPeer(info({ name: 'a' }));
    const b = rib.addPeer(info({ name: 'b', address: '10.0.1.1', routerId: '2.2.2.2' }));
    const ap = rib.addPeer(info({ name: 'ap', address: '10.0.9.1', remoteAs: 65009, exportPolicy: acceptAll, addPathSend: ['ipv4'] }));
    const plain = rib.addPeer(info({ name: 'plain', address: '10.0.8.1', remoteAs: 65008, exportPolicy: acceptAll }));
    rib.peerUp(ap, ['ipv4']);
    rib.peerUp(plain, ['ipv4']);
    rib.flush();
    out.clear();
    rib.announce(a, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' }, keys('192.0.2.0/24'));
    rib.announce(b, { origin: 0, asPath: seq(65001), nextHop: '10.0.1.1' }, keys('192.0.2.0/24'));
    rib.flush();
    const sent = out.get(ap)!.flatMap((x) => [...(x.paths?.announce.values() ?? [])].flat());
    expect(sent.map((p) => formatKey(p.key))).toEqual(['192.0.2.0/24', '192.0.2.0/24']);
    const ids = sent.map((p) => p.id);
    expect(new Set(ids).size).toBe(2);
    expect(out.get(ap)!.every((x) => x.withdraw.length === 0 && x.announce.size === 0)).toBe(true);
    // The plain peer gets the prefix once, without path ids.
    expect(out.get(plain)!.flatMap((x) => [...x.announce.values()].flat()).map(formatKey)).toEqual(['192.0.2.0/24']);
    expect(out.get(plain)!.every((x) => x.paths === undefined)).toBe(true);
    let adv = 0;
    rib.adjRib(ap, 'out', () => adv++);
    expect(adv).toBe(2);
    expect(rib.counts(ap).advertised.ipv4).toBe(2);

    out.clear();
    rib.withdraw(b, keys('192.0.2.0/24'));
    rib.flush();
    const batch = out.get(ap)![0]!.paths!;
    expect(batch.withdraw).toHaveLength(1);
    expect(batch.announce.size).toBe(0);
    const gone = batch.withdraw[0]!.id;
    expect(ids).toContain(gone);
    rib.adjRib(ap, 'out', (_k, _a, id) => expect(id).not.toBe(gone));

    // Route refresh: everything withdrawn and re-announced under the same ids.
    out.clear();
    rib.reexport(ap);
    rib.flush();
    const re = out.get(ap)!.flatMap((x) => [...(x.paths?.announce.values() ?? [])].flat());
    expect(re.map((p) => p.id)).toEqual(ids.filter((i) => i !== gone));
  });
});

describe('Rib: link-local next hops (RFC 2545 §3)', () => {
  it('uses the global address when there is one, else the link-local with the session interface', () => {
    const { rib, fib } = setup();
    const un = rib.addPeer(info({ name: 'un', address: 'fe80::2', interface: 'eth7' }));
    const num = rib.addPeer(info({ name: 'num', address: '2001:db8::2', routerId: '2.2.2.2', remoteAs: 65002 }));
    rib.announce(un, { origin: 0, asPath: seq(65001), nextHop: '', nextHopLocal: 'fe80::99' }, keys('10.77.0.0/24'));
    rib.announce(un, { origin: 0, asPath: seq(65001), nextHop: '::', nextHopLocal: 'fe80::99' }, keys('10.78.0.0/24'));
    rib.announce(num, { origin: 0, asPath: seq(65002), nextHop: '2001:db8::7', nextHopLocal: 'fe80::7' }, keys('2001:db8:7::/48'));
    rib.flush();
    const hops = Object.fromEntries(fib.map((c) => [c.prefix, c.nextHops]));
    // The link-local from MP_REACH (not the session address), scoped to the peer's interface.
    expect(hops['10.77.0.0/24']).toEqual([{ address: 'fe80::99', linkLocal: 'eth7' }]);
    expect(hops['10.78.0.0/24']).toEqual([{ address: 'fe80::99', linkLocal: 'eth7' }]);
    expect(hops['2001:db8:7::/48']).toEqual([{ address: '2001:db8::7' }]);
  });

  it('an IPv6 next hop passed on unchanged to an iBGP peer leaves without the source link\'s link-local', () => {
    const { rib, out } = setup();
    const up = rib.addPeer(info({ name: 'up', address: 'fd01::2', localNextHop: { ipv6: 'fd01::1', ipv6LinkLocal: 'fe80::1' } }));
    const ibgp = { remoteAs: 65000, ebgp: false, exportPolicy: acceptAll, localNextHop: { ipv6: 'fd00::1', ipv6LinkLocal: 'fe80::5' } };
    const ib = rib.addPeer(info({ name: 'ib', address: 'fd00::2', routerId: '2.2.2.2', ...ibgp }));
    const nhs = rib.addPeer(info({ name: 'nhs', address: 'fd00::3', routerId: '3.3.3.3', ...ibgp, nextHopSelf: true }));
    rib.peerUp(ib, ['ipv6']);
    rib.peerUp(nhs, ['ipv6']);
    rib.flush();
    out.clear();
    rib.announce(up, { origin: 0, asPath: seq(65011), nextHop: 'fd01::2', nextHopLocal: 'fe80::2' }, keys('2001:db8:99::/48'));
    rib.flush();
    const sent = (id: number) => out.get(id)!.flatMap((b) => [...b.announce.keys()]).map((a) => ({ nextHop: a.nextHop, nextHopLocal: a.nextHopLocal }));
    expect(sent(ib)).toEqual([{ nextHop: 'fd01::2', nextHopLocal: undefined }]);
    // Next-hop-self: our own global and link-local (we share the link with that peer).
    expect(sent(nhs)).toEqual([{ nextHop: 'fd00::1', nextHopLocal: 'fe80::5' }]);
  });

  it('a link-local in the global field (unnumbered peers) never goes to an iBGP peer: next hop self', () => {
    const { rib, out } = setup();
    const un = rib.addPeer(info({ name: 'un', address: 'fe80::2', interface: 'eth1', localNextHop: { ipv6LinkLocal: 'fe80::1' } }));
    const ib = rib.addPeer(info({ name: 'ib', address: 'fd00::2', routerId: '2.2.2.2', remoteAs: 65000, ebgp: false, exportPolicy: acceptAll, localNextHop: { ipv6: 'fd00::1' } }));
    rib.peerUp(ib, ['ipv6']);
    rib.flush();
    out.clear();
    // FRR's unnumbered session: its link-local in both fields of MP_REACH.
    rib.announce(un, { origin: 0, asPath: seq(65011), nextHop: 'fe80::2', nextHopLocal: 'fe80::2' }, keys('2001:db8:99::/48'));
    rib.flush();
    const sent = out.get(ib)!.flatMap((b) => [...b.announce.keys()]).map((a) => ({ nextHop: a.nextHop, nextHopLocal: a.nextHopLocal }));
    expect(sent).toEqual([{ nextHop: 'fd00::1', nextHopLocal: undefined }]);
  });

  it('an IPv4 route with an IPv6 next hop (RFC 8950) goes unchanged only to an iBGP peer with extended next hop', () => {
    const { rib, out } = setup();
    const up = rib.addPeer(info({ name: 'up', address: 'fd01::2', localNextHop: { ipv6: 'fd01::1' } }));
    const ibgp = { remoteAs: 65000, ebgp: false, exportPolicy: acceptAll };
    const plain = rib.addPeer(info({ name: 'plain', address: '10.0.0.2', routerId: '2.2.2.2', ...ibgp, localNextHop: { ipv4: '10.0.0.1' } }));
    const enhe = rib.addPeer(info({ name: 'enhe', address: 'fd00::3', routerId: '3.3.3.3', ...ibgp, localNextHop: { ipv6: 'fd00::1' }, extendedNextHop: true }));
    rib.peerUp(plain, ['ipv4']);
    rib.peerUp(enhe, ['ipv4']);
    rib.flush();
    out.clear();
    rib.announce(up, { origin: 0, asPath: seq(65011), nextHop: 'fd01::2', nextHopLocal: 'fe80::2' }, keys('198.51.100.0/24'));
    rib.flush();
    const sent = (id: number) => out.get(id)!.flatMap((b) => [...b.announce.keys()]).map((a) => a.nextHop);
    expect(sent(plain)).toEqual(['10.0.0.1']);
    expect(sent(enhe)).toEqual(['fd01::2']);
  });

  it('IPv4 over an IPv6-only session: sent with our IPv6 next hop only with extended next hop, otherwise not at all (never an UPDATE the encoder refuses)', () => {
    const { rib, out } = setup();
    const from = rib.addPeer(info({ name: 'from', address: '10.0.9.2', localNextHop: { ipv4: '10.0.9.1' } }));
    const v6only = { ebgp: true, exportPolicy: acceptAll, localNextHop: { ipv6: 'fd00::1' } };
    const bare = rib.addPeer(info({ name: 'bare', address: 'fd00::2', routerId: '2.2.2.2', remoteAs: 65020, ...v6only }));
    const enhe = rib.addPeer(info({ name: 'enhe', address: 'fd00::3', routerId: '3.3.3.3', remoteAs: 65030, ...v6only, extendedNextHop: true }));
    rib.peerUp(bare, ['ipv4']);
    rib.peerUp(enhe, ['ipv4']);
    rib.flush();
    out.clear();
    rib.announce(from, { origin: 0, asPath: seq(65011), nextHop: '10.0.9.2' }, keys('198.51.100.0/24'));
    rib.flush();
    const sent = (id: number) => (out.get(id) ?? []).flatMap((b) => [...b.announce.keys()]).map((a) => a.nextHop);
    expect(sent(bare)).toEqual([]);
    expect(sent(enhe)).toEqual(['fd00::1']);
  });
});
