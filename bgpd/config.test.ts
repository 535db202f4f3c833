import { describe, expect, it } from 'vitest';
import { parseBgpConfig } from './config.js';

const base = { routerId: '10.0.0.1', asn: 65000 };

describe('bgp config', () => {
  it('applies defaults', () => {
    const c = parseBgpConfig({ ...base, peers: [{ address: '10.0.0.2', asn: 65001 }] });
    expect(c.listen).toEqual({ address: '::', port: 179 });
    expect(c.peers[0]).toMatchObject({ name: '10.0.0.2', port: 179, families: ['ipv4', 'ipv6'], holdTime: 90, gracefulRestart: true, addPath: 'none', passive: false });
    expect(parseBgpConfig({ ...base, listen: 'disabled' }).listen).toBeNull();
    expect(c.gracefulRestart).toEqual({ restartTimeS: 120, staleTimeS: 360, selectionDeferralS: 60 });
    expect(parseBgpConfig({ ...base, gracefulRestart: { selectionDeferralTime: 15 } }).gracefulRestart.selectionDeferralS).toBe(15);
  });

  it.each([
    [{ ...base, asn: 0 }, /bgp\.asn: must be an integer/],
    [{ ...base, routerId: '0.0.0.0' }, /bgp\.routerId: must not be 0\.0\.0\.0/],
    [{ ...base, routerId: 'fd00::1' }, /bgp\.routerId: 'fd00::1' is not an IPv4 address/],
    [{ ...base, peers: [{ asn: 1 }] }, /bgp\.peers\[0\]: needs exactly one of address or interface/],
    [{ ...base, peers: [{ address: '10.0.0.2', asn: 1, holdTime: 2 }] }, /bgp\.peers\[0\]\.holdTime: must be 0 or at least 3/],
    [{ ...base, peers: [{ address: '10.0.0.2', asn: 1, families: ['ipx'] }] }, /bgp\.peers\[0\]\.families/],
    [{ ...base, peers: [{ address: '10.0.0.2', asn: 1, importPolicy: 'nope' }] }, /bgp\.peers\[0\]\.importPolicy: no policy named 'nope'/],
    [{ ...base, peers: [{ address: '10.0.0.2', asn: 1, maxPrefix: { ipv4: { limit: 10, action: 'explode' } } }] }, /bgp\.peers\[0\]\.maxPrefix\.ipv4\.action/],
    [{ ...base, peers: [{ address: '10.0.0.2', asn: 1, colour: 'red' }] }, /bgp\.peers\[0\]\.colour: unknown key/],
    [{ ...base, advertise: ['10.0.0.1/24'] }, /bgp\.advertise\[0\]: host bits set/],
    [{ ...base, gracefulRestart: { selectionDeferralTime: 0 } }, /bgp\.gracefulRestart\.selectionDeferralTime/],
    [{ ...base, listenRanges: [{ prefix: '10.1.0.0/16', asnRange: [65010, 65001] }] }, /bgp\.listenRanges\[0\]\.asnRange\[1\]/],
    [{ ...base, policies: { p: { terms: [{ action: 'maybe' }] } } }, /bgp\.policies\.p\.terms\[0\]\.action/],
    [{ ...base, policies: { p: { terms: [{ action: 'accept', match: { prefixList: [{ prefix: '10.0.0.0/8', le: 4 }] } }] } } }, /bgp\.policies\.p: policy 'p' term 0/],
  ])('rejects %j naming the key', (input, re) => {
    expect(() => parseBgpConfig(input)).toThrow(re);
  });

  it('listen ranges: dynamic neighbours are passive with an AS range', () => {
    const c = parseBgpConfig({ ...base, listenRanges: [{ prefix: '10.1.0.0/16', asnRange: [65001, 65010], families: ['ipv4'] }] });
    expect(c.listenRanges[0]).toMatchObject({ prefix: '10.1.0.0/16', asnMin: 65001, asnMax: 65010, limit: 100 });
    expect(c.listenRanges[0]!.template.passive).toBe(true);
  });
});
