// Loading the golden vectors recorded from real daemons (test/vectors/<scenario>/<type>.json, made by
// test/vectors/record.sh) and turning a decoded message into the same plain shape as the vectors'
// `expect` field, which was written from Wireshark's dissection, not from our codec.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  attributeTypeCode,
  capabilityCode,
  encodeCapabilityValue,
  isEndOfRib,
  makeContext,
  nextHopToStrings,
  openCapabilities,
  shutdownCommunication,
  toHex,
  type FamilyKey,
  type Message,
  type NlriList,
  type WireContext,
} from '../../bgpd/wire/index.js';

export const VECTORS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors');

export interface Vector {
  name: string;
  source: string;
  pcap: { file: string; stream: number; from: string; to: string; index: number };
  context: { fourOctetAs: boolean; extendedMessage: boolean; addPath: string[]; extendedNextHop: string[] };
  hex: string;
  expect: Record<string, unknown> & { type: string };
}

/** Every vector under test/vectors. Throws when the folder or the tables are missing: no silent pass. */
export function loadVectors(dir = VECTORS_DIR): { scenario: string; file: string; vectors: Vector[] }[] {
  if (!existsSync(dir)) throw new Error(`golden vectors folder ${dir} is missing (run test/vectors/record.sh)`);
  const out: { scenario: string; file: string; vectors: Vector[] }[] = [];
  for (const scenario of readdirSync(dir).sort()) {
    const sdir = join(dir, scenario);
    if (scenario === 'pcap' || !statSync(sdir).isDirectory()) continue;
    for (const f of readdirSync(sdir).filter((x) => x.endsWith('.json')).sort()) {
      out.push({ scenario, file: f, vectors: JSON.parse(readFileSync(join(sdir, f), 'utf8')) as Vector[] });
    }
  }
  if (out.length === 0) throw new Error(`no golden vector tables under ${dir}`);
  return out;
}

export function vectorContext(v: Vector): WireContext {
  return makeContext({
    fourOctetAs: v.context.fourOctetAs,
    extendedMessage: v.context.extendedMessage,
    addPathReceive: new Set(v.context.addPath as FamilyKey[]),
    extendedNextHop: new Set(v.context.extendedNextHop as FamilyKey[]),
  });
}

const TYPE_NAMES: Record<number, string> = { 1: 'open', 2: 'update', 3: 'notification', 4: 'keepalive', 5: 'route-refresh' };

function prefixes(l: NlriList): { prefix: string; pathId?: number }[] {
  return l.toArray().map((p) => {
    const text = `${p.afi === 2 ? ipv6Text(p.addr) : Array.from(p.addr.subarray(0, 4)).join('.')}/${p.length}`;
    return p.pathId === undefined ? { prefix: text } : { prefix: text, pathId: p.pathId };
  });
}

/** RFC 5952 text, the form Wireshark prints. */
function ipv6Text(a: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push(((a[i] ?? 0) << 8) | (a[i + 1] ?? 0));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const h = w.map((x) => x.toString(16));
  return best < 0 ? h.join(':') : `${h.slice(0, best).join(':')}::${h.slice(best + bestLen).join(':')}`;
}

// Attribute types Wireshark 4.0 dissects field by field; anything else is compared as {type, flags}.
const DISSECTED = new Set([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16, 17, 32]);

/**
 * Our decoded message in the vectors' `expect` shape. Only the fields the vector's expect has for
 * sub-objects that Wireshark reports partially (OPEN raw capabilities, NOTIFICATION data).
 */
