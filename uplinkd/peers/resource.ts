// BGPPeer resources (Calico's BGPPeer, reduced to what Uplink's speaker supports): one record per peer
// under datastore key `bgp/peers/<name>`. With the kubernetes datastore the record is the `spec.value`
// of a BGPPeer custom object (ipam/datastore/kube-mapping.ts maps the `bgp/peers/` prefix to that
// kind), so every backend hands us the same JSON value.
//
// Which nodes a resource applies to (Calico's rules): `node` names exactly one node; otherwise
// `nodeSelector` (the IPAM pools' syntax: `all()` or `key == "value"` terms joined by `&&`); neither
// means every node (a global peer). Both at once is an error, as in Calico, because the intent is
// ambiguous.
//
// Everything here is pure: values in, peer entries (the YAML shape `parseBgpConfig` accepts) out.
// An invalid resource is reported (resource name + field) and skipped, never thrown to the agent.
import { isIP } from 'node:net';
import { parseBgpConfig } from '../../bgpd/config.js';
import { parseSelector, selects } from '../../ipam/pools.js';
import { BgpPeerError, BgpPeerErrorCode } from './errors.js';

export const PEERS_PREFIX = 'bgp/peers/';

/** One stored resource as read from the datastore: the key's last part and its raw JSON value. */
export interface BgpPeerResource {
  readonly name: string;
  readonly value: unknown;
}

export type PeerFamily = 'ipv4' | 'ipv6';

export interface MaxPrefixSpec {
  readonly limit: number;
  readonly action?: 'warn' | 'teardown' | 'restart';
  readonly restartAfter?: number;
}

/** The validated value of a BGPPeer (field names as in Calico's BGPPeerSpec where one exists). */
export interface BgpPeerSpec {
  readonly peerIP?: string;
  readonly interface?: string;
  readonly asNumber: number;
  readonly port?: number;
  readonly nodeSelector?: string;
  readonly node?: string;
  /** Plain TCP-MD5 password (Calico takes a secretKeyRef; the agent has no Secret access). */
  readonly password?: string;
  readonly ttlSecurity?: number;
  readonly multihop?: number;
  readonly families?: readonly PeerFamily[];
  readonly gracefulRestart?: boolean;
  readonly maxPrefix?: Partial<Record<PeerFamily, MaxPrefixSpec>>;
  readonly importPolicy?: string;
  readonly exportPolicy?: string;
  readonly routeReflectorClient?: boolean;
  readonly holdTime?: number;
  readonly passive?: boolean;
  readonly localAddress?: string;
}

/**
 * A raw peer entry as it appears under `bgp.peers` in uplinkd's YAML: what `parseBgpConfig` accepts.
 * Kept raw so the lead merges it with the file's peers and the one parser validates the lot.
 */
export type PeerConfigInput = Record<string, unknown> & { readonly name: string; readonly asn: number };

export interface PeerProblem {
  readonly resource: string;
  readonly field: string;
  readonly message: string;
}

const SPEC_KEYS = [
  'peerIP', 'interface', 'asNumber', 'port', 'nodeSelector', 'node', 'password', 'ttlSecurity', 'multihop', 'families',
  'gracefulRestart', 'maxPrefix', 'importPolicy', 'exportPolicy', 'routeReflectorClient', 'holdTime', 'passive', 'localAddress',
] as const;
const ASN_MAX = 4294967295;
const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function bad(resource: string, field: string, message: string): never {
  throw new BgpPeerError(BgpPeerErrorCode.Invalid, `BGPPeer ${resource}: ${field}: ${message}`, { resource, field });
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function optString(o: Obj, res: string, field: string): string | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') bad(res, field, 'must be a non-empty string');
  return v;
}

function optInt(o: Obj, res: string, field: string, min: number, max: number, path = field): number | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(res, path, `must be an integer in [${min}, ${max}]`);
  return v;
}

function optBool(o: Obj, res: string, field: string): boolean | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') bad(res, field, 'must be true or false');
  return v;
}

