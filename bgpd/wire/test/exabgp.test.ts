// Cross-check against ExaBGP's QA vectors (copied into vectors/exabgp, see its README). Every raw
// message must decode without an untyped exception; IPv4/IPv6 unicast messages must round-trip byte for
// byte and agree with ExaBGP's JSON on prefixes, next hop, AS path and communities; other families must
// be carried through as opaque NLRI or yield a typed WireError.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  Afi,
  ErrorAction,
  NlriList,
  Safi,
  UpdateSubcode,
  WireError,
  decodeHex,
  encodeMessage,
  familyKey,
  fromHex,
  ipv4ToString,
  decodeMessage,
  isEndOfRib,
  makeContext,
  nextHopToStrings,
  parsePrefix,
  prefixToString,
  toHex,
  type Message,
  type PathAttribute,
  type UpdateMessage,
  type WireContext,
} from '../index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, 'vectors', 'exabgp');

interface RawVector {
  file: string;
  line: number;
  hex: string;
  json: ExaJson | null;
}

interface ExaUpdate {
  attribute?: {
    'as-path'?: Record<string, { element: string; value: number[] }>;
    community?: number[][];
    'large-community'?: number[][];
  };
  announce?: Record<string, Record<string, { nlri: string; 'path-information'?: string }[]>>;
  withdraw?: Record<string, { nlri: string; 'path-information'?: string }[]>;
}

interface ExaJson {
  type: string;
  neighbor: { message?: { update?: ExaUpdate } };
}

/**
 * The capability context each configuration implies. The .conf files are not part of the vectors, so
 * this is inferred from the file names and ExaBGP's defaults (ASN4 on, no add-path, no ENH).
 */
function contextFor(file: string): WireContext {
  const addPath = /conf-addpath|conf-path-information/.test(file);
  return makeContext({
    fourOctetAs: !/conf-no-asn4/.test(file),
    addPathReceive: new Set(addPath ? [familyKey(Afi.Ipv4, Safi.Unicast), familyKey(Afi.Ipv6, Safi.Unicast)] : []),
    extendedNextHop: new Set(/extended-nexthop/.test(file) ? [familyKey(Afi.Ipv4, Safi.Unicast)] : []),
  });
}

/**
 * Messages ExaBGP produces that a strict RFC reading rejects; each with the typed outcome we expect.
 */
const EXPECTED_REJECTS: { file: string; contains: string; subcode: number; action: string; why: string }[] = [
  {
    file: 'conf-generic-attribute.ci',
    contains: '6099',
    subcode: UpdateSubcode.UnrecognizedWellKnownAttribute,
    action: ErrorAction.SessionReset,
    why: 'attribute 153 sent with the Optional bit clear: unrecognised well-known (RFC 4271 §6.3)',
  },
  {
    file: 'conf-generic-attribute.ci',
    contains: '7099',
    subcode: UpdateSubcode.UnrecognizedWellKnownAttribute,
    action: ErrorAction.SessionReset,
    why: 'same, with Extended Length set',
  },
  {
    file: 'extended-nexthop.ci',
    contains: '800E1A00020104',
    subcode: UpdateSubcode.OptionalAttributeError,
    action: ErrorAction.SessionReset,
    why: 'IPv6 unicast MP_REACH with a 4-octet next hop (RFC 2545 §3 requires 16 or 32; RFC 7606 §7.11)',
  },
];

/** Unicast messages that decode but must be withdrawn, with why. */
const EXPECTED_WITHDRAW: { file: string; contains: string; subcode: number; why: string }[] = [
  {
    file: 'conf-attributes.ci',
    contains: '4003' + '04FFFFFFFF',
    subcode: UpdateSubcode.InvalidNextHopAttribute,
    why: 'NEXT_HOP 255.255.255.255 is not a host address (RFC 4271 §6.3, RFC 7606 §7.3)',
  },
];

function loadEncoding(): RawVector[] {
  const dir = join(root, 'encoding');
  const out: RawVector[] = [];
  for (const file of readdirSync(dir).sort()) {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    lines.forEach((l, i) => {
      const m = /^\w+:raw:(.*)$/.exec(l);
      if (m === null) return;
      const next = lines[i + 1] ?? '';
      const j = /^\w+:json:(.*)$/.exec(next);
      out.push({ file, line: i + 1, hex: m[1]!.replace(/:/g, '').toUpperCase(), json: j ? (JSON.parse(j[1]!) as ExaJson) : null });
    });
  }
  return out;
}

