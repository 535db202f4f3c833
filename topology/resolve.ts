// Numbering: ASNs per the scheme, interface names, point-to-point addresses and router IDs.
// Everything is deterministic in the order elements appear in the YAML, so regenerating a lab
// from the same file yields the same addresses.
import { readFileSync } from 'node:fs';
import { TopologyError, TopologyErrorCode } from './errors.js';
import { formatIpValue, netContains, netSize, parseIfaceAddr, parseNet, subnetAt, type IpNet, type IpValue } from '../lib/ip.js';
import { AsnScheme, parseTopology, type TopologySpec } from './model.js';
import { validateAsns, validateSpec, type AsnUse } from './validate.js';

export type DeviceRole = 'spine' | 'tor' | 'node';

export interface Device {
  name: string;
  role: DeviceRole;
  rack?: string;
  zone?: string;
  asn: number;
  routerId: string;
  /** Interface name -> addresses with prefix length ("10.255.0.1/31"). */
  ifaces: Map<string, string[]>;
}

export interface LinkEnd {
  device: string;
  iface: string;
  /** Interface addresses with prefix length; empty when unnumbered. */
  addresses: string[];
}

export interface FabricLink {
  kind: 'spine-tor' | 'tor-node';
  /** The upper tier: spine (spine-tor) or ToR (tor-node). */
  up: LinkEnd;
  down: LinkEnd;
  unnumbered: boolean;
}

export interface Fabric {
  spec: TopologySpec;
  devices: Map<string, Device>;
  links: FabricLink[];
}

export function loadTopology(file: string): Fabric {
  return resolveTopology(parseTopology(readFileSync(file, 'utf8')));
}

/** Validate and number a parsed topology. Throws TopologyError naming the element at fault. */
export function resolveTopology(spec: TopologySpec): Fabric {
  validateSpec(spec);
  const devices = new Map<string, Device>();
  const loopback = hostAllocator(spec.fabric.loopbacks, 'fabric.loopbacks');
  const add = (d: Omit<Device, 'routerId' | 'ifaces'>): Device => {
    const dev: Device = { ...d, routerId: loopback(), ifaces: new Map() };
    devices.set(d.name, dev);
    return dev;
  };

  const { asn } = spec;
  for (const s of spec.spines) add({ name: s.name, role: 'spine', asn: asn.spine });
  let torIndex = 0;
  let nodeIndex = 0;
  const uses: AsnUse[] = [...spec.spines.map((s) => ({ device: s.name, role: 'spine' as const, asn: asn.spine }))];
  spec.racks.forEach((r, ri) => {
    const rackAsn = r.asn ?? asn.torBase + ri;
    const zone = r.zone ?? r.name;
    for (const t of r.tors) {
      const torAsn = t.asn ?? (asn.scheme === AsnScheme.PerTor ? asn.torBase + torIndex : rackAsn);
      torIndex++;
      add({ name: t.name, role: 'tor', rack: r.name, zone, asn: torAsn });
      uses.push({ device: t.name, role: 'tor', rack: r.name, asn: torAsn });
    }
    for (const n of r.nodes) {
      const nodeAsn = n.asn ?? (asn.scheme === AsnScheme.PerRack ? rackAsn : asn.nodeBase + nodeIndex);
      nodeIndex++;
      add({ name: n.name, role: 'node', rack: r.name, zone, asn: nodeAsn });
      uses.push({ device: n.name, role: 'node', rack: r.name, asn: nodeAsn, torAsns: n.uplinks.map((u) => devices.get(u.tor)!.asn) });
    }
  });
  validateAsns(uses, asn.allowasIn);

  // Interface names: ToRs use eth1..S towards the spines, then one per node; spines one per ToR;
  // nodes one per uplink, in uplink order.
  const nextIf = new Map<string, number>();
  const ifName = (dev: string): string => {
    const n = (nextIf.get(dev) ?? 0) + 1;
    nextIf.set(dev, n);
    return `eth${n}`;
  };
  const p2p = p2pAllocator(spec);
  const links: FabricLink[] = [];
  const pushLink = (kind: FabricLink['kind'], upDev: string, downDev: string, unnumbered: boolean, explicit?: { down?: string[]; up?: string[] }, where = ''): void => {
    const up: LinkEnd = { device: upDev, iface: ifName(upDev), addresses: [] };
    const down: LinkEnd = { device: downDev, iface: ifName(downDev), addresses: [] };
    if (!unnumbered) {
      const pair = p2p(explicit, where || `${upDev}-${downDev}`);
      up.addresses = pair.up;
      down.addresses = pair.down;
    }
    devices.get(upDev)!.ifaces.set(up.iface, up.addresses);
    devices.get(downDev)!.ifaces.set(down.iface, down.addresses);
    links.push({ kind, up, down, unnumbered });
  };
  for (const r of spec.racks) {
    for (const t of r.tors) for (const s of spec.spines) pushLink('spine-tor', s.name, t.name, spec.fabric.unnumbered);
  }
  spec.racks.forEach((r) => {
    r.nodes.forEach((n) => {
      n.uplinks.forEach((u, ui) => {
        pushLink('tor-node', u.tor, n.name, u.unnumbered, { ...(u.address ? { down: u.address } : {}), ...(u.peerAddress ? { up: u.peerAddress } : {}) }, `${n.where} (${n.name}).uplinks[${ui}]`);
      });
    });
  });
  return { spec, devices, links };
}