/** Validates one resource; throws BgpPeerError `invalid` naming the resource and the field. */
export function validatePeerResource(r: BgpPeerResource): BgpPeerSpec {
  const res = r.name;
  if (!NAME_RE.test(res)) bad(res, 'name', 'must be a DNS label (lower case, digits, - and .)');
  if (!isObj(r.value)) bad(res, '(value)', 'must be a mapping');
  const o = r.value;
  for (const k of Object.keys(o)) if (!(SPEC_KEYS as readonly string[]).includes(k)) bad(res, k, `unknown field (expected one of ${SPEC_KEYS.join(', ')})`);

  const peerIP = optString(o, res, 'peerIP');
  if (peerIP !== undefined && isIP(peerIP) === 0) bad(res, 'peerIP', `'${peerIP}' is not an IP address`);
  const iface = optString(o, res, 'interface');
  if ((peerIP === undefined) === (iface === undefined)) bad(res, 'peerIP', 'needs exactly one of peerIP or interface');
  if (o.asNumber === undefined) bad(res, 'asNumber', 'is required');
  const asNumber = optInt(o, res, 'asNumber', 1, ASN_MAX)!;

  const node = optString(o, res, 'node');
  const nodeSelector = optString(o, res, 'nodeSelector');
  if (node !== undefined && nodeSelector !== undefined) bad(res, 'node', 'cannot be combined with nodeSelector');
  if (nodeSelector !== undefined) {
    try {
      parseSelector(nodeSelector);
    } catch (err) {
      bad(res, 'nodeSelector', (err as Error).message);
    }
  }

  let families: PeerFamily[] | undefined;
  if (o.families !== undefined) {
    if (!Array.isArray(o.families) || o.families.length === 0 || o.families.some((f) => f !== 'ipv4' && f !== 'ipv6')) {
      bad(res, 'families', "must be a non-empty list of 'ipv4' and 'ipv6'");
    }
    families = o.families as PeerFamily[];
  }

  let maxPrefix: Partial<Record<PeerFamily, MaxPrefixSpec>> | undefined;
  if (o.maxPrefix !== undefined) {
    if (!isObj(o.maxPrefix)) bad(res, 'maxPrefix', 'must be a mapping of ipv4/ipv6 to {limit, action, restartAfter}');
    maxPrefix = {};
    for (const [fam, v] of Object.entries(o.maxPrefix)) {
      const f = `maxPrefix.${fam}`;
      if (fam !== 'ipv4' && fam !== 'ipv6') bad(res, f, 'unknown family (expected ipv4 or ipv6)');
      if (!isObj(v)) bad(res, f, 'must be a mapping {limit, action, restartAfter}');
      for (const k of Object.keys(v)) if (!['limit', 'action', 'restartAfter'].includes(k)) bad(res, `${f}.${k}`, 'unknown field');
      if (v.limit === undefined) bad(res, `${f}.limit`, 'is required');
      const limit = optInt(v, res, 'limit', 1, 100_000_000, `${f}.limit`)!;
      const action = v.action;
      if (action !== undefined && action !== 'warn' && action !== 'teardown' && action !== 'restart') bad(res, `${f}.action`, 'must be warn, teardown or restart');
      const restartAfter = optInt(v, res, 'restartAfter', 1, 86_400, `${f}.restartAfter`);
      maxPrefix[fam] = { limit, ...(action ? { action } : {}), ...(restartAfter ? { restartAfter } : {}) };
    }
  }

  const ttlSecurity = optInt(o, res, 'ttlSecurity', 1, 254);
  const multihop = optInt(o, res, 'multihop', 1, 255);
  // RFC 5082 §3: GTSM expects the peer within a fixed hop count; eBGP multihop says the opposite.
  if (ttlSecurity !== undefined && multihop !== undefined) bad(res, 'ttlSecurity', 'cannot be combined with multihop');
  const holdTime = optInt(o, res, 'holdTime', 0, 65535);
  // RFC 4271 §4.2: the hold time is zero or at least three seconds.
  if (holdTime === 1 || holdTime === 2) bad(res, 'holdTime', 'must be 0 or at least 3 (RFC 4271 §4.2)');
  const localAddress = optString(o, res, 'localAddress');
  if (localAddress !== undefined && isIP(localAddress) === 0) bad(res, 'localAddress', `'${localAddress}' is not an IP address`);

  const spec: BgpPeerSpec = {
    asNumber,
    ...(peerIP !== undefined ? { peerIP } : {}),
    ...(iface !== undefined ? { interface: iface } : {}),
    ...(node !== undefined ? { node } : {}),
    ...(nodeSelector !== undefined ? { nodeSelector } : {}),
    ...optional('port', optInt(o, res, 'port', 1, 65535)),
    ...optional('password', optString(o, res, 'password')),
    ...optional('ttlSecurity', ttlSecurity),
    ...optional('multihop', multihop),
    ...optional('families', families),
    ...optional('gracefulRestart', optBool(o, res, 'gracefulRestart')),
    ...optional('maxPrefix', maxPrefix),
    ...optional('importPolicy', optString(o, res, 'importPolicy')),
    ...optional('exportPolicy', optString(o, res, 'exportPolicy')),
    ...optional('routeReflectorClient', optBool(o, res, 'routeReflectorClient')),
    ...optional('holdTime', holdTime),
    ...optional('passive', optBool(o, res, 'passive')),
    ...optional('localAddress', localAddress),
  };
  // Safety net: the speaker's own parser must accept the entry too (policy names are checked against
  // the agent's policies when merging, see withDatastorePeers).
  const { importPolicy: _i, exportPolicy: _e, ...checkable } = toPeerInput(res, spec);
  try {
    parseBgpConfig({ routerId: '192.0.2.1', asn: 65000, peers: [checkable] }, `BGPPeer ${res}`);
  } catch (err) {
    bad(res, '(peer)', (err as Error).message);
  }
  return spec;
}

