// Turns recorded pcaps into the golden vector tables under test/vectors/<scenario>/<type>.json.
// The bytes (`hex`) come from our pcap reader; everything in `expect` and `context` comes from
// Wireshark's BGP dissector (`tshark -T json`), never from our codec, so the golden tests compare
// our decoder against an independent implementation. Capabilities tshark 4.0 cannot dissect (role,
// LLGR) are recorded as the raw value hex tshark reports.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readBgpTcpStreams } from '../../../bgpd/pcap/capture.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

export interface PrefixExpect {
  prefix: string;
  pathId?: number;
}

export interface VectorContext {
  fourOctetAs: boolean;
  extendedMessage: boolean;
  /** Families ('afi/safi') whose NLRI carry add-path identifiers in this message's direction. */
  addPath: string[];
  /** Families both sides accept IPv6 next hops for (RFC 8950). */
  extendedNextHop: string[];
}

export interface Vector {
  name: string;
  source: string;
  /** Stream index and direction inside the pcap, for tracing a vector back to the capture. */
  pcap: { file: string; stream: number; from: string; to: string; index: number };
  context: VectorContext;
  hex: string;
  expect: Obj;
}

const TYPE_NAMES: Record<number, string> = { 1: 'open', 2: 'update', 3: 'notification', 4: 'keepalive', 5: 'route-refresh' };

// ------------------------------------------------------------------------------------------------
// tshark JSON helpers (with --no-duplicate-keys, repeated fields become arrays)

function asList(v: Json | undefined): Json[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}
function isObj(v: Json | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function num(v: Json | undefined): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  return s.startsWith('0x') ? parseInt(s, 16) : Number(s);
}
function rawHex(v: Json | undefined): string | undefined {
  return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}

const PREFIX_KEY = /^([0-9a-fA-F:.]+\/\d+)/;

/** Prefix entries are objects keyed by "10.1.0.0/24" (plus " PathId N" text in some versions). */
function prefixes(container: Json | undefined): PrefixExpect[] {
  const out: PrefixExpect[] = [];
  for (const c of asList(container)) {
    if (!isObj(c)) continue;
    for (const [k, v] of Object.entries(c)) {
      const m = PREFIX_KEY.exec(k);
      if (!m || !m[1]) continue;
      for (const entry of asList(v)) {
        const p: PrefixExpect = { prefix: m[1] };
        if (isObj(entry)) {
          const id = num(entry['bgp.nlri_path_id']);
          if (id !== undefined) p.pathId = id;
        }
        out.push(p);
      }
    }
  }
  return out;
}

const PA = 'bgp.update.path_attribute';

