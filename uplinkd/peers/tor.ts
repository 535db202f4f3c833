// Peers from the topology: the ToR records (`tors/<name>`) that topology/kube.ts derives from the fabric
// model (`uplink-topology kube` prints them as ToR objects; with the kubernetes datastore they are the
// `spec.value` of those objects, ipam/datastore/kube-mapping.ts). A record names the switch's rack,
// zone, AS and the node-facing sessions as seen from each node:
//
//   { name, rack, zone, asn, routerId, nodes: [{ node, nodeInterface, torAddress?, nodeAddress?, unnumbered }] }
//
// Which ToRs a node peers with: those of its rack. The node's rack is its `uplink.dev/rack` label (from
// the config's nodeLabels, overlaid by the Kubernetes Node's labels); when it has none, its
// `topology.kubernetes.io/zone` label is compared with the record's zone instead (the topology model's
// zone defaults to the rack name). When both labels are there, the zone must agree too. Of a matching
// record, the entries naming this node are its sessions: `interface: nodeInterface` when unnumbered
// (RFC 5549/8950 over the link-local address), else `address: torAddress` from `nodeAddress`, one
// session per entry, the family of its address. A rack-matching ToR that lists no session for the node,
// or a ToR of another rack that lists it, is reported, never guessed at.
//
// Pure, like resource.ts: records in, raw peer entries (the YAML shape parseBgpConfig accepts) out.
// The agent merges them after the config file and the BGPPeer resources (merge.ts): the file wins, then
// BGPPeer, on the same address or interface.
import { isIP } from 'node:net';
import { ipToString, parseIp } from '../../lib/ip.js';
import { BgpPeerError, BgpPeerErrorCode } from './errors.js';
import type { BgpPeerResource, PeerConfigInput, PeerProblem } from './resource.js';

export const TORS_PREFIX = 'tors/';
export const RACK_LABEL = 'uplink.dev/rack';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
/** Prefix of the speaker's peer name for a session derived from a ToR record. */
export const TOR_PEER_PREFIX = 'tor/';

/** One stored record as read from the datastore: the key's last part and its raw JSON value. */
export type TorResource = BgpPeerResource;

export interface TorSession {
  readonly node: string;
  readonly nodeInterface: string;
  readonly torAddress?: string;
  readonly nodeAddress?: string;
  readonly unnumbered: boolean;
}

/** The validated value of a ToR record (topology/kube.ts TorValue). */
export interface TorSpec {
  readonly name: string;
  readonly rack: string;
  readonly zone?: string;
  readonly asn: number;
  readonly routerId?: string;
  readonly nodes: readonly TorSession[];
}