function isUnicastOnly(u: UpdateMessage): boolean {
  return u.attributes.every((a) => (a.kind !== 'mp-reach' && a.kind !== 'mp-unreach') || !a.afi || (a.afi <= 2 && a.safi === 1));
}

function prefixesOf(l: NlriList): string[] {
  return l.toArray().map((p) => (p.pathId === undefined ? prefixToString(p) : `${prefixToString(p)}#${p.pathId}`));
}

function exaPrefixes(list: { nlri: string; 'path-information'?: string }[]): string[] {
  return list.map((e) => {
    const p = prefixToString(parsePrefix(e.nlri));
    const pi = e['path-information'];
    if (pi === undefined) return p;
    const id = pi.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    return `${p}#${id}`;
  });
}

function attr<K extends PathAttribute['kind']>(u: UpdateMessage, kind: K): Extract<PathAttribute, { kind: K }> | undefined {
  return u.attributes.find((a): a is Extract<PathAttribute, { kind: K }> => a.kind === kind);
}

function checkAgainstJson(u: UpdateMessage, exa: ExaUpdate): void {
  const announced: Record<string, string[]> = {};
  const nextHops: Record<string, string[]> = {};
  if (u.nlri.count > 0) {
    announced['ipv4 unicast'] = prefixesOf(u.nlri);
    const nh = attr(u, 'next-hop');
    // A NEXT_HOP rejected by validation is kept raw (kind 'malformed'); compare its bytes too.
    const raw = u.attributes.find((a) => a.kind === 'malformed' && a.typeCode === 3);
    nextHops['ipv4 unicast'] = nh ? [nh.nextHop] : raw?.kind === 'malformed' ? [ipv4ToString(raw.data)] : [];
  }
  const mp = attr(u, 'mp-reach');
  if (mp !== undefined && mp.nlri.count > 0) {
    const fam = `${mp.afi === Afi.Ipv6 ? 'ipv6' : 'ipv4'} unicast`;
    announced[fam] = [...(announced[fam] ?? []), ...prefixesOf(mp.nlri)];
    nextHops[fam] = nextHopToStrings(mp.nextHop) ?? [];
  }
  for (const [fam, byNh] of Object.entries(exa.announce ?? {})) {
    const want = Object.values(byNh).flatMap(exaPrefixes);
    expect(announced[fam]?.sort(), `${fam} announced`).toEqual(want.sort());
    for (const nh of Object.keys(byNh)) expect(nextHops[fam], `${fam} next hop`).toContain(nh);
  }
  expect(Object.keys(announced).sort()).toEqual(Object.keys(exa.announce ?? {}).sort());
  const withdrawn: Record<string, string[]> = {};
  if (u.withdrawn.count > 0) withdrawn['ipv4 unicast'] = prefixesOf(u.withdrawn);
  const mpu = attr(u, 'mp-unreach');
  if (mpu !== undefined && mpu.withdrawn.count > 0) withdrawn[`${mpu.afi === Afi.Ipv6 ? 'ipv6' : 'ipv4'} unicast`] = prefixesOf(mpu.withdrawn);
  for (const [fam, list] of Object.entries(exa.withdraw ?? {})) expect(withdrawn[fam]?.sort(), `${fam} withdrawn`).toEqual(exaPrefixes(list).sort());
  const exaPath = exa.attribute?.['as-path'];
  if (exaPath !== undefined) {
    const want = Object.values(exaPath).map((s) => s.value);
    expect(attr(u, 'as-path')?.segments.map((s) => [...s.asns])).toEqual(want);
  }
  const comm = exa.attribute?.community;
  if (comm !== undefined) {
    expect(attr(u, 'communities')?.communities.map((c) => [c >>> 16, c & 0xffff])).toEqual(comm);
  }
  const large = exa.attribute?.['large-community'];
  if (large !== undefined) {
    expect(attr(u, 'large-communities')?.communities.map((c) => [...c])).toEqual(large);
  }
}