function updateExpect(bgp: Obj): Obj {
  const e: Obj = {
    withdrawn: prefixes(bgp['bgp.update.withdrawn_routes']) as unknown as Json,
    nlri: prefixes(bgp['bgp.update.nlri']) as unknown as Json,
  };
  const attrTypes: number[] = [];
  const attrsContainer = bgp['bgp.update.path_attributes'];
  const attrs = isObj(attrsContainer) ? asList(attrsContainer[PA]) : [];
  for (const a of attrs) {
    if (!isObj(a)) continue;
    const t = num(a[`${PA}.type_code`]) ?? -1;
    attrTypes.push(t);
    const flags = num(a[`${PA}.flags`]);
    switch (t) {
      case 1:
        e.origin = num(a[`${PA}.origin`]) ?? null;
        break;
      case 2:
      case 17: {
        const segs = asList(a[`${PA}.as_path_segment`]).filter(isObj).map((s) => ({
          type: num(s[`${PA}.as_path_segment.type`]) ?? -1,
          asns: asList(s[`${PA}.as_path_segment.as4`] ?? s[`${PA}.as_path_segment.as2`]).map((x) => num(x) ?? -1),
        }));
        e[t === 2 ? 'asPath' : 'as4Path'] = segs;
        break;
      }
      case 3:
        e.nextHop = str(a[`${PA}.next_hop`]) ?? null;
        break;
      case 4:
        e.med = num(a[`${PA}.multi_exit_disc`]) ?? null;
        break;
      case 5:
        e.localPref = num(a[`${PA}.local_pref`]) ?? null;
        break;
      case 6:
        e.atomicAggregate = true;
        break;
      case 7:
        e.aggregator = { asn: num(a[`${PA}.aggregator_as`]) ?? -1, address: str(a[`${PA}.aggregator_origin`]) ?? '' };
        break;
      case 8: {
        const c = a[`${PA}.communities`];
        const list: string[] = [];
        if (isObj(c)) {
          // tshark splits plain communities (AS:value) from well-known ones (0xFFFFFFxx); keep wire order
          // only within each kind, so compare as a sorted set.
          for (const x of asList(c[`${PA}.community`])) {
            if (isObj(x)) list.push(`${num(x[`${PA}.community_as`])}:${num(x[`${PA}.community_value`])}`);
          }
          for (const w of asList(c[`${PA}.community_wellknown`])) {
            const v = num(w) ?? 0;
            list.push(`${v >>> 16}:${v & 0xffff}`);
          }
        }
        e.communities = list.sort();
        break;
      }
      case 14: {
        const nh = a[`${PA}.mp_reach_nlri.next_hop_tree`];
        const hops: string[] = [];
        if (isObj(nh)) {
          for (const [k, v] of Object.entries(nh)) if (typeof v === 'string' && k.includes('next_hop')) hops.push(v);
        }
        e.mpReach = {
          afi: num(a[`${PA}.mp_reach_nlri.afi`]) ?? -1,
          safi: num(a[`${PA}.mp_reach_nlri.safi`]) ?? -1,
          nextHops: hops,
          nlri: prefixes(a[`${PA}.mp_reach_nlri`]) as unknown as Json,
        };
        break;
      }
      case 15:
        e.mpUnreach = {
          afi: num(a[`${PA}.mp_unreach_nlri.afi`]) ?? -1,
          safi: num(a[`${PA}.mp_unreach_nlri.safi`]) ?? -1,
          withdrawn: prefixes(a[`${PA}.mp_unreach_nlri`]) as unknown as Json,
        };
        break;
      case 16: {
        const c = a['bgp.ext_communities'];
        const raw = isObj(c) ? c['bgp.ext_community_raw'] : undefined;
        // One community: a single [hex, pos, len, ...] tuple; several: a list of them.
        const tuples = Array.isArray(raw) && typeof raw[0] === 'string' ? [raw] : asList(raw);
        e.extendedCommunities = tuples.map((r) => rawHex(r) ?? '');
        break;
      }
      case 32: {
        const tree = asList(a['bgp.large_communities_tree']).filter(isObj);
        e.largeCommunities = tree.flatMap((t) => {
          const ga = asList(t['bgp.large_communities.ga']);
          const l1 = asList(t['bgp.large_communities.ldp1']);
          const l2 = asList(t['bgp.large_communities.ldp2']);
          return ga.map((g, i) => [num(g) ?? -1, num(l1[i]) ?? -1, num(l2[i]) ?? -1]);
        });
        break;
      }
      default: {
        // An attribute tshark does not dissect: keep its flags and raw value.
        const unknown = (e.unknownAttributes as Json[] | undefined) ?? [];
        unknown.push({ type: t, flags: flags ?? -1 });
        e.unknownAttributes = unknown;
      }
    }
  }
  e.attributeTypes = attrTypes;
  // End-of-RIB (RFC 4724 §2): IPv4 = empty UPDATE; others = MP_UNREACH with no NLRI, nothing else.
  if (attrTypes.length === 0 && (e.withdrawn as Json[]).length === 0 && (e.nlri as Json[]).length === 0) e.endOfRib = '1/1';
  const mpu = e.mpUnreach;
  if (attrTypes.length === 1 && isObj(mpu) && asList(mpu.withdrawn).length === 0) e.endOfRib = `${mpu.afi}/${mpu.safi}`;
  return e;
}

interface CapInfo {
  codes: number[];
  asn4?: number;
  addPath: { afi: number; safi: number; mode: number }[];
  multiprotocol: { afi: number; safi: number }[];
  extendedNextHop: { afi: number; safi: number; nextHopAfi: number }[];
  fqdn?: { hostname: string; domain: string };
  gracefulRestart?: { restartTime: number; restarting: boolean; notification: boolean; families: { afi: number; safi: number; forwarding: boolean }[] };
  /** Raw value hex of capabilities tshark does not dissect (role 9, LLGR 71, ...). */
  raw: Record<string, string>;
}

