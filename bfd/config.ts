// The `bgp.bfd` section of the agent config -> BfdSessionConfigs: BGP peers that enable BFD (by name or
// address, optionally with their own timers) and standalone sessions. Defaults 300 ms x 3 (issue 9).
//
//   bgp:
//     bfd:
//       defaults: { minTxMs: 300, minRxMs: 300, multiplier: 3 }
//       peers: [ "spine1", { peer: "10.0.0.9", minTxMs: 100, minRxMs: 100 } ]
//       sessions: [ { peer: "10.1.0.1", interface: "eth1" }, { peer: "10.2.0.1", local: "10.3.0.1", multihop: true } ]
import { BfdError, BfdErrorCode } from './errors.js';
import { BFD_DEFAULTS, type BfdSessionConfig } from './manager.js';

/** The parts of a bgpd PeerConfig BFD needs (structural, so bfd/ does not import bgpd/). */
export interface BgpPeerLike {
  name: string;
  address?: string;
  interface?: string;
  localAddress?: string;
  /** eBGP multihop TTL: above 1 the BFD session is RFC 5883 multihop. */
  multihop?: number;
}

export interface BfdTimers {
  minTxMs: number;
  minRxMs: number;
  multiplier: number;
}

const TIMER_KEYS = ['minTxMs', 'minRxMs', 'multiplier'] as const;
const SESSION_KEYS = ['peer', 'local', 'interface', 'multihop', 'auth', ...TIMER_KEYS] as const;

function fail(where: string, what: string): never {
  throw new BfdError(BfdErrorCode.InvalidConfig, `${where}: ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(where, `unknown key "${k}" (allowed: ${allowed.join(', ')})`);
}

function timers(o: Record<string, unknown>, base: BfdTimers, where: string): BfdTimers {
  const out = { ...base };
  for (const k of TIMER_KEYS) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(where, `${k} must be a positive number`);
    out[k] = v;
  }
  if (!Number.isInteger(out.multiplier) || out.multiplier > 255) fail(where, 'multiplier must be an integer 1..255');
  return out;
}

function optString(o: Record<string, unknown>, k: string, where: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') fail(where, `${k} must be a non-empty string`);
  return v;
}

/** Every BFD session the config asks for. `bgpPeers` resolves `peers` entries by name or address. */
export function bfdSessionsFromConfig(raw: unknown, bgpPeers: readonly BgpPeerLike[], where = 'bgp.bfd'): BfdSessionConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!isObject(raw)) fail(where, 'must be a mapping');
  checkKeys(raw, ['defaults', 'peers', 'sessions'], where);
  const defaultsRaw = raw.defaults ?? {};
  if (!isObject(defaultsRaw)) fail(`${where}.defaults`, 'must be a mapping');
  checkKeys(defaultsRaw, TIMER_KEYS, `${where}.defaults`);
  const defaults = timers(defaultsRaw, { ...BFD_DEFAULTS }, `${where}.defaults`);
  const out: BfdSessionConfig[] = [];

  const peers = raw.peers ?? [];
  if (!Array.isArray(peers)) fail(`${where}.peers`, 'must be a list');
  peers.forEach((entry: unknown, i) => {
    const at = `${where}.peers[${i}]`;
    const ref = typeof entry === 'string' ? entry : isObject(entry) ? entry.peer : undefined;
    if (typeof ref !== 'string') fail(at, 'must be a peer name/address or { peer, minTxMs?, minRxMs?, multiplier? }');
    const t = isObject(entry) ? (checkKeys(entry, ['peer', ...TIMER_KEYS], at), timers(entry, defaults, at)) : defaults;
    const bgp = bgpPeers.find((p) => p.name === ref || p.address === ref);
    if (!bgp) fail(at, `no BGP peer named or addressed "${ref}"`);
    if (!bgp.address) fail(at, `BGP peer "${ref}" has no address (unnumbered peers are added when their neighbour is learned)`);
    const multihop = (bgp.multihop ?? 1) > 1;
    out.push({
      peer: bgp.address,
      ...(bgp.localAddress ? { local: bgp.localAddress } : {}),
      ...(bgp.interface && !multihop ? { interface: bgp.interface } : {}),
      multihop,
      ...t,
    });
  });

  const sessions = raw.sessions ?? [];
  if (!Array.isArray(sessions)) fail(`${where}.sessions`, 'must be a list');
  sessions.forEach((entry: unknown, i) => {
    const at = `${where}.sessions[${i}]`;
    if (!isObject(entry)) fail(at, 'must be a mapping');
    checkKeys(entry, SESSION_KEYS, at);
    const peer = optString(entry, 'peer', at);
    if (!peer) fail(at, 'peer is required');
    const local = optString(entry, 'local', at);
    const iface = optString(entry, 'interface', at);
    if (entry.multihop !== undefined && typeof entry.multihop !== 'boolean') fail(at, 'multihop must be true or false');
    const auth = entry.auth;
    if (auth !== undefined && !(isObject(auth) && auth.type === 'simple' && typeof auth.keyId === 'number' && typeof auth.password === 'string')) {
      fail(at, 'auth must be { type: simple, keyId, password }');
    }
    out.push({
      peer,
      ...(auth ? { auth: { type: 'simple', keyId: auth.keyId as number, password: auth.password as string } } : {}),
      ...(local ? { local } : {}),
      ...(iface ? { interface: iface } : {}),
      multihop: entry.multihop === true,
      ...timers(entry, defaults, at),
    });
  });
  return out;
}
