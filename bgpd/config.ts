// The BGP part of uplinkd's YAML configuration: typed, validated, defaults applied. Every error names the
// key path (`bgp.peers[1].asn`) so an operator can find it. Input is the parsed YAML (unknown).
import { isIP } from 'node:net';
import { BgpError, BgpErrorCode } from './errors.js';
import { parsePrefix } from './rib/prefix.js';
import { compilePolicy, type PolicyDef } from './rib/policy.js';

export type FamilyName = 'ipv4' | 'ipv6';
export type MaxPrefixAction = 'warn' | 'teardown' | 'restart';
export type AddPathMode = 'none' | 'receive' | 'send' | 'both';

export interface MaxPrefix {
  readonly limit: number;
  readonly action: MaxPrefixAction;
  /** For action 'restart': seconds before the session is started again. */
  readonly restartAfterS: number;
}

export interface PeerConfig {
  /** Display name; defaults to the address or interface. */
  readonly name: string;
  readonly address?: string;
  /** BGP unnumbered: peer over this interface's IPv6 link-local (neighbour learned from RAs). */
  readonly interface?: string;
  readonly asn: number;
  /** Remote TCP port (tests run peers on other ports); default 179. */
  readonly port: number;
  readonly localAddress?: string;
  readonly password?: string;
  /** GTSM (RFC 5082): the peer is at most this many hops away (1 = directly connected). */
  readonly ttlSecurity?: number;
  /** eBGP multihop TTL; default 1 for eBGP. */
  readonly multihop?: number;
  readonly families: readonly FamilyName[];
  readonly gracefulRestart: boolean;
  readonly addPath: AddPathMode;
  readonly maxPrefix: Partial<Record<FamilyName, MaxPrefix>>;
  readonly importPolicy?: string;
  readonly exportPolicy?: string;
  readonly routeReflectorClient: boolean;
  readonly localAs?: number;
  readonly allowasIn: number;
  readonly passive: boolean;
  readonly holdTime: number;
  readonly delayOpenS: number;
  readonly nextHopSelf: boolean;
  /** Our IPv4 next hop to advertise over an IPv6 session (and vice versa), when not the session address. */
  readonly nextHopIpv4?: string;
  readonly nextHopIpv6?: string;
  readonly igpMetric: number;
  /** RFC 4271 §9.2.1.1 MinRouteAdvertisementInterval, seconds (0 = batch per event-loop turn only). */
  readonly mraiS: number;
  /** Drop the session (no auto-restart) until re-enabled. */
  readonly shutdown: boolean;
}

export interface ListenRange {
  readonly prefix: string;
  readonly asnMin: number;
  readonly asnMax: number;
  /** Settings for the dynamic peers created from this range. */
  readonly template: Omit<PeerConfig, 'name' | 'address' | 'interface' | 'asn'>;
  readonly limit: number;
}

export interface BgpConfig {
  readonly routerId: string;
  readonly asn: number;
  readonly listen: { readonly address: string; readonly port: number } | null;
  readonly holdTime: number;
  readonly connectRetryS: number;
  /**
   * RFC 4724: restartTimeS we advertise; staleTimeS how long past a restarted peer's Restart Time we
   * keep its stale routes; selectionDeferralS (§4.1, Selection_Deferral_Timer) how long a restarting
   * speaker waits for its peers' End-of-RIB before running the decision anyway.
   */
  readonly gracefulRestart: { readonly restartTimeS: number; readonly staleTimeS: number; readonly selectionDeferralS?: number };
  readonly maxPaths: number;
  readonly multipathRelax: boolean;
  readonly clusterId?: string;
  readonly peers: readonly PeerConfig[];
  readonly listenRanges: readonly ListenRange[];
  readonly advertise: readonly string[];
  /** Safe default import: prefixes inside these pools (any length) are accepted from peers without an import policy. */
  readonly importPools: readonly string[];
  /** ... and these exact prefixes (e.g. '0.0.0.0/0' from the ToR). */
  readonly importAllow: readonly string[];
  readonly policies: Readonly<Record<string, PolicyDef>>;
  /** Push a synthetic table through the receive path once per process at start (see warmup.ts). */
  readonly warmUp: boolean;
}

type Obj = Record<string, unknown>;

function fail(key: string, msg: string, cause?: unknown): never {
  throw new BgpError(BgpErrorCode.Config, `${key}: ${msg}`, cause === undefined ? undefined : { cause });
}

function obj(v: unknown, key: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(key, 'must be a mapping');
  return v as Obj;
}