function openCaps(bgp: Obj): CapInfo {
  const info: CapInfo = { codes: [], addPath: [], multiprotocol: [], extendedNextHop: [], raw: {} };
  const opt = bgp['bgp.open.opt'];
  const params = isObj(opt) ? asList(opt['bgp.open.opt.param']) : [];
  for (const p of params) {
    if (!isObj(p)) continue;
    for (const cap of asList(p['bgp.cap'])) {
      if (!isObj(cap)) continue;
      const code = num(cap['bgp.cap.type']) ?? -1;
      info.codes.push(code);
      switch (code) {
        case 1:
          info.multiprotocol.push({ afi: num(cap['bgp.cap.mp.afi']) ?? -1, safi: num(cap['bgp.cap.mp.safi']) ?? -1 });
          break;
        case 5: {
          const afis = asList(cap['bgp.cap.enh.afi']);
          const safis = asList(cap['bgp.cap.enh.safi']);
          const nh = asList(cap['bgp.cap.enh.nhafi']);
          afis.forEach((x, i) => info.extendedNextHop.push({ afi: num(x) ?? -1, safi: num(safis[i]) ?? -1, nextHopAfi: num(nh[i]) ?? -1 }));
          break;
        }
        case 65:
          info.asn4 = num(cap['bgp.cap.4as']);
          break;
        case 69: {
          const afis = asList(cap['bgp.cap.ap.afi']);
          const safis = asList(cap['bgp.cap.ap.safi']);
          const modes = asList(cap['bgp.cap.ap.sendreceive']);
          afis.forEach((x, i) => info.addPath.push({ afi: num(x) ?? -1, safi: num(safis[i]) ?? -1, mode: num(modes[i]) ?? -1 }));
          break;
        }
        case 73:
          info.fqdn = { hostname: str(cap['bgp.cap.orf.fqdn.hostname']) ?? '', domain: str(cap['bgp.cap.orf.fqdn.domain_name']) ?? '' };
          break;
        case 64: {
          const t = cap['bgp.cap.gr.timers_tree'];
          const afis = asList(cap['bgp.cap.gr.afi']);
          const safis = asList(cap['bgp.cap.gr.safi']);
          const flags = asList(cap['bgp.cap.gr.flag']);
          info.gracefulRestart = {
            restartTime: isObj(t) ? num(t['bgp.cap.gr.timers.restart_time']) ?? -1 : -1,
            restarting: isObj(t) ? num(t['bgp.cap.gr.timers.restart_flag']) === 1 : false,
            notification: isObj(t) ? num(t['bgp.cap.gr.timers.notification_flag']) === 1 : false,
            families: afis.map((x, i) => ({ afi: num(x) ?? -1, safi: num(safis[i]) ?? -1, forwarding: ((num(flags[i]) ?? 0) & 0x80) !== 0 })),
          };
          break;
        }
        default: {
          const u = str(cap['bgp.cap.unknown']);
          if (u !== undefined) info.raw[String(code)] = u.replace(/:/g, '');
        }
      }
    }
  }
  return info;
}

function notificationExpect(bgp: Obj): Obj {
  let subcode = -1;
  for (const [k, v] of Object.entries(bgp)) if (k.startsWith('bgp.notify.minor_error')) subcode = num(v) ?? -1;
  const e: Obj = { code: num(bgp['bgp.notify.major_error']) ?? -1, subcode };
  const comm = str(bgp['bgp.notify.communication']);
  if (comm !== undefined) e.communication = comm;
  const data = str(bgp['bgp.notify.error_data']);
  if (data !== undefined) e.data = data.replace(/:/g, '');
  return e;
}

// ------------------------------------------------------------------------------------------------

interface TsharkMessage {
  dirKey: string;
  stream: number;
  bgp: Obj;
}