function optional<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

/** Does this resource apply to the node? */
export function appliesTo(spec: BgpPeerSpec, nodeName: string, nodeLabels: Readonly<Record<string, string>>): boolean {
  if (spec.node !== undefined) return spec.node === nodeName;
  return selects(spec.nodeSelector, nodeLabels);
}

/**
 * The peer entry for `bgp.peers`. Its name is the resource's, prefixed so it never collides with a
 * peer of the config file and so `uplinkctl show neighbors` tells where a session came from.
 */
export function toPeerInput(resource: string, spec: BgpPeerSpec): PeerConfigInput {
  return {
    name: `bgppeer/${resource}`,
    asn: spec.asNumber,
    ...(spec.peerIP !== undefined ? { address: spec.peerIP } : {}),
    ...(spec.interface !== undefined ? { interface: spec.interface } : {}),
    ...optional('port', spec.port),
    ...optional('password', spec.password),
    ...optional('ttlSecurity', spec.ttlSecurity),
    ...optional('multihop', spec.multihop),
    ...optional('families', spec.families ? [...spec.families] : undefined),
    ...optional('gracefulRestart', spec.gracefulRestart),
    ...optional('maxPrefix', spec.maxPrefix),
    ...optional('importPolicy', spec.importPolicy),
    ...optional('exportPolicy', spec.exportPolicy),
    ...optional('routeReflectorClient', spec.routeReflectorClient),
    ...optional('holdTime', spec.holdTime),
    ...optional('passive', spec.passive),
    ...optional('localAddress', spec.localAddress),
  };
}

export interface PeerSelection {
  readonly peers: PeerConfigInput[];
  readonly problems: PeerProblem[];
}

function problemOf(resource: string, err: unknown): PeerProblem {
  if (err instanceof BgpPeerError) return { resource, field: err.field, message: err.message };
  return { resource, field: '(value)', message: String(err) };
}

