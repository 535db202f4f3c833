// End-of-RIB marker (RFC 4724 §2): an UPDATE with nothing in it for IPv4 unicast, or an UPDATE whose
// only content is an MP_UNREACH_NLRI with no withdrawn routes for any other family.
import { NlriList } from './nlri.js';
import { Afi, AttrFlag, MessageType, Safi, type Family, type UpdateMessage } from './types.js';

export function isEndOfRib(u: UpdateMessage): Family | null {
  if (u.withdrawn.bytes.length !== 0 || u.nlri.bytes.length !== 0) return null;
  if (u.attributes.length === 0) return { afi: Afi.Ipv4, safi: Safi.Unicast };
  if (u.attributes.length !== 1) return null;
  const a = u.attributes[0]!;
  if (a.kind !== 'mp-unreach' || a.withdrawn.bytes.length !== 0) return null;
  return { afi: a.afi, safi: a.safi };
}

export function endOfRib(family: Family): UpdateMessage {
  const empty = NlriList.empty(Afi.Ipv4, Safi.Unicast);
  if (family.afi === Afi.Ipv4 && family.safi === Safi.Unicast) {
    return { type: MessageType.Update, withdrawn: empty, attributes: [], nlri: empty };
  }
  return {
    type: MessageType.Update,
    withdrawn: empty,
    attributes: [
      {
        kind: 'mp-unreach',
        flags: AttrFlag.Optional,
        afi: family.afi,
        safi: family.safi,
        withdrawn: NlriList.empty(family.afi, family.safi),
      },
    ],
    nlri: empty,
  };
}