function tsharkMessages(pcap: string): TsharkMessage[] {
  const out = execFileSync('tshark', ['-r', pcap, '-T', 'json', '-x', '--no-duplicate-keys', '-J', 'ip ipv6 tcp bgp', '-Y', 'bgp'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const packets = JSON.parse(out) as { _source: { layers: Obj } }[];
  const msgs: TsharkMessage[] = [];
  for (const p of packets) {
    const l = p._source.layers;
    const ip = isObj(l.ip) ? l.ip : isObj(l.ipv6) ? l.ipv6 : undefined;
    const tcp = l.tcp;
    if (!ip || !isObj(tcp)) continue;
    const src = str(ip['ip.src']) ?? str(ip['ipv6.src']) ?? '';
    const dst = str(ip['ip.dst']) ?? str(ip['ipv6.dst']) ?? '';
    const dirKey = `${src}|${num(tcp['tcp.srcport'])}>${dst}|${num(tcp['tcp.dstport'])}`;
    for (const bgp of asList(l.bgp)) if (isObj(bgp)) msgs.push({ dirKey, stream: num(tcp['tcp.stream']) ?? -1, bgp });
  }
  return msgs;
}

function familyKeyOf(f: { afi: number; safi: number }): string {
  return `${f.afi}/${f.safi}`;
}

/** Negotiated context for messages sent by `s` to `r` (RFC 6793, RFC 8654, RFC 7911 §4, RFC 8950 §3). */
function contextFor(s: CapInfo | undefined, r: CapInfo | undefined): VectorContext {
  if (!s || !r) return { fourOctetAs: false, extendedMessage: false, addPath: [], extendedNextHop: [] };
  const addPath = s.addPath
    .filter((a) => a.mode & 2)
    .filter((a) => r.addPath.some((b) => b.afi === a.afi && b.safi === a.safi && b.mode & 1))
    .map(familyKeyOf);
  // RFC 8950 §4: usable only for families both sides listed with next-hop AFI IPv6.
  const extendedNextHop = r.extendedNextHop
    .filter((f) => f.nextHopAfi === 2 && s.extendedNextHop.some((g) => g.afi === f.afi && g.safi === f.safi && g.nextHopAfi === 2))
    .map(familyKeyOf);
  return {
    fourOctetAs: s.codes.includes(65) && r.codes.includes(65),
    extendedMessage: s.codes.includes(6) && r.codes.includes(6),
    addPath: [...new Set(addPath)].sort(),
    extendedNextHop: [...new Set(extendedNextHop)].sort(),
  };
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export interface ExtractOptions {
  /** pcap path. */
  pcap: string;
  /** Scenario name: output folder and name prefix. */
  scenario: string;
  /** Daemon (with version) by sender address, e.g. {'10.0.0.1': 'frr-8.4.4'}. */
  speakers: Record<string, string>;
}

export function extract(opts: ExtractOptions): Vector[] {
  const file = readFileSync(opts.pcap);
  const streams = readBgpTcpStreams(new Uint8Array(file.buffer, file.byteOffset, file.byteLength));
  const ts = tsharkMessages(opts.pcap);
  const byDir = new Map<string, TsharkMessage[]>();
  for (const m of ts) {
    const list = byDir.get(m.dirKey) ?? [];
    list.push(m);
    byDir.set(m.dirKey, list);
  }
  const vectors: Vector[] = [];
  const keepaliveSeen = new Set<string>();
  for (const stream of streams) {
    const dirs = stream.directions.map((d) => {
      const key = `${d.from.address}|${d.from.port}>${d.to.address}|${d.to.port}`;
      const msgs: Uint8Array[] = [];
      let off = 0;
      while (off + 19 <= d.data.length) {
        const len = ((d.data[off + 16] ?? 0) << 8) | (d.data[off + 17] ?? 0);
        if (len < 19 || off + len > d.data.length) break;
        msgs.push(d.data.subarray(off, off + len));
        off += len;
      }
      return { d, key, msgs, shark: byDir.get(key) ?? [] };
    });
    const caps = dirs.map((x) => {
      const open = x.shark.find((m) => num(m.bgp['bgp.type']) === 1);
      return open ? openCaps(open.bgp) : undefined;
    });
    dirs.forEach((x, di) => {
      if (x.msgs.length !== x.shark.length) {
        throw new Error(`${opts.pcap} ${x.key}: our reader found ${x.msgs.length} messages, tshark ${x.shark.length}`);
      }
      const context = contextFor(caps[di], caps[1 - di]);
      x.msgs.forEach((bytes, i) => {
        const sm = x.shark[i]!;
        const type = bytes[18] ?? 0;
        if (num(sm.bgp['bgp.type']) !== type || num(sm.bgp['bgp.length']) !== bytes.length) {
          throw new Error(`${opts.pcap} ${x.key} message ${i}: type/length differ from tshark`);
        }
        // Every KEEPALIVE is the same 19 bytes: keep the first from each speaker.
        const from = x.d.from.address;
        if (type === 4) {
          if (keepaliveSeen.has(from)) return;
          keepaliveSeen.add(from);
        }
        const typeName = TYPE_NAMES[type] ?? `type-${type}`;
        const expect: Obj = { type: typeName, length: bytes.length };
        if (type === 1) {
          const c = openCaps(sm.bgp);
          expect.open = {
            version: num(sm.bgp['bgp.open.version']) ?? -1,
            myAs: num(sm.bgp['bgp.open.myas']) ?? -1,
            holdTime: num(sm.bgp['bgp.open.holdtime']) ?? -1,
            bgpId: str(sm.bgp['bgp.open.identifier']) ?? '',
            ...(c as unknown as Obj),
          };
        } else if (type === 2) expect.update = updateExpect(sm.bgp);
        else if (type === 3) expect.notification = notificationExpect(sm.bgp);
        else if (type === 5) {
          expect.routeRefresh = {
            afi: num(sm.bgp['bgp.route_refresh.afi']) ?? -1,
            safi: num(sm.bgp['bgp.route_refresh.safi']) ?? -1,
            subtype: num(sm.bgp['bgp.route_refresh.subtype']) ?? -1,
          };
        }
        const to = x.d.to.address;
        vectors.push({
          name: `${opts.scenario}-s${stream.index}-${from}-${String(i).padStart(3, '0')}-${typeName}`,
          source: `${opts.speakers[from] ?? from} -> ${opts.speakers[to] ?? to}`,
          pcap: { file: basename(opts.pcap), stream: stream.index, from: `${from}:${x.d.from.port}`, to: `${to}:${x.d.to.port}`, index: i },
          context,
          hex: toHex(bytes),
          expect,
        });
      });
    });
  }
  return vectors;
}

/** Writes test/vectors/<scenario>/<type>.json for every pcap in `pcapDir` named like a scenario. */
export function writeTables(pcapDir: string, outDir: string, speakers: Record<string, Record<string, string>>): void {
  for (const f of readdirSync(pcapDir).filter((x) => x.endsWith('.pcap')).sort()) {
    const scenario = f.replace(/\.pcap$/, '');
    const vectors = extract({ pcap: join(pcapDir, f), scenario, speakers: speakers[scenario] ?? {} });
    const dir = join(outDir, scenario);
    // Start clean so a message type that no longer occurs does not leave a stale table behind.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const byType = new Map<string, Vector[]>();
    for (const v of vectors) {
      const t = String(v.expect.type);
      byType.set(t, [...(byType.get(t) ?? []), v]);
    }
    for (const [t, list] of byType) writeFileSync(join(dir, `${t}.json`), `${JSON.stringify(list, null, 1)}\n`);
    process.stdout.write(`${scenario}: ${vectors.length} vectors\n`);
  }
}

function version(cmd: string, args: string[], re: RegExp): string {
  // Some daemons print their version on stderr (BIRD) or exit non-zero after printing it.
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? 'unknown';
}

/** Daemon names with the installed versions, per scenario side (a = 10.0.0.1, b = 10.0.0.2). */
export function installedSpeakers(): Record<string, Record<string, string>> {
  const frr = `frr-${version('/usr/lib/frr/bgpd', ['-v'], /version (\S+)/)}`;
  const bird = `bird-${version('bird', ['--version'], /BIRD version (\S+)/)}`;
  const gobgp = `gobgp-${version('gobgpd', ['--version'], /version (\S+)/)}`;
  const exabgp = `exabgp-${version('exabgp', ['--version'], /ExaBGP : (\S+)/)}`;
  const side = (a: string, b: string): Record<string, string> => ({
    '10.0.0.1': a,
    'fd00:0:0:1::1': a,
    '10.0.0.2': b,
    'fd00:0:0:1::2': b,
  });
  return {
    'frr-bird': side(frr, bird),
    'frr-gobgp': side(frr, gobgp),
    'bird-gobgp': side(bird, gobgp),
    'exabgp-frr': side(frr, exabgp),
  };
}

// CLI: node dist/test/harness/peers/vectors-extract.js PCAPDIR OUTDIR
if (process.argv[1] && resolve(process.argv[1]).endsWith('vectors-extract.js')) {
  const [pcapDir, outDir] = process.argv.slice(2);
  if (!pcapDir || !outDir) {
    process.stderr.write('usage: vectors-extract.js PCAPDIR OUTDIR\n');
    process.exit(2);
  }
  writeTables(pcapDir, outDir, installedSpeakers());
}
