// Cross-element rules of the model. Each failure is a TopologyError naming the element.
import { TopologyError, TopologyErrorCode } from './errors.js';
import { formatNet, netsOverlap, type IpNet } from '../lib/ip.js';
import type { TopologySpec } from './model.js';

/** Rules that need no numbering: names, references, uplinks, pools. */
export function validateSpec(t: TopologySpec): void {
  const seen = new Map<string, string>();
  const claim = (nm: string, where: string): void => {
    const prev = seen.get(nm);
    if (prev) throw new TopologyError(TopologyErrorCode.DuplicateName, where, `name "${nm}" is already used by ${prev}`);
    seen.set(nm, where);
  };
  t.spines.forEach((s, i) => claim(s.name, `spines[${i}] (${s.name})`));
  const rackNames = new Map<string, string>();
  const torRack = new Map<string, string>();
  t.racks.forEach((r, i) => {
    const rw = `racks[${i}] (${r.name})`;
    const prevRack = rackNames.get(r.name);
    if (prevRack) throw new TopologyError(TopologyErrorCode.DuplicateName, rw, `rack name "${r.name}" is already used by ${prevRack}`);
    rackNames.set(r.name, rw);
    if (r.tors.length < 1 || r.tors.length > 2) {
      throw new TopologyError(TopologyErrorCode.Invalid, rw, `a rack has one or two ToRs, this one has ${r.tors.length}`);
    }
    r.tors.forEach((tor, j) => {
      claim(tor.name, `${rw}.tors[${j}] (${tor.name})`);
      torRack.set(tor.name, r.name);
    });
  });
  t.racks.forEach((r) => {
    r.nodes.forEach((n) => {
      const nw = `${n.where} (${n.name})`;
      claim(n.name, nw);
      if (n.uplinks.length === 0) throw new TopologyError(TopologyErrorCode.NoUplink, nw, 'node has no uplink');
      const used = new Set<string>();
      n.uplinks.forEach((u, k) => {
        const uw = `${nw}.uplinks[${k}]`;
        const rackOfTor = torRack.get(u.tor);
        if (rackOfTor === undefined) throw new TopologyError(TopologyErrorCode.UnknownReference, uw, `unknown ToR "${u.tor}"`);
        if (rackOfTor !== r.name) {
          throw new TopologyError(TopologyErrorCode.UnknownReference, uw, `ToR "${u.tor}" belongs to rack ${rackOfTor}, not to ${r.name}`);
        }
        if (used.has(u.tor)) throw new TopologyError(TopologyErrorCode.Invalid, uw, `second uplink to ToR "${u.tor}"`);
        used.add(u.tor);
      });
    });
  });
  // Pools must be disjoint from each other and from the fabric's own ranges: a pod address equal to
  // a link address would be routed two ways.
  const ranges: Array<{ where: string; c: IpNet }> = [];
  if (t.fabric.ipv4) ranges.push({ where: 'fabric.ipv4', c: t.fabric.ipv4 });
  if (t.fabric.ipv6) ranges.push({ where: 'fabric.ipv6', c: t.fabric.ipv6 });
  ranges.push({ where: 'fabric.loopbacks', c: t.fabric.loopbacks });
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (netsOverlap(ranges[i]!.c, ranges[j]!.c)) {
        throw new TopologyError(TopologyErrorCode.AddressConflict, ranges[j]!.where, `${formatNet(ranges[j]!.c)} overlaps ${ranges[i]!.where} ${formatNet(ranges[i]!.c)}`);
      }
    }
  }
  t.pools.forEach((p, i) => {
    const pw = `pools[${i}] (${p.name})`;
    for (const r of ranges) {
      if (netsOverlap(p.cidr, r.c)) throw new TopologyError(TopologyErrorCode.PoolOverlap, pw, `${p.cidrText} overlaps ${r.where} ${formatNet(r.c)}`);
    }
    ranges.push({ where: pw, c: p.cidr });
  });
  if (t.pools.length === 0) throw new TopologyError(TopologyErrorCode.Invalid, 'pools', 'at least one pool is needed');
}

export interface AsnUse {
  device: string;
  role: 'spine' | 'tor' | 'node';
  rack?: string;
  asn: number;
  /** For nodes: the ASNs of the ToRs it peers with. */
  torAsns?: number[];
}

/**
 * eBGP loop prevention (RFC 4271 §9.1.2): a speaker drops a route whose AS_PATH holds its own AS.
 * So an AS reused in two places that must reach each other through eBGP silently blackholes their
 * routes — unless the receivers accept their own AS once (`allowas-in`). RFC 7938 §5.2.1 and §5.2.4
 * discuss exactly this trade-off for ToR AS reuse.
 */
export function validateAsns(uses: AsnUse[], allowasIn: boolean): void {
  const spineAsns = new Set(uses.filter((u) => u.role === 'spine').map((u) => u.asn));
  const byAsn = new Map<number, AsnUse[]>();
  for (const u of uses) {
    if (u.role !== 'spine' && spineAsns.has(u.asn)) {
      throw new TopologyError(TopologyErrorCode.AsnConflict, `${u.role} ${u.device}`, `AS ${u.asn} is the spines' AS; the ${u.role}-to-spine sessions must be eBGP (RFC 7938 §5.2.1)`);
    }
    if (u.role === 'spine') continue;
    const list = byAsn.get(u.asn) ?? [];
    list.push(u);
    byAsn.set(u.asn, list);
  }
  if (allowasIn) return;
  for (const [asn, list] of byAsn) {
    const racks = [...new Set(list.map((u) => u.rack))];
    if (racks.length > 1) {
      const [a, b] = [list[0]!, list.find((u) => u.rack !== list[0]!.rack)!];
      throw new TopologyError(
        TopologyErrorCode.AsnConflict,
        `${b.role} ${b.device}`,
        `shares AS ${asn} with ${a.role} ${a.device} of rack ${a.rack}: routes between the racks carry AS ${asn} and are dropped by eBGP loop prevention (RFC 4271 §9.1.2); give distinct ASNs or set asn.allowasIn`,
      );
    }
    // Within a rack: nodes speaking eBGP to their ToRs (node AS differs from the ToR AS) that share
    // an AS drop each other's routes the same way.
    const ebgpNodes = list.filter((u) => u.role === 'node' && !(u.torAsns ?? []).includes(asn));
    if (ebgpNodes.length > 1) {
      throw new TopologyError(
        TopologyErrorCode.AsnConflict,
        `node ${ebgpNodes[1]!.device}`,
        `shares AS ${asn} with node ${ebgpNodes[0]!.device} over eBGP: each drops the other's routes (RFC 4271 §9.1.2); give distinct ASNs or set asn.allowasIn`,
      );
    }
  }
}