function known(o: Obj, key: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${key}.${k}`, `unknown key (expected one of ${keys.join(', ')})`);
}

function int(v: unknown, key: string, min: number, max: number, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(key, `must be an integer in [${min}, ${max}]`);
  return v;
}

function bool(v: unknown, key: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') fail(key, 'must be true or false');
  return v;
}

function str(v: unknown, key: string): string {
  if (typeof v !== 'string' || v === '') fail(key, 'must be a non-empty string');
  return v;
}

function optStr(v: unknown, key: string): string | undefined {
  return v === undefined ? undefined : str(v, key);
}

function ipv4(v: unknown, key: string): string {
  const s = str(v, key);
  if (isIP(s) !== 4) fail(key, `'${s}' is not an IPv4 address`);
  return s;
}

function ip(v: unknown, key: string): string {
  const s = str(v, key);
  if (isIP(s) === 0) fail(key, `'${s}' is not an IP address`);
  return s;
}

function prefixes(v: unknown, key: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(key, 'must be a list of prefixes');
  return v.map((p, i) => {
    const k = `${key}[${i}]`;
    try {
      parsePrefix(str(p, k));
    } catch (err) {
      fail(k, (err as Error).message, err);
    }
    return p as string;
  });
}

const ASN_MAX = 4294967295;
const PEER_KEYS = [
  'name', 'address', 'interface', 'asn', 'port', 'localAddress', 'password', 'ttlSecurity', 'multihop', 'families',
  'gracefulRestart', 'addPath', 'maxPrefix', 'importPolicy', 'exportPolicy', 'routeReflectorClient', 'localAs', 'allowasIn',
  'passive', 'holdTime', 'delayOpen', 'nextHopSelf', 'nextHopIpv4', 'nextHopIpv6', 'igpMetric', 'shutdown', 'policy', 'mrai',
] as const;

function peerSettings(o: Obj, key: string, defaults: { holdTime: number }): Omit<PeerConfig, 'name' | 'address' | 'interface' | 'asn'> {
  const families = o.families === undefined ? ['ipv4', 'ipv6'] : o.families;
  if (!Array.isArray(families) || families.length === 0 || families.some((f) => f !== 'ipv4' && f !== 'ipv6')) {
    fail(`${key}.families`, "must be a non-empty list of 'ipv4' and 'ipv6'");
  }
  const addPath = o.addPath ?? 'none';
  if (!['none', 'receive', 'send', 'both'].includes(addPath as string)) fail(`${key}.addPath`, 'must be none, receive, send or both');
  const maxPrefix: Partial<Record<FamilyName, MaxPrefix>> = {};
  if (o.maxPrefix !== undefined) {
    const mp = obj(o.maxPrefix, `${key}.maxPrefix`);
    known(mp, `${key}.maxPrefix`, ['ipv4', 'ipv6']);
    for (const fam of ['ipv4', 'ipv6'] as const) {
      if (mp[fam] === undefined) continue;
      const k = `${key}.maxPrefix.${fam}`;
      const m = obj(mp[fam], k);
      known(m, k, ['limit', 'action', 'restartAfter']);
      const action = m.action ?? 'teardown';
      if (!['warn', 'teardown', 'restart'].includes(action as string)) fail(`${k}.action`, 'must be warn, teardown or restart');
      maxPrefix[fam] = {
        limit: int(m.limit, `${k}.limit`, 1, 100_000_000),
        action: action as MaxPrefixAction,
        restartAfterS: int(m.restartAfter, `${k}.restartAfter`, 1, 86_400, 60),
      };
    }
  }
  // `policy: {import, export}` is accepted as shorthand for importPolicy/exportPolicy.
  const pol = o.policy === undefined ? {} : obj(o.policy, `${key}.policy`);
  const holdTime = int(o.holdTime, `${key}.holdTime`, 0, 65535, defaults.holdTime);
  if (holdTime === 1 || holdTime === 2) fail(`${key}.holdTime`, 'must be 0 or at least 3 (RFC 4271 §4.2)');
  const importPolicy = optStr(o.importPolicy ?? pol.import, `${key}.importPolicy`);
  const exportPolicy = optStr(o.exportPolicy ?? pol.export, `${key}.exportPolicy`);
  const localAddress = o.localAddress === undefined ? undefined : ip(o.localAddress, `${key}.localAddress`);
  const password = optStr(o.password, `${key}.password`);
  const nhv4 = o.nextHopIpv4 === undefined ? undefined : ipv4(o.nextHopIpv4, `${key}.nextHopIpv4`);
  const nhv6 = o.nextHopIpv6 === undefined ? undefined : ip(o.nextHopIpv6, `${key}.nextHopIpv6`);
  const localAs = o.localAs === undefined ? undefined : int(o.localAs, `${key}.localAs`, 1, ASN_MAX);
  const ttlSecurity = o.ttlSecurity === undefined ? undefined : int(o.ttlSecurity, `${key}.ttlSecurity`, 1, 254);
  const multihop = o.multihop === undefined ? undefined : int(o.multihop, `${key}.multihop`, 1, 255);
  if (ttlSecurity !== undefined && multihop !== undefined) fail(`${key}.ttlSecurity`, 'cannot be combined with multihop');
  return {
    port: int(o.port, `${key}.port`, 1, 65535, 179),
    families: families as FamilyName[],
    gracefulRestart: bool(o.gracefulRestart, `${key}.gracefulRestart`, true),
    addPath: addPath as AddPathMode,
    maxPrefix,
    routeReflectorClient: bool(o.routeReflectorClient, `${key}.routeReflectorClient`, false),
    allowasIn: int(o.allowasIn, `${key}.allowasIn`, 0, 10, 0),
    passive: bool(o.passive, `${key}.passive`, false),
    holdTime,
    delayOpenS: int(o.delayOpen, `${key}.delayOpen`, 0, 240, 0),
    nextHopSelf: bool(o.nextHopSelf, `${key}.nextHopSelf`, false),
    igpMetric: int(o.igpMetric, `${key}.igpMetric`, 0, ASN_MAX, 0),
    mraiS: int(o.mrai, `${key}.mrai`, 0, 600, 0),
    shutdown: bool(o.shutdown, `${key}.shutdown`, false),
    ...(importPolicy ? { importPolicy } : {}),
    ...(exportPolicy ? { exportPolicy } : {}),
    ...(localAddress ? { localAddress } : {}),
    ...(password ? { password } : {}),
    ...(nhv4 ? { nextHopIpv4: nhv4 } : {}),
    ...(nhv6 ? { nextHopIpv6: nhv6 } : {}),
    ...(localAs ? { localAs } : {}),
    ...(ttlSecurity ? { ttlSecurity } : {}),
    ...(multihop ? { multihop } : {}),
  };
}

/** Validate the `bgp:` section of uplinkd's config. `root` names the section in error messages. */
export function parseBgpConfig(input: unknown, root = 'bgp'): BgpConfig {
  const o = obj(input, root);
  known(o, root, [
    'routerId', 'asn', 'listen', 'holdTime', 'connectRetry', 'gracefulRestart', 'maxPaths', 'multipathRelax', 'clusterId',
    'peers', 'listenRanges', 'advertise', 'importPools', 'importAllow', 'policies', 'warmUp',
  ]);
  const routerId = ipv4(o.routerId, `${root}.routerId`);
  if (routerId === '0.0.0.0') fail(`${root}.routerId`, 'must not be 0.0.0.0 (RFC 6286 §2.2)');
  const asn = int(o.asn, `${root}.asn`, 1, ASN_MAX);
  let listen: BgpConfig['listen'] = { address: '::', port: 179 };
  if (o.listen === false || o.listen === 'disabled') listen = null;
  else if (o.listen !== undefined) {
    const l = obj(o.listen, `${root}.listen`);
    known(l, `${root}.listen`, ['address', 'port']);
    listen = { address: l.address === undefined ? '::' : ip(l.address, `${root}.listen.address`), port: int(l.port, `${root}.listen.port`, 0, 65535, 179) };
  }
  const holdTime = int(o.holdTime, `${root}.holdTime`, 0, 65535, 90);
  const gr = o.gracefulRestart === undefined ? {} : obj(o.gracefulRestart, `${root}.gracefulRestart`);
  known(gr, `${root}.gracefulRestart`, ['restartTime', 'staleTime', 'selectionDeferralTime']);

  const policies: Record<string, PolicyDef> = {};
  if (o.policies !== undefined) {
    const p = obj(o.policies, `${root}.policies`);
    for (const [name, def] of Object.entries(p)) {
      const k = `${root}.policies.${name}`;
      const d = obj(def, k);
      known(d, k, ['terms', 'default']);
      if (!Array.isArray(d.terms)) fail(`${k}.terms`, 'must be a list');
      if (d.default !== undefined && d.default !== 'accept' && d.default !== 'reject') fail(`${k}.default`, 'must be accept or reject');
      d.terms.forEach((t, i) => {
        const term = obj(t, `${k}.terms[${i}]`);
        known(term, `${k}.terms[${i}]`, ['name', 'match', 'action', 'set']);
        if (term.action !== 'accept' && term.action !== 'reject') fail(`${k}.terms[${i}].action`, 'must be accept or reject');
      });
      try {
        compilePolicy(name, d as unknown as PolicyDef);
      } catch (err) {
        fail(k, (err as Error).message, err);
      }
      policies[name] = d as unknown as PolicyDef;
    }
  }
  const checkPolicyRef = (ref: string | undefined, key: string): void => {
    if (ref !== undefined && !(ref in policies)) fail(key, `no policy named '${ref}' under ${root}.policies`);
  };

  const peersIn = o.peers ?? [];
  if (!Array.isArray(peersIn)) fail(`${root}.peers`, 'must be a list');
  const names = new Set<string>();
  const peers = peersIn.map((p, i): PeerConfig => {
    const k = `${root}.peers[${i}]`;
    const po = obj(p, k);
    known(po, k, PEER_KEYS);
    const address = po.address === undefined ? undefined : ip(po.address, `${k}.address`);
    const iface = optStr(po.interface, `${k}.interface`);
    if ((address === undefined) === (iface === undefined)) fail(k, 'needs exactly one of address or interface');
    const s = peerSettings(po, k, { holdTime });
    checkPolicyRef(s.importPolicy, `${k}.importPolicy`);
    checkPolicyRef(s.exportPolicy, `${k}.exportPolicy`);
    const name = optStr(po.name, `${k}.name`) ?? address ?? iface!;
    if (names.has(name)) fail(`${k}.name`, `duplicate peer name '${name}'`);
    names.add(name);
    return { ...s, name, asn: int(po.asn, `${k}.asn`, 1, ASN_MAX), ...(address ? { address } : {}), ...(iface ? { interface: iface } : {}) };
  });

  const rangesIn = o.listenRanges ?? [];
  if (!Array.isArray(rangesIn)) fail(`${root}.listenRanges`, 'must be a list');
  const listenRanges = rangesIn.map((r, i): ListenRange => {
    const k = `${root}.listenRanges[${i}]`;
    const ro = obj(r, k);
    known(ro, k, ['prefix', 'asn', 'asnRange', 'limit', ...PEER_KEYS.filter((x) => !['name', 'address', 'interface', 'asn'].includes(x))]);
    const prefix = prefixes([ro.prefix], `${k}.prefix`)[0]!;
    let asnMin: number;
    let asnMax: number;
    if (ro.asnRange !== undefined) {
      if (!Array.isArray(ro.asnRange) || ro.asnRange.length !== 2) fail(`${k}.asnRange`, 'must be [min, max]');
      asnMin = int(ro.asnRange[0], `${k}.asnRange[0]`, 1, ASN_MAX);
      asnMax = int(ro.asnRange[1], `${k}.asnRange[1]`, asnMin, ASN_MAX);
    } else {
      asnMin = asnMax = int(ro.asn, `${k}.asn`, 1, ASN_MAX);
    }
    const { prefix: _p, asn: _a, asnRange: _r, limit: _l, ...rest } = ro;
    const template = peerSettings({ passive: true, ...rest }, k, { holdTime });
    checkPolicyRef(template.importPolicy, `${k}.importPolicy`);
    checkPolicyRef(template.exportPolicy, `${k}.exportPolicy`);
    return { prefix, asnMin, asnMax, template, limit: int(ro.limit, `${k}.limit`, 1, 100_000, 100) };
  });

  return {
    routerId,
    asn,
    listen,
    holdTime,
    connectRetryS: int(o.connectRetry, `${root}.connectRetry`, 1, 65535, 30),
    gracefulRestart: {
      restartTimeS: int(gr.restartTime, `${root}.gracefulRestart.restartTime`, 1, 4095, 120),
      staleTimeS: int(gr.staleTime, `${root}.gracefulRestart.staleTime`, 1, 3600, 360),
      selectionDeferralS: int(gr.selectionDeferralTime, `${root}.gracefulRestart.selectionDeferralTime`, 1, 3600, 60),
    },
    maxPaths: int(o.maxPaths, `${root}.maxPaths`, 1, 64, 8),
    multipathRelax: bool(o.multipathRelax, `${root}.multipathRelax`, false),
    ...(o.clusterId !== undefined ? { clusterId: ipv4(o.clusterId, `${root}.clusterId`) } : {}),
    peers,
    listenRanges,
    advertise: prefixes(o.advertise, `${root}.advertise`),
    importPools: prefixes(o.importPools, `${root}.importPools`),
    importAllow: prefixes(o.importAllow, `${root}.importAllow`),
    policies,
    warmUp: bool(o.warmUp, `${root}.warmUp`, true),
  };
}
