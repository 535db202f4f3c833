// A received UPDATE applied to the Adj-RIB-In: classic and MP withdrawals, then announcements (RFC 4271
// §9.1.3 order does not matter for disjoint sets; RFC 4760 for MP_REACH/MP_UNREACH), with RFC 7606
// treat-as-withdraw turning announcements into withdrawals.
import { Afi, ErrorAction, Safi, isEndOfRib, nextHopToStrings, type ErrorActionName, type UpdateMessage } from '../wire/index.js';
import { fromWire } from '../rib/attrs.js';
import { v4Key, v6Key, type PrefixKey } from '../rib/prefix.js';
import type { Rib } from '../rib/rib.js';
import type { FamilyName } from '../config.js';

type Walk = (visit: (k: PrefixKey, pathId: number) => void) => void;

const walk4 = (l: UpdateMessage['nlri']): Walk => (visit) => l.forEachIpv4((a, len, id) => visit(v4Key(a, len), id));
const walk6 = (l: UpdateMessage['nlri']): Walk => (visit) => l.forEach((b, off, len, id) => visit(v6Key(b, off, len), id));

const isLinkLocal = (a: string): boolean => a.toLowerCase().startsWith('fe80');

/** RFC 2545 §3: 16 octets = global (or a lone link-local, as unnumbered peers send), 32 = global + link-local. */
function mpNextHop(raw: Uint8Array): { global: string; linkLocal?: string } {
  const nh = nextHopToStrings(raw);
  if (!nh) return { global: '' };
  if (nh[1]) return { global: nh[0]!, linkLocal: nh[1] };
  return isLinkLocal(nh[0]!) ? { global: '', linkLocal: nh[0]! } : { global: nh[0]! };
}

export function applyUpdate(rib: Rib, ribId: number, u: UpdateMessage, action: ErrorActionName | null): { eor: FamilyName | null; announced: boolean } {
  const eor = isEndOfRib(u);
  if (eor) return { eor: eor.afi === Afi.Ipv6 ? 'ipv6' : 'ipv4', announced: false };
  // RFC 7606 §2 treat-as-withdraw (and afi-safi-disable, handled the same way for unicast families).
  const asWithdraw = action === ErrorAction.TreatAsWithdraw || action === ErrorAction.AfiSafiDisable;
  const withdrawn: Walk[] = [];
  const announced: { nh?: { global: string; linkLocal?: string }; walk: Walk }[] = [];
  if (u.withdrawn.count) withdrawn.push(walk4(u.withdrawn));
  if (u.nlri.count) announced.push({ walk: walk4(u.nlri) });
  for (const a of u.attributes) {
    if (a.kind === 'mp-unreach' && a.safi === Safi.Unicast && a.withdrawn.count) {
      withdrawn.push(a.afi === Afi.Ipv6 ? walk6(a.withdrawn) : walk4(a.withdrawn));
    }
    if (a.kind === 'mp-reach' && a.safi === Safi.Unicast && a.nlri.count) {
      // RFC 8950: IPv4 NLRI (afi 1) may come with an IPv6 next hop.
      announced.push({ nh: mpNextHop(a.nextHop), walk: a.afi === Afi.Ipv6 ? walk6(a.nlri) : walk4(a.nlri) });
    }
  }
  for (const w of withdrawn) rib.withdraw(ribId, w);
  for (const an of announced) {
    if (asWithdraw) rib.withdraw(ribId, an.walk);
    else rib.announce(ribId, fromWire(u.attributes, an.nh), an.walk);
  }
  return { eor: null, announced: announced.length > 0 };
}