export function observed(m: Message, expect: Record<string, unknown>, length: number): Record<string, unknown> {
  const out: Record<string, unknown> = { type: TYPE_NAMES[m.type], length };
  switch (m.type) {
    case 1: {
      const caps = openCapabilities(m);
      const o: Record<string, unknown> = {
        version: m.version,
        myAs: m.myAs,
        holdTime: m.holdTime,
        bgpId: m.bgpId,
        codes: caps.map(capabilityCode),
        addPath: [] as unknown[],
        multiprotocol: [] as unknown[],
        extendedNextHop: [] as unknown[],
        raw: {} as Record<string, string>,
      };
      const wantRaw = ((expect.open as { raw?: Record<string, string> } | undefined)?.raw ?? {}) as Record<string, string>;
      for (const c of caps) {
        switch (c.kind) {
          case 'multiprotocol':
            (o.multiprotocol as unknown[]).push({ afi: c.afi, safi: c.safi });
            break;
          case 'four-octet-as':
            o.asn4 = c.asn;
            break;
          case 'add-path':
            for (const f of c.families) (o.addPath as unknown[]).push({ afi: f.afi, safi: f.safi, mode: f.mode });
            break;
          case 'extended-next-hop':
            for (const f of c.families) (o.extendedNextHop as unknown[]).push({ afi: f.afi, safi: f.safi, nextHopAfi: f.nextHopAfi });
            break;
          case 'fqdn':
            o.fqdn = { hostname: c.hostname, domain: c.domain };
            break;
          case 'graceful-restart':
            o.gracefulRestart = {
              restartTime: c.restartTime,
              restarting: c.restarting,
              notification: c.notification,
              families: c.families.map((f) => ({ afi: f.afi, safi: f.safi, forwarding: f.forwarding })),
            };
            break;
          default:
            break;
        }
        const code = String(capabilityCode(c));
        if (code in wantRaw) (o.raw as Record<string, string>)[code] = toHex(encodeCapabilityValue(c));
      }
      out.open = o;
      break;
    }
    case 2: {
      const u: Record<string, unknown> = { withdrawn: prefixes(m.withdrawn), nlri: prefixes(m.nlri) };
      for (const a of m.attributes) {
        const t = attributeTypeCode(a);
        switch (a.kind) {
          case 'origin':
            u.origin = a.origin;
            break;
          case 'as-path':
            u.asPath = a.segments.map((s) => ({ type: s.type, asns: [...s.asns] }));
            break;
          case 'as4-path':
            u.as4Path = a.segments.map((s) => ({ type: s.type, asns: [...s.asns] }));
            break;
          case 'next-hop':
            u.nextHop = a.nextHop;
            break;
          case 'med':
            u.med = a.value;
            break;
          case 'local-pref':
            u.localPref = a.value;
            break;
          case 'atomic-aggregate':
            u.atomicAggregate = true;
            break;
          case 'aggregator':
            u.aggregator = { asn: a.asn, address: a.address };
            break;
          case 'communities':
            u.communities = a.communities.map((c) => `${c >>> 16}:${c & 0xffff}`).sort();
            break;
          case 'mp-reach':
            u.mpReach = { afi: a.afi, safi: a.safi, nextHops: nextHopToStrings(a.nextHop) ?? [toHex(a.nextHop)], nlri: prefixes(a.nlri) };
            break;
          case 'mp-unreach':
            u.mpUnreach = { afi: a.afi, safi: a.safi, withdrawn: prefixes(a.withdrawn) };
            break;
          case 'extended-communities':
            u.extendedCommunities = a.communities.map(toHex);
            break;
          case 'large-communities':
            u.largeCommunities = a.communities.map((c) => [...c]);
            break;
          default:
            break;
        }
        if (!DISSECTED.has(t)) {
          const list = (u.unknownAttributes as unknown[] | undefined) ?? [];
          list.push({ type: t, flags: a.flags });
          u.unknownAttributes = list;
        }
      }
      u.attributeTypes = m.attributes.map(attributeTypeCode);
      const eor = isEndOfRib(m);
      if (eor) u.endOfRib = `${eor.afi}/${eor.safi}`;
      out.update = u;
      break;
    }
    case 3: {
      const n: Record<string, unknown> = { code: m.code, subcode: m.subcode };
      const text = shutdownCommunication(m);
      if (text !== null) n.communication = text;
      if ((expect.notification as { data?: string } | undefined)?.data !== undefined) n.data = toHex(m.data);
      out.notification = n;
      break;
    }
    case 5:
      out.routeRefresh = { afi: m.afi, safi: m.safi, subtype: m.subtype };
      break;
    default:
      break;
  }
  return out;
}
