// The declarative fabric model (YAML): spines, racks with one or two ToRs, Kubernetes nodes with
// their uplinks, an AS numbering scheme, point-to-point addressing and the pod pools.
// This file only reads and type-checks the YAML; cross-element rules live in validate.ts and
// numbering in resolve.ts.
import { parse as parseYaml } from 'yaml';
import { arr, ConfigError, int, noExtraKeys, obj, oneOf, optObj, str, bool, type Obj } from '../lib/config-check.js';
import { parseIfaceAddr, parseNet, type IpNet } from '../lib/ip.js';
import { TopologyError, TopologyErrorCode } from './errors.js';

/**
 * AS numbering (RFC 7938 §5.2):
 *  - per-rack: Calico's AS-per-rack model. A rack's ToRs and nodes share the rack's AS; node<->ToR
 *    sessions are iBGP with the ToRs as route reflectors (RFC 4456); ToR<->spine is eBGP.
 *  - per-tor: every ToR has its own AS (RFC 7938 §5.2.1), every node its own AS too; eBGP everywhere.
 *  - per-node: ToRs of a rack share the rack AS, every node has its own AS (RFC 7938 §5.2.3-style
 *    edge: a private 4-byte AS per server, RFC 6996).
 * Spines always share one AS (RFC 7938 §5.2.1: Tier-1 devices in one AS, so no spine-to-spine path
 * is ever valid).
 */
export const AsnScheme = { PerRack: 'per-rack', PerTor: 'per-tor', PerNode: 'per-node' } as const;
export type AsnScheme = (typeof AsnScheme)[keyof typeof AsnScheme];

export interface AsnPlan {
  scheme: AsnScheme;
  spine: number;
  /** First rack/ToR AS; allocated in order of appearance. */
  torBase: number;
  /** First node AS (per-tor, per-node). */
  nodeBase: number;
  /** Accept our own AS once in received paths (FRR `allowas-in 1`) — required when an AS repeats. */
  allowasIn: boolean;
}

export interface UplinkSpec {
  tor: string;
  unnumbered: boolean;
  /** Explicit node-side addresses ("10.1.0.1/31"), overriding the fabric allocation. */
  address?: string[];
  /** Explicit ToR-side addresses. */
  peerAddress?: string[];
}

export interface NodeSpec {
  name: string;
  /** Where the node is written in the YAML ("racks[0].nodes[1]" or "nodes[3]"), for errors. */
  where: string;
  asn?: number;
  uplinks: UplinkSpec[];
}

export interface TorSpec {
  name: string;
  asn?: number;
}

export interface RackSpec {
  name: string;
  zone?: string;
  asn?: number;
  tors: TorSpec[];
  nodes: NodeSpec[];
}

export interface SpineSpec {
  name: string;
}

export interface Pool {
  name: string;
  cidr: IpNet;
  cidrText: string;
  blockSize: number;
}

export interface FabricSpec {
  /** /31 (or /30) point-to-point links are carved from here. */
  ipv4?: IpNet;
  /** /127 (or /126) links are carved from here. */
  ipv6?: IpNet;
  /** 31 or 30; IPv6 uses 127 or 126 correspondingly. */
  prefixLength: 30 | 31;
  /** Router IDs and loopbacks, one /32 per router and node. */
  loopbacks: IpNet;
  /** Every link unnumbered (RFC 5549/8950 IPv4 over IPv6 link-local, FRR `neighbor IF interface`). */
  unnumbered: boolean;
}

export interface Images {
  router: string;
  agent: string;
  /** Used instead of the agent when a lab is generated without agents. */
  host: string;
}

export interface TopologySpec {
  name: string;
  asn: AsnPlan;
  fabric: FabricSpec;
  images: Images;
  spines: SpineSpec[];
  racks: RackSpec[];
  pools: Pool[];
  /** BFD (RFC 5880/5881) on every BGP session: FRR's bfdd and uplinkd's `bgp.bfd`, 100 ms x 3. */
  bfd: boolean;
}

export const DEFAULT_IMAGES: Images = {
  router: 'quay.io/frrouting/frr:8.4.1',
  // The image deploy/k8s/daemonset.yaml runs; the lab gives it the uplinkd command explicitly.
  agent: 'ghcr.io/uplink-net/uplink:0.1.0',
  host: 'wbitt/network-multitool:3.22.2',
};

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