describe('ExaBGP QA vectors (Exa-Networks/exabgp @ 4460078e)', () => {
  it('the vector folder and licence are present', () => {
    expect(existsSync(join(root, 'LICENCE.txt'))).toBe(true);
    expect(existsSync(join(root, 'encoding'))).toBe(true);
    expect(existsSync(join(root, 'decoding'))).toBe(true);
  });

  const vectors = loadEncoding();
  it('finds the raw messages (a missing folder fails, it does not pass empty)', () => {
    expect(vectors.length).toBeGreaterThan(150);
  });

  it('decodes every raw message to a message or a typed error', () => {
    let unicast = 0;
    let carried = 0;
    for (const v of vectors) {
      const where = `${v.file}:${v.line}`;
      const ctx = contextFor(v.file);
      const r = decodeHex(v.hex, ctx);
      const reject = EXPECTED_REJECTS.find((e) => e.file === v.file && v.hex.includes(e.contains));
      if (reject !== undefined) {
        expect(r.ok, `${where} ${reject.why}`).toBe(false);
        if (!r.ok) {
          expect(r.error).toBeInstanceOf(WireError);
          expect([r.error.subcode, r.error.action], where).toEqual([reject.subcode, reject.action]);
        }
        continue;
      }
      if (!r.ok) {
        // Anything else may only fail with a typed error (never a crash) and never for unicast.
        expect(r.error, where).toBeInstanceOf(WireError);
        throw new Error(`${where}: unexpected rejection ${r.error.code} ${r.error.message}`);
      }
      const m: Message = r.message;
      // Byte-exact re-encoding holds for every well-formed message, of any family.
      expect(toHex(encodeMessage(m, ctx)).toUpperCase(), where).toBe(v.hex);
      if (m.type !== 2) continue;
      const withdraw = EXPECTED_WITHDRAW.find((e) => e.file === v.file && v.hex.includes(e.contains));
      if (withdraw !== undefined) {
        expect(r.action, `${where} ${withdraw.why}`).toBe(ErrorAction.TreatAsWithdraw);
        expect(r.errors.map((e) => e.subcode)).toContain(withdraw.subcode);
      } else {
        expect(r.action, `${where} ${r.errors.map((e) => e.message).join('; ')}`).toBeNull();
      }
      if (isUnicastOnly(m)) {
        unicast++;
        if (v.json?.neighbor.message?.update !== undefined) checkAgainstJson(m, v.json.neighbor.message.update);
        else if (v.json === null && isEndOfRib(m) === null && m.nlri.count === 0 && m.withdrawn.count === 0) {
          // Raw-only lines are EoR markers or empty updates.
          expect(m.attributes.length).toBeGreaterThan(0);
        }
      } else {
        const mp = m.attributes.find((a) => a.kind === 'mp-reach' || a.kind === 'mp-unreach');
        if (mp !== undefined && (mp.kind === 'mp-reach' ? mp.nlri.opaque : mp.kind === 'mp-unreach' && mp.withdrawn.opaque)) carried++;
      }
    }
    expect(unicast).toBeGreaterThan(40);
    expect(carried).toBeGreaterThan(40);
  });

  it('recognises End-of-RIB for IPv4 unicast and MP families', () => {
    const eors = vectors.filter((v) => /^[0-9A-F]{32}00(17|1E)02/.test(v.hex));
    expect(eors.length).toBeGreaterThan(5);
    for (const v of eors) {
      const r = decodeHex(v.hex, contextFor(v.file));
      expect(r.ok).toBe(true);
      if (r.ok && r.message.type === 2) expect(isEndOfRib(r.message), `${v.file}:${v.line}`).not.toBeNull();
    }
  });

  it('decodes the decoding/ samples (header added where the sample is body-only)', () => {
    const dir = join(root, 'decoding');
    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThan(15);
    let decoded = 0;
    for (const f of files) {
      const [kind, hex] = readFileSync(join(dir, f), 'utf8').split('\n');
      if (kind === undefined || hex === undefined || kind.startsWith('nlri')) continue; // bare NLRI, not a message
      let bytes = fromHex(hex.trim());
      if (bytes[0] !== 0xff) {
        // Body-only sample: add the 19-byte header with the type named on the first line.
        const type = kind.startsWith('open') ? 1 : 2;
        const whole = new Uint8Array(19 + bytes.length);
        whole.fill(0xff, 0, 16);
        whole[16] = whole.length >>> 8;
        whole[17] = whole.length & 255;
        whole[18] = type;
        whole.set(bytes, 19);
        bytes = whole;
      }
      const ctx = makeContext({ fourOctetAs: true });
      const r = decodeMessage(bytes, ctx);
      expect(r.ok, `${f}: ${r.ok ? '' : r.error.message}`).toBe(true);
      if (!r.ok) continue;
      decoded++;
      expect(toHex(encodeMessage(r.message, ctx)), f).toBe(toHex(bytes));
      if (f.startsWith('ipv4-unicast') && r.message.type === 2) {
        const exa = JSON.parse(readFileSync(join(dir, f), 'utf8').split('\n')[2]!) as ExaJson;
        checkAgainstJson(r.message, exa.neighbor.message!.update!);
      }
    }
    expect(decoded).toBeGreaterThan(15);
  });
});
