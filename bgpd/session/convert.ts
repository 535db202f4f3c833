// RIB attributes <-> wire attributes, and OutboundBatch -> encoded UPDATE messages. The RIB works in
// text addresses and interned sets; the codec in flags and bytes. This is the only place they meet.
import {
  AttrFlag,
  Afi,
  Safi,
  NlriBuilder,
  defaultFlags,
  endOfRib,
  encodeMessage,
  familyKey,
  packUpdates,
  packWithdrawals,
  parseIpv4,
  parseIpv6,
  type PathAttribute,
  type WireContext,
} from '../wire/index.js';
import type { Attrs } from '../rib/attrs.js';
import { keyToBytes, type AddressFamily, type PrefixKey } from '../rib/prefix.js';
import type { OutboundBatch } from '../rib/rib.js';
import type { AddPathBatch, OutPath } from '../rib/export.js';

function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function mpNextHop(a: Attrs): Uint8Array {
  const g = a.nextHop.includes(':') ? parseIpv6(a.nextHop) : null;
  const ll = a.nextHopLocal ? parseIpv6(a.nextHopLocal) : null;
  // RFC 8950 / RFC 2545 §3: 16 octets global, or 32 with the link-local; an unnumbered session with
  // only a link-local address sends it in both places (FRR does the same).
  const global = g ?? ll ?? new Uint8Array(16);
  if (!ll) return global;
  const out = new Uint8Array(32);
  out.set(global, 0);
  out.set(ll, 16);
  return out;
}

/** Wire attributes for announcing `a` in `family` (MP_REACH template when not plain IPv4 unicast). */
export function toWire(a: Attrs, family: AddressFamily, ctx: WireContext): PathAttribute[] {
  const out: PathAttribute[] = [];
  out.push({ kind: 'origin', flags: defaultFlags('origin'), origin: a.origin });
  out.push({ kind: 'as-path', flags: defaultFlags('as-path'), segments: a.asPath });
  const v4nh = family === 'ipv4' && !a.nextHop.includes(':') && a.nextHop !== '';
  const extended = family === 'ipv4' && !v4nh && ctx.extendedNextHop.has(familyKey(Afi.Ipv4, Safi.Unicast));
  if (family === 'ipv6' || extended) {
    out.push({
      kind: 'mp-reach',
      flags: AttrFlag.Optional,
      afi: family === 'ipv6' ? Afi.Ipv6 : Afi.Ipv4,
      safi: Safi.Unicast,
      nextHop: mpNextHop(a),
      reserved: 0,
      nlri: NlriBuilderEmpty(family),
    });
  } else {
    out.push({ kind: 'next-hop', flags: defaultFlags('next-hop'), nextHop: a.nextHop || '0.0.0.0' });
  }
  if (a.med !== undefined) out.push({ kind: 'med', flags: defaultFlags('med'), value: a.med });
  if (a.localPref !== undefined) out.push({ kind: 'local-pref', flags: defaultFlags('local-pref'), value: a.localPref });
  if (a.atomicAggregate) out.push({ kind: 'atomic-aggregate', flags: defaultFlags('atomic-aggregate') });
  if (a.aggregator) out.push({ kind: 'aggregator', flags: defaultFlags('aggregator'), ...a.aggregator });
  if (a.communities?.length) out.push({ kind: 'communities', flags: defaultFlags('communities'), communities: a.communities });
  if (a.originatorId) out.push({ kind: 'originator-id', flags: defaultFlags('originator-id'), originatorId: a.originatorId });
  if (a.clusterList?.length) out.push({ kind: 'cluster-list', flags: defaultFlags('cluster-list'), clusterIds: a.clusterList });
  if (a.extCommunities?.length) out.push({ kind: 'extended-communities', flags: defaultFlags('extended-communities'), communities: a.extCommunities.map(fromHex) });
  if (a.largeCommunities?.length) out.push({ kind: 'large-communities', flags: defaultFlags('large-communities'), communities: a.largeCommunities });
  for (const u of a.unknown ?? []) out.push({ kind: 'unknown', flags: u.flags, typeCode: u.typeCode, data: u.data });
  return out;
}