function name(v: unknown, key: string): string {
  const s = str(v, key);
  // Names become containerlab node names, netns names and Kubernetes label values.
  if (!NAME_RE.test(s)) throw new ConfigError(key, `"${s}" is not a DNS label of at most 32 characters`);
  return s;
}

function cidr(v: unknown, key: string, family?: 4 | 6): IpNet {
  const s = str(v, key);
  const c = parseNet(s.trim());
  if (!c || (family && c.family !== family)) throw new ConfigError(key, `"${s}" is not an IPv${family ?? '4/6'} CIDR`);
  return c;
}

const asnInt = (v: unknown, key: string): number => int(v, key, 1, 4294967294);
const optAsn = (v: unknown, key: string): number | undefined => (v === undefined || v === null ? undefined : asnInt(v, key));

function addrList(v: unknown, key: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? [v] : arr(v, key);
  return list.map((x, i) => {
    const s = str(x, `${key}[${i}]`);
    if (!parseIfaceAddr(s.trim())) throw new ConfigError(`${key}[${i}]`, `"${s}" is not an interface address (ADDR/LEN)`);
    return s;
  });
}

export function parseTopology(text: string): TopologySpec {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new TopologyError(TopologyErrorCode.Invalid, 'topology', `not YAML: ${(err as Error).message}`, { cause: err });
  }
  try {
    return fromObject(obj(doc, 'topology'));
  } catch (err) {
    if (err instanceof ConfigError) throw new TopologyError(TopologyErrorCode.Invalid, err.key, err.message.slice(err.key.length + 2), { cause: err });
    throw err;
  }
}

