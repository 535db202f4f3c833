// The pure pieces split out of PeerSession, checked on their own: the §6.8 tie-break, OPEN checks,
// family negotiation, max-prefix verdicts and the decode-error -> FSM event mapping.
import { describe, expect, it } from 'vitest';
import { Afi, CeaseSubcode, ErrorCode, MessageType, OpenSubcode, Safi, WireErrorCode, buildOpen } from '../wire/index.js';
import { Event } from '../fsm/table.js';
import { parseBgpConfig, type FamilyName } from '../config.js';
import { collisionLoser } from './connection.js';
import { checkOpen, negotiatedFamilies } from './open.js';
import { checkMaxPrefix } from './max-prefix.js';
import { decodeErrorEvent, notificationEvent } from './inbound.js';

const peer = (extra: Record<string, unknown>) =>
  parseBgpConfig({ routerId: '10.0.0.1', asn: 65000, peers: [{ address: '10.0.0.2', asn: 65001, ...extra }] }).peers[0]!;

describe('session parts', () => {
  it('§6.8: the connection initiated by the lower BGP Identifier loses, compared as numbers not strings', () => {
    expect(collisionLoser('10.0.0.2', '10.0.0.1')).toBe('incoming');
    expect(collisionLoser('10.0.0.1', '10.0.0.2')).toBe('outgoing');
    // '9.' sorts after '10.' as text; as an address it is lower.
    expect(collisionLoser('9.255.255.255', '10.0.0.0')).toBe('outgoing');
  });

  it('checkOpen: wrong AS, AS outside a dynamic range, our own identifier inside our AS', () => {
    const open = buildOpen({ asn: 65001, holdTime: 90, bgpId: '10.0.0.2', capabilities: [{ kind: 'four-octet-as', asn: 65001 }] });
    const want = { peerAs: 65001, asRange: undefined, localAs: 65000, routerId: '10.0.0.1' };
    expect(checkOpen(open, want)).toBeNull();
    expect(checkOpen(open, { ...want, peerAs: 65002 })?.errorCode).toBe(ErrorCode.OpenMessage);
    const outside = checkOpen(open, { ...want, asRange: [65010, 65020] });
    expect(outside?.code).toBe(WireErrorCode.BadPeerAs);
    expect(outside?.subcode).toBe(OpenSubcode.BadPeerAs);
    expect(checkOpen(open, { ...want, asRange: [65000, 65020] })).toBeNull();
    const sameId = checkOpen(open, { ...want, localAs: 65001, routerId: '10.0.0.2' });
    expect(sameId?.subcode).toBe(OpenSubcode.BadBgpIdentifier);
    // RFC 6286 §2.2 only forbids equal identifiers within one AS.
    expect(checkOpen(open, { ...want, routerId: '10.0.0.2' })).toBeNull();
  });

  it('negotiatedFamilies: intersection of MP capabilities; none at all means IPv4 only (RFC 4760 §8)', () => {
    const both: FamilyName[] = ['ipv4', 'ipv6'];
    expect(negotiatedFamilies(both, [])).toEqual(['ipv4']);
    expect(negotiatedFamilies(both, [{ kind: 'multiprotocol', afi: Afi.Ipv6, safi: Safi.Unicast }])).toEqual(['ipv6']);
    expect(negotiatedFamilies(['ipv4'], [{ kind: 'multiprotocol', afi: Afi.Ipv6, safi: Safi.Unicast }])).toEqual([]);
    expect(negotiatedFamilies(both, [{ kind: 'multiprotocol', afi: Afi.Ipv6, safi: 2 }])).toEqual([]);
  });

  it('checkMaxPrefix: warn once per family; teardown carries AFI, SAFI and the limit (RFC 4486 §4)', () => {
    const warned = new Set<FamilyName>();
    const warnCfg = peer({ maxPrefix: { ipv4: { limit: 10, action: 'warn' } } });
    expect(checkMaxPrefix(warnCfg, { ipv4: 10, ipv6: 0 }, warned)).toEqual([]);
    expect(checkMaxPrefix(warnCfg, { ipv4: 11, ipv6: 0 }, warned)).toEqual([{ kind: 'warn', family: 'ipv4', count: 11, limit: 10 }]);
    expect(checkMaxPrefix(warnCfg, { ipv4: 12, ipv6: 0 }, warned)).toEqual([]);
    const stop = checkMaxPrefix(peer({ maxPrefix: { ipv6: { limit: 0x01020304, action: 'restart', restartAfter: 5 } } }), { ipv4: 0, ipv6: 0x01020305 }, new Set());
    expect(stop).toHaveLength(1);
    const v = stop[0]!;
    if (v.kind !== 'stop') throw new Error('expected a stop verdict');
    expect(v.notification.code).toBe(ErrorCode.Cease);
    expect(v.notification.subcode).toBe(CeaseSubcode.MaximumPrefixesReached);
    expect([...v.notification.data]).toEqual([0, Afi.Ipv6, Safi.Unicast, 1, 2, 3, 4]);
    expect(v.restartAfterMs).toBe(5000);
    const teardown = checkMaxPrefix(peer({ maxPrefix: { ipv4: { limit: 1, action: 'teardown' } } }), { ipv4: 2, ipv6: 0 }, new Set());
    expect(teardown[0]).toMatchObject({ kind: 'stop', restartAfterMs: null });
  });

  it('decode errors and NOTIFICATIONs map to the RFC 4271 §8.1 events', () => {
    expect(decodeErrorEvent(MessageType.Open, ErrorCode.OpenMessage, false)).toBe(Event.BGPOpenMsgErr);
    expect(decodeErrorEvent(MessageType.Update, ErrorCode.UpdateMessage, true)).toBe(Event.UpdateMsgErr);
    expect(decodeErrorEvent(MessageType.Keepalive, ErrorCode.MessageHeader, true)).toBe(Event.BGPHeaderErr);
    expect(decodeErrorEvent(MessageType.RouteRefresh, ErrorCode.RouteRefreshMessage, true)).toBe(Event.UpdateMsgErr);
    expect(decodeErrorEvent(MessageType.RouteRefresh, ErrorCode.RouteRefreshMessage, false)).toBe(Event.BGPHeaderErr);
    const n = (code: number, subcode: number) => ({ type: MessageType.Notification, code, subcode, data: new Uint8Array(0) }) as const;
    expect(notificationEvent(n(ErrorCode.OpenMessage, OpenSubcode.UnsupportedVersionNumber))).toBe(Event.NotifMsgVerErr);
    expect(notificationEvent(n(ErrorCode.Cease, CeaseSubcode.AdministrativeShutdown))).toBe(Event.NotifMsg);
  });
});