const ASN_MAX = 4294967295;
const TOR_KEYS = ['name', 'rack', 'zone', 'asn', 'routerId', 'nodes'];
const SESSION_KEYS = ['node', 'nodeInterface', 'torAddress', 'nodeAddress', 'unnumbered'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(record: string, field: string, message: string): never {
  throw new BgpPeerError(BgpPeerErrorCode.InvalidTor, `ToR ${record}: ${field}: ${message}`, { resource: record, field });
}

function nonEmpty(o: Obj, rec: string, field: string, path = field, required = true): string | undefined {
  const v = o[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '') bad(rec, path, required ? 'is required, a non-empty string' : 'must be a non-empty string');
  return v;
}

/** Canonical text of an address, so `fd00::1` and `fd00:0::1` are one peer. */
export function canonicalIp(a: string): string {
  const b = parseIp(a);
  return b ? ipToString(b) : a;
}

/** Validates one record; throws BgpPeerError `invalid-tor` naming the record and the field. */
export function validateTorRecord(r: TorResource): TorSpec {
  const rec = r.name;
  if (!isObj(r.value)) bad(rec, '(value)', 'must be a mapping');
  const o = r.value;
  for (const k of Object.keys(o)) if (!TOR_KEYS.includes(k)) bad(rec, k, `unknown field (expected one of ${TOR_KEYS.join(', ')})`);
  const name = nonEmpty(o, rec, 'name')!;
  if (name !== rec) bad(rec, 'name', `'${name}' differs from the record's key tors/${rec}`);
  const rack = nonEmpty(o, rec, 'rack')!;
  const zone = nonEmpty(o, rec, 'zone', 'zone', false);
  const routerId = nonEmpty(o, rec, 'routerId', 'routerId', false);
  if (typeof o.asn !== 'number' || !Number.isInteger(o.asn) || o.asn < 1 || o.asn > ASN_MAX) bad(rec, 'asn', `must be an integer in [1, ${ASN_MAX}]`);
  if (!Array.isArray(o.nodes)) bad(rec, 'nodes', 'must be a list of {node, nodeInterface, torAddress, nodeAddress, unnumbered}');
  const nodes = o.nodes.map((s, i): TorSession => {
    const at = `nodes[${i}]`;
    if (!isObj(s)) bad(rec, at, 'must be a mapping');
    for (const k of Object.keys(s)) if (!SESSION_KEYS.includes(k)) bad(rec, `${at}.${k}`, 'unknown field');
    const node = nonEmpty(s, rec, 'node', `${at}.node`)!;
    const nodeInterface = nonEmpty(s, rec, 'nodeInterface', `${at}.nodeInterface`)!;
    if (s.unnumbered !== undefined && typeof s.unnumbered !== 'boolean') bad(rec, `${at}.unnumbered`, 'must be true or false');
    const unnumbered = s.unnumbered === true;
    const torAddress = nonEmpty(s, rec, 'torAddress', `${at}.torAddress`, false);
    const nodeAddress = nonEmpty(s, rec, 'nodeAddress', `${at}.nodeAddress`, false);
    if (torAddress !== undefined && isIP(torAddress) === 0) bad(rec, `${at}.torAddress`, `'${torAddress}' is not an IP address`);
    if (nodeAddress !== undefined && isIP(nodeAddress) === 0) bad(rec, `${at}.nodeAddress`, `'${nodeAddress}' is not an IP address`);
    if (!unnumbered && torAddress === undefined) bad(rec, `${at}.torAddress`, 'is required on a numbered link (unnumbered: false)');
    if (torAddress !== undefined && nodeAddress !== undefined && isIP(torAddress) !== isIP(nodeAddress)) {
      bad(rec, `${at}.nodeAddress`, `'${nodeAddress}' is not of torAddress ${torAddress}'s family`);
    }
    return {
      node, nodeInterface, unnumbered,
      ...(torAddress !== undefined ? { torAddress } : {}),
      ...(nodeAddress !== undefined ? { nodeAddress } : {}),
    };
  });
  return { name, rack, asn: o.asn, nodes, ...(zone !== undefined ? { zone } : {}), ...(routerId !== undefined ? { routerId } : {}) };
}

/** Is this ToR in the node's rack? (See the header for the rule.) `undefined`: the node has no rack or zone label. */
export function torInNodeRack(t: TorSpec, labels: Readonly<Record<string, string>>): boolean | undefined {
  const rack = labels[RACK_LABEL];
  const zone = labels[ZONE_LABEL];
  if (rack !== undefined) return rack === t.rack && (zone === undefined || t.zone === undefined || zone === t.zone);
  if (zone !== undefined) return t.zone !== undefined && zone === t.zone;
  return undefined;
}

/** The speaker's peer name of one session: stable across reconfigures, unique per ToR and link. */
export function torPeerName(tor: string, s: TorSession): string {
  return s.unnumbered ? `${TOR_PEER_PREFIX}${tor}/${s.nodeInterface}` : `${TOR_PEER_PREFIX}${tor}/${canonicalIp(s.torAddress!)}`;
}

export interface TorSelection {
  readonly peers: PeerConfigInput[];
  /** Invalid records (skipped for every node). */
  readonly problems: PeerProblem[];
  /** Valid records that concern this node but give it no session (rack mismatch, no entry, no label). */
  readonly notApplied: PeerProblem[];
}

/** The sessions this node has with the ToRs of its rack, sorted by record name; invalid records skipped and reported. */
export function torPeersForNode(records: readonly TorResource[], nodeName: string, labels: Readonly<Record<string, string>>): TorSelection {
  const peers: PeerConfigInput[] = [];
  const problems: PeerProblem[] = [];
  const notApplied: PeerProblem[] = [];
  const seen = new Set<string>();
  for (const r of [...records].sort((a, b) => a.name.localeCompare(b.name))) {
    let t: TorSpec;
    try {
      t = validateTorRecord(r);
    } catch (err) {
      problems.push(err instanceof BgpPeerError ? { resource: r.name, field: err.field, message: err.message } : { resource: r.name, field: '(value)', message: String(err) });
      continue;
    }
    const mine = t.nodes.filter((s) => s.node === nodeName);
    const inRack = torInNodeRack(t, labels);
    if (inRack === undefined) {
      if (mine.length) notApplied.push({ resource: t.name, field: 'rack', message: `ToR ${t.name}: lists node ${nodeName}, but the node has no ${RACK_LABEL} or ${ZONE_LABEL} label: not peering (label the node with its rack)` });
      continue;
    }
    if (!inRack) {
      if (mine.length) notApplied.push({ resource: t.name, field: 'rack', message: `ToR ${t.name}: lists node ${nodeName}, but it is in rack ${t.rack}${t.zone ? ` (zone ${t.zone})` : ''} and the node in ${[labels[RACK_LABEL] !== undefined ? `rack ${labels[RACK_LABEL]}` : '', labels[ZONE_LABEL] !== undefined ? `zone ${labels[ZONE_LABEL]}` : ''].filter(Boolean).join(', ')}: not peering` });
      continue;
    }
    if (!mine.length) {
      notApplied.push({ resource: t.name, field: 'nodes', message: `ToR ${t.name}: in the node's rack ${t.rack} but lists no session for node ${nodeName}: not peering (its address or interface is unknown)` });
      continue;
    }
    for (const s of mine) {
      const name = torPeerName(t.name, s);
      if (seen.has(name)) continue; // the same session listed twice
      seen.add(name);
      const family = s.torAddress !== undefined && isIP(s.torAddress) === 6 ? 'ipv6' : 'ipv4';
      peers.push({
        name,
        asn: t.asn,
        ...(s.unnumbered
          ? { interface: s.nodeInterface }
          : { address: canonicalIp(s.torAddress!), families: [family], ...(s.nodeAddress !== undefined ? { localAddress: canonicalIp(s.nodeAddress) } : {}) }),
      });
    }
  }
  return { peers, problems, notApplied };
}

/** A peer entry's identity for de-duplication: its (canonical) address or its interface. */
export function peerIdentity(p: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof p.address === 'string') return `a:${canonicalIp(p.address)}`;
  if (typeof p.interface === 'string') return `i:${p.interface}`;
  return undefined;
}