/** Peers for one node, sorted by resource name, plus the resources that were skipped and why. */
export function selectPeers(resources: readonly BgpPeerResource[], nodeName: string, nodeLabels: Readonly<Record<string, string>>): PeerSelection {
  const peers: PeerConfigInput[] = [];
  const problems: PeerProblem[] = [];
  for (const r of [...resources].sort((a, b) => a.name.localeCompare(b.name))) {
    let spec: BgpPeerSpec;
    try {
      spec = validatePeerResource(r);
    } catch (err) {
      problems.push(problemOf(r.name, err));
      continue;
    }
    if (appliesTo(spec, nodeName, nodeLabels)) peers.push(toPeerInput(r.name, spec));
  }
  return { peers, problems };
}

/** The raw peer entries (as `parseBgpConfig` accepts them) that apply to this node; invalid resources skipped. */
export function peersForNode(resources: readonly BgpPeerResource[], nodeName: string, nodeLabels: Readonly<Record<string, string>>): PeerConfigInput[] {
  return selectPeers(resources, nodeName, nodeLabels).peers;
}

/**
 * Appends datastore peers to the raw `bgp:` section of the agent's config. The file wins: a datastore
 * peer whose address or interface is already a file peer, or that names a policy the file does not
 * define, is skipped and reported (parseBgpConfig would otherwise reject the whole config and the
 * agent would lose every session over one bad resource).
 */
export function withDatastorePeers(rawBgp: Readonly<Record<string, unknown>>, peers: readonly PeerConfigInput[]): { bgp: Record<string, unknown>; problems: PeerProblem[] } {
  const filePeers = Array.isArray(rawBgp.peers) ? (rawBgp.peers as unknown[]) : [];
  const taken = new Set<string>();
  for (const p of filePeers) {
    if (!isObj(p)) continue;
    if (typeof p.address === 'string') taken.add(`a:${p.address}`);
    if (typeof p.interface === 'string') taken.add(`i:${p.interface}`);
    if (typeof p.name === 'string') taken.add(`n:${p.name}`);
  }
  const policies = isObj(rawBgp.policies) ? rawBgp.policies : {};
  const problems: PeerProblem[] = [];
  const added: PeerConfigInput[] = [];
  for (const p of peers) {
    const resource = p.name.replace(/^bgppeer\//, '');
    const where = typeof p.address === 'string' ? `a:${p.address}` : `i:${String(p.interface)}`;
    if (taken.has(where) || taken.has(`n:${p.name}`)) {
      problems.push({ resource, field: p.address !== undefined ? 'peerIP' : 'interface', message: `BGPPeer ${resource}: the same peer is configured in the agent's config file, which wins` });
      continue;
    }
    const missing = (['importPolicy', 'exportPolicy'] as const).find((k) => typeof p[k] === 'string' && !((p[k] as string) in policies));
    if (missing) {
      problems.push({ resource, field: missing, message: `BGPPeer ${resource}: ${missing}: no policy named '${String(p[missing])}' in the agent's config` });
      continue;
    }
    taken.add(where);
    added.push(p);
  }
  return { bgp: { ...rawBgp, peers: [...filePeers, ...added] }, problems };
}

/** `uplinkctl get bgppeers`: each resource, whether it is valid, and which of the known nodes it selects. */
export interface PeerResourceView {
  readonly name: string;
  readonly valid: boolean;
  readonly error?: string;
  readonly peer?: string;
  readonly asNumber?: number;
  readonly selector: string;
  readonly nodes: string[];
}

export function describePeers(resources: readonly BgpPeerResource[], nodes: ReadonlyArray<{ name: string; labels: Readonly<Record<string, string>> }>): PeerResourceView[] {
  return [...resources]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((r): PeerResourceView => {
      let spec: BgpPeerSpec;
      try {
        spec = validatePeerResource(r);
      } catch (err) {
        return { name: r.name, valid: false, error: problemOf(r.name, err).message, selector: '', nodes: [] };
      }
      return {
        name: r.name,
        valid: true,
        peer: spec.peerIP ?? `interface ${spec.interface ?? ''}`,
        asNumber: spec.asNumber,
        selector: spec.node !== undefined ? `node == ${spec.node}` : (spec.nodeSelector ?? 'all()'),
        nodes: nodes.filter((n) => appliesTo(spec, n.name, n.labels)).map((n) => n.name).sort(),
      };
    });
}
