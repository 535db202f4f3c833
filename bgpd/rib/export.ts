// Export rules as a pure function: what a route looks like when sent to one peer (RFC 4271 §5.1, §9.1.3;
// RFC 4456 §6 for reflection), then the peer's export policy. null = not sent.
import type { Attrs } from './attrs.js';
import { evaluate } from './policy.js';
import { keyFamily, type PrefixKey } from './prefix.js';
import type { RibPeerInfo } from './rib.js';
import { AsPathSegmentType } from '../wire/types.js';

export interface ExportContext {
  readonly clusterId: string;
  readonly defaultLocalPref: number;
}

/** `src` is the peer the best path came from, null for a locally originated route. */
export function exportRoute(ctx: ExportContext, to: RibPeerInfo, src: RibPeerInfo | null, key: PrefixKey, a: Attrs): Attrs | null {
  // Safe default: without an export policy only our own prefixes leave (no accidental transit).
  if (!to.exportPolicy && src !== null) return null;
  // RFC 4456 §6: iBGP-learned routes go to iBGP peers only by reflection.
  if (src && !src.ebgp && !to.ebgp && !src.rrClient && !to.rrClient) return null;
  const fam = keyFamily(key);
  const self = fam === 'ipv4' ? to.localNextHop.ipv4 ?? to.localNextHop.ipv6 ?? '' : to.localNextHop.ipv6 ?? '';
  const selfLl = fam === 'ipv6' || !to.localNextHop.ipv4 ? to.localNextHop.ipv6LinkLocal : undefined;
  let out: Attrs;
  if (to.ebgp) {
    // §5.1.2: prepend our AS; §5.1.3: next hop self; §5.1.4: MED not propagated; §5.1.5: no LOCAL_PREF.
    const asn = to.localAs;
    const first = a.asPath[0];
    const asPath =
      first && first.type === AsPathSegmentType.AsSequence && first.asns.length < 255
        ? [{ type: first.type, asns: [asn, ...first.asns] }, ...a.asPath.slice(1)]
        : [{ type: AsPathSegmentType.AsSequence, asns: [asn] }, ...a.asPath];
    out = {
      origin: a.origin,
      asPath,
      nextHop: self,
      ...(selfLl ? { nextHopLocal: selfLl } : {}),
      ...(src === null && a.med !== undefined ? { med: a.med } : {}),
      ...(a.atomicAggregate ? { atomicAggregate: true } : {}),
      ...(a.aggregator ? { aggregator: a.aggregator } : {}),
      ...(a.communities ? { communities: a.communities } : {}),
      ...(a.largeCommunities ? { largeCommunities: a.largeCommunities } : {}),
      ...(a.extCommunities ? { extCommunities: a.extCommunities } : {}),
      ...(a.unknown ? { unknown: a.unknown } : {}),
    };
  } else {
    const reflect = src !== null && !src.ebgp;
    const nhSelf = src === null || (to.nextHopSelf && !reflect) || !a.nextHop;
    const { originatorId: _o, clusterList: _c, ...rest } = a;
    out = {
      ...rest,
      nextHop: nhSelf ? self : a.nextHop,
      ...(nhSelf && selfLl ? { nextHopLocal: selfLl } : {}),
      localPref: a.localPref ?? ctx.defaultLocalPref,
      // RFC 4456 §8: ORIGINATOR_ID set once, our CLUSTER_ID prepended.
      ...(reflect ? { originatorId: a.originatorId ?? src.routerId, clusterList: [ctx.clusterId, ...(a.clusterList ?? [])] } : {}),
    };
  }
  const r = evaluate(to.exportPolicy, key, out);
  return r.accept ? r.attrs : null;
}