/**
 * Appends ToR-derived peers to a raw `bgp:` section that already holds the file's and the BGPPeer
 * resources' peers. Those win: a ToR session to an address or interface already configured (or under
 * the same name) is left out and noted (an info, not an error: a file that still lists its ToRs is the
 * normal state during a migration to ToR records).
 */
export function withTorPeers(rawBgp: Readonly<Record<string, unknown>>, peers: readonly PeerConfigInput[]): { bgp: Record<string, unknown>; skipped: PeerProblem[] } {
  const existing = Array.isArray(rawBgp.peers) ? (rawBgp.peers as unknown[]) : [];
  const taken = new Set<string>();
  for (const p of existing) {
    if (!isObj(p)) continue;
    const id = peerIdentity(p);
    if (id) taken.add(id);
    if (typeof p.name === 'string') taken.add(`n:${p.name}`);
  }
  const skipped: PeerProblem[] = [];
  const added: PeerConfigInput[] = [];
  for (const p of peers) {
    const id = peerIdentity(p)!;
    const tor = p.name.slice(TOR_PEER_PREFIX.length).split('/')[0]!;
    if (taken.has(id) || taken.has(`n:${p.name}`)) {
      const what = typeof p.address === 'string' ? `address ${p.address}` : `interface ${String(p.interface)}`;
      skipped.push({ resource: tor, field: typeof p.address === 'string' ? 'torAddress' : 'nodeInterface', message: `ToR ${tor}: the session on ${what} is already configured (config file or BGPPeer), which wins` });
      continue;
    }
    taken.add(id);
    added.push(p);
  }
  return { bgp: { ...rawBgp, peers: [...existing, ...added] }, skipped };
}