function NlriBuilderEmpty(family: AddressFamily): ReturnType<NlriBuilder['build']> {
  return new NlriBuilder(family === 'ipv6' ? Afi.Ipv6 : Afi.Ipv4, Safi.Unicast, false).build();
}

function nlriOf(keys: readonly PrefixKey[], family: AddressFamily, ctx: WireContext): ReturnType<NlriBuilder['build']> {
  const afi = family === 'ipv6' ? Afi.Ipv6 : Afi.Ipv4;
  const addPath = ctx.addPathSend.has(familyKey(afi, Safi.Unicast));
  const b = new NlriBuilder(afi, Safi.Unicast, addPath, keys.length * 5 + 16);
  for (const k of keys) {
    const { addr, len } = keyToBytes(k);
    // We advertise one path per prefix; with add-path send negotiated it carries path id 1 (RFC 7911 §3).
    b.add(addr, len, addPath ? 1 : 0);
  }
  return b.build();
}

/** RFC 7911 §3: NLRI with our Path Identifier before each prefix. */
function nlriWithIds(paths: readonly OutPath[], family: AddressFamily): ReturnType<NlriBuilder['build']> {
  const b = new NlriBuilder(family === 'ipv6' ? Afi.Ipv6 : Afi.Ipv4, Safi.Unicast, true, paths.length * 9 + 16);
  for (const p of paths) {
    const { addr, len } = keyToBytes(p.key);
    b.add(addr, len, p.id);
  }
  return b.build();
}

/** Add-path families: withdrawals by Path Identifier, then each attribute set's paths. */
function encodePaths(batch: AddPathBatch, ctx: WireContext, families: readonly AddressFamily[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const ofFam = (l: readonly OutPath[], fam: AddressFamily): OutPath[] => l.filter((p) => (typeof p.key === 'number') === (fam === 'ipv4'));
  for (const fam of families) {
    const wd = ofFam(batch.withdraw, fam);
    if (wd.length) out.push(...packWithdrawals(nlriWithIds(wd, fam), ctx));
  }
  for (const [attrs, paths] of batch.announce) {
    for (const fam of families) {
      const ps = ofFam(paths, fam);
      if (ps.length) out.push(...packUpdates(toWire(attrs, fam, ctx), nlriWithIds(ps, fam), ctx));
    }
  }
  return out;
}

/** Encode one outbound batch into UPDATE messages (withdrawals first, then announcements, then EoR). */
export function encodeBatch(batch: OutboundBatch, ctx: WireContext, families: readonly AddressFamily[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const fam of ['ipv4', 'ipv6'] as const) {
    if (!families.includes(fam)) continue;
    const wd = batch.withdraw.filter((k) => (typeof k === 'number') === (fam === 'ipv4'));
    if (wd.length) out.push(...packWithdrawals(nlriOf(wd, fam, ctx), ctx));
  }
  for (const [attrs, keys] of batch.announce) {
    for (const fam of ['ipv4', 'ipv6'] as const) {
      if (!families.includes(fam)) continue;
      const ks = keys.filter((k) => (typeof k === 'number') === (fam === 'ipv4'));
      if (!ks.length) continue;
      out.push(...packUpdates(toWire(attrs, fam, ctx), nlriOf(ks, fam, ctx), ctx));
    }
  }
  if (batch.paths) out.push(...encodePaths(batch.paths, ctx, families));
  for (const fam of batch.endOfRib) {
    if (!families.includes(fam)) continue;
    out.push(encodeMessage(endOfRib({ afi: fam === 'ipv6' ? Afi.Ipv6 : Afi.Ipv4, safi: Safi.Unicast }), ctx));
  }
  return out;
}

export { parseIpv4 };