/** An interface address that model.ts has already validated. */
const iface = (a: string): IpValue & { prefix: number } => parseIfaceAddr(a.trim())!;

function hostAllocator(range: IpNet, where: string): () => string {
  let next = 1n;
  return () => {
    if (next >= netSize(range) - (range.family === 4 && range.prefix < 31 ? 1n : 0n)) {
      throw new TopologyError(TopologyErrorCode.AddressExhausted, where, 'no addresses left for router IDs');
    }
    return formatIpValue(range.family, range.base + next++);
  };
}

/**
 * Point-to-point pairs: a /31 (RFC 3021) or /30 per link from fabric.ipv4, a /127 (RFC 6164) or
 * /126 from fabric.ipv6. The upper tier takes the first usable address. Explicit addresses are used
 * as given, and allocation skips any subnet holding one of them.
 */
function p2pAllocator(spec: TopologySpec): (explicit: { down?: string[]; up?: string[] } | undefined, where: string) => { up: string[]; down: string[] } {
  const explicitAll: IpValue[] = [];
  for (const r of spec.racks) for (const n of r.nodes) for (const u of n.uplinks) for (const a of [...(u.address ?? []), ...(u.peerAddress ?? [])]) explicitAll.push(iface(a));
  const len4 = spec.fabric.prefixLength;
  const len6 = len4 === 31 ? 127 : 126;
  const counters = { 4: 0, 6: 0 };
  const taken = new Set<string>();
  const alloc = (family: 4 | 6): { up: string; down: string } | undefined => {
    const range = family === 4 ? spec.fabric.ipv4 : spec.fabric.ipv6;
    if (!range) return undefined;
    const len = family === 4 ? len4 : len6;
    for (;;) {
      const sub = subnetAt(range, len, BigInt(counters[family]++));
      if (!sub) throw new TopologyError(TopologyErrorCode.AddressExhausted, `fabric.ipv${family}`, `no /${len} left for another link`);
      if (explicitAll.some((e) => netContains(sub, e))) continue;
      const first = len === 31 || len === 127 ? sub.base : sub.base + 1n;
      return { up: `${formatIpValue(family, first)}/${len}`, down: `${formatIpValue(family, first + 1n)}/${len}` };
    }
  };
  return (explicit, where) => {
    const up: string[] = [];
    const down: string[] = [];
    for (const family of [4, 6] as const) {
      const eDown = explicit?.down?.filter((a) => iface(a).family === family) ?? [];
      const eUp = explicit?.up?.filter((a) => iface(a).family === family) ?? [];
      if (eDown.length || eUp.length) {
        if (eDown.length !== 1 || eUp.length !== 1) {
          throw new TopologyError(TopologyErrorCode.Invalid, where, `explicit IPv${family} addressing needs one address and one peerAddress`);
        }
        const [d, u] = [iface(eDown[0]!), iface(eUp[0]!)];
        const sub = parseNet(eDown[0]!.trim())!;
        if (d.prefix !== u.prefix || !netContains(sub, u) || d.value === u.value) {
          throw new TopologyError(TopologyErrorCode.AddressConflict, where, `${eDown[0]} and ${eUp[0]} are not two ends of one subnet`);
        }
        down.push(eDown[0]!);
        up.push(eUp[0]!);
        continue;
      }
      const pair = alloc(family);
      if (pair) {
        up.push(pair.up);
        down.push(pair.down);
      }
    }
    if (up.length === 0) {
      throw new TopologyError(TopologyErrorCode.Invalid, where, 'a numbered link needs fabric.ipv4 or fabric.ipv6 (or explicit addresses, or unnumbered: true)');
    }
    for (const a of [...up, ...down]) {
      if (taken.has(a.split('/')[0]!)) throw new TopologyError(TopologyErrorCode.AddressConflict, where, `address ${a} is used twice`);
      taken.add(a.split('/')[0]!);
    }
    return { up, down };
  };
}

export function devicesOf(f: Fabric, role: DeviceRole): Device[] {
  return [...f.devices.values()].filter((d) => d.role === role);
}