function fromObject(d: Obj): TopologySpec {
  noExtraKeys(d, '', ['name', 'asn', 'fabric', 'images', 'spines', 'racks', 'nodes', 'pools', 'bfd']);
  const a = optObj(d, 'asn', 'asn');
  noExtraKeys(a, 'asn', ['scheme', 'spine', 'tor', 'node', 'allowasIn']);
  const asn: AsnPlan = {
    scheme: oneOf(a.scheme, 'asn.scheme', Object.values(AsnScheme), AsnScheme.PerRack),
    spine: a.spine === undefined ? 65000 : asnInt(a.spine, 'asn.spine'),
    torBase: a.tor === undefined ? 65100 : asnInt(a.tor, 'asn.tor'),
    // RFC 6996 §5: 4200000000-4294967294 is the private 4-byte range.
    nodeBase: a.node === undefined ? 4200000000 : asnInt(a.node, 'asn.node'),
    allowasIn: bool(a.allowasIn, 'asn.allowasIn', false),
  };
  const f = optObj(d, 'fabric', 'fabric');
  noExtraKeys(f, 'fabric', ['ipv4', 'ipv6', 'prefixLength', 'loopbacks', 'unnumbered']);
  const fabric: FabricSpec = {
    ...(f.ipv4 !== undefined ? { ipv4: cidr(f.ipv4, 'fabric.ipv4', 4) } : {}),
    ...(f.ipv6 !== undefined ? { ipv6: cidr(f.ipv6, 'fabric.ipv6', 6) } : {}),
    prefixLength: f.prefixLength === undefined ? 31 : (oneOf(String(f.prefixLength), 'fabric.prefixLength', ['30', '31']) === '30' ? 30 : 31),
    loopbacks: f.loopbacks === undefined ? parseNet('10.0.0.0/24')! : cidr(f.loopbacks, 'fabric.loopbacks', 4),
    unnumbered: bool(f.unnumbered, 'fabric.unnumbered', false),
  };
  const im = optObj(d, 'images', 'images');
  noExtraKeys(im, 'images', ['router', 'agent', 'host']);
  const images: Images = {
    router: im.router === undefined ? DEFAULT_IMAGES.router : str(im.router, 'images.router'),
    agent: im.agent === undefined ? DEFAULT_IMAGES.agent : str(im.agent, 'images.agent'),
    host: im.host === undefined ? DEFAULT_IMAGES.host : str(im.host, 'images.host'),
  };
  const spines = arr(d.spines, 'spines').map((s, i): SpineSpec => {
    const k = `spines[${i}]`;
    const o = obj(s, k);
    noExtraKeys(o, k, ['name']);
    return { name: name(o.name, `${k}.name`) };
  });
  const racks = arr(d.racks, 'racks').map((r, i): RackSpec => {
    const k = `racks[${i}]`;
    const o = obj(r, k);
    noExtraKeys(o, k, ['name', 'zone', 'asn', 'tors', 'nodes']);
    const tors = arr(o.tors, `${k}.tors`).map((t, j): TorSpec => {
      const tk = `${k}.tors[${j}]`;
      const to = typeof t === 'string' ? { name: t } : obj(t, tk);
      noExtraKeys(to, tk, ['name', 'asn']);
      const asn = optAsn(to.asn, `${tk}.asn`);
      return { name: name(to.name, `${tk}.name`), ...(asn !== undefined ? { asn } : {}) };
    });
    const nodes = arr(o.nodes, `${k}.nodes`).map((n, j): NodeSpec => parseNode(obj(n, `${k}.nodes[${j}]`), `${k}.nodes[${j}]`, fabric.unnumbered, ['name', 'asn', 'uplinks']));
    const asn = optAsn(o.asn, `${k}.asn`);
    const zone = o.zone === undefined ? undefined : str(o.zone, `${k}.zone`);
    return { name: name(o.name, `${k}.name`), tors, nodes, ...(asn !== undefined ? { asn } : {}), ...(zone !== undefined ? { zone } : {}) };
  });
  const pools = arr(d.pools, 'pools').map((p, i): Pool => {
    const k = `pools[${i}]`;
    const o = obj(p, k);
    noExtraKeys(o, k, ['name', 'cidr', 'blockSize']);
    const c = cidr(o.cidr, `${k}.cidr`);
    const max = c.family === 4 ? 32 : 128;
    const blockSize = o.blockSize === undefined ? (c.family === 4 ? 26 : 122) : int(o.blockSize, `${k}.blockSize`, c.prefix, max);
    return { name: o.name === undefined ? `pool${i}` : name(o.name, `${k}.name`), cidr: c, cidrText: str(o.cidr, `${k}.cidr`), blockSize };
  });
  // Nodes may also be listed at the top level with a `rack:` reference (one list per cluster is
  // easier to generate from an inventory); they join their rack after the rack's own nodes.
  arr(d.nodes, 'nodes').forEach((n, i) => {
    const k = `nodes[${i}]`;
    const o = obj(n, k);
    const rackName = str(o.rack, `${k}.rack`);
    const rack = racks.find((r) => r.name === rackName);
    const node = parseNode(o, k, fabric.unnumbered, ['name', 'rack', 'asn', 'uplinks']);
    if (!rack) throw new TopologyError(TopologyErrorCode.UnknownReference, `${k} (${node.name})`, `unknown rack "${rackName}"`);
    rack.nodes.push(node);
  });
  return { name: name(d.name, 'name'), asn, fabric, images, spines, racks, pools, bfd: bool(d.bfd, 'bfd', false) };
}

function parseNode(no: Obj, nk: string, unnumberedDefault: boolean, keys: string[]): NodeSpec {
  noExtraKeys(no, nk, keys);
  const uplinks = arr(no.uplinks, `${nk}.uplinks`).map((u, m): UplinkSpec => {
    const uk = `${nk}.uplinks[${m}]`;
    const uo = typeof u === 'string' ? { tor: u } : obj(u, uk);
    noExtraKeys(uo, uk, ['tor', 'unnumbered', 'address', 'peerAddress']);
    const address = addrList(uo.address, `${uk}.address`);
    const peerAddress = addrList(uo.peerAddress, `${uk}.peerAddress`);
    return {
      tor: name(uo.tor, `${uk}.tor`),
      unnumbered: bool(uo.unnumbered, `${uk}.unnumbered`, unnumberedDefault),
      ...(address ? { address } : {}),
      ...(peerAddress ? { peerAddress } : {}),
    };
  });
  const asn = optAsn(no.asn, `${nk}.asn`);
  return { name: name(no.name, `${nk}.name`), where: nk, uplinks, ...(asn !== undefined ? { asn } : {}) };
}

