// Glue between the agent and the BGP speaker: config in, Loc-RIB out to the FIB reconciler, session
// changes into the event journal, introspection onto the control socket.
//
// The reconciler's "rib" source holds the whole learned table; the speaker reports changes per
// event-loop turn and we hand each batch on as a delta (upserts, removals): O(changes) per batch, no
// copy of the table here. The reconciler keeps the full desired set, so its periodic resync still
// compares all of it with the kernel.
import { logger } from '../lib/log.js';
import { parseBgpConfig, type BgpConfig } from '../bgpd/config.js';
import { BgpSpeaker, type NeighborStatus, type RouteView as SpeakerRouteView } from '../bgpd/speaker.js';
import { fibBatchKey, type FibBatch, type FibChange, type NextHop } from '../bgpd/rib/rib.js';
import { formatKey } from '../bgpd/rib/prefix.js';
import type { Route } from '../routes/index.js';
import { FibReconciler } from '../routes/reconciler.js';
import type { PrefixDelta } from '../routes/prefix-batch.js';
import type { AgentConfig } from './config.js';
import type { EventJournal } from './events.js';
import { ControlError, type ControlServer } from './control-server.js';
import { BfdManager, bfdSessionsFromConfig, bfdShowRows, type BfdStateEvent } from '../bfd/index.js';

const log = logger('agent.bgp');

/** One row of `uplinkctl show neighbors` / `status`. */
export interface NeighborSummary {
  peer: string;
  address: string;
  asn: number;
  state: string;
  since: string | null;
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
  lastError: string | null;
}
export type NeighborDetail = NeighborStatus;

/** Flattened for the table view: one row per path. */
export interface RouteView {
  prefix: string;
  paths: Array<{ nextHop: string; from: string; asPath: string; localPref: number | null; med: number | null; best: boolean; multipath: boolean; reason: string | null }>;
}
export interface RibEntryView {
  prefix: string;
  nextHop: string;
  asPath: string;
  localPref: number | null;
  med: number | null;
  communities?: string;
  policy?: string;
}

/** Receives each Loc-RIB batch as a columnar delta (FibReconciler.applyPrefixes). */
export type RibSink = (delta: PrefixDelta) => Promise<void> | undefined;

type Hops = NonNullable<Route['nexthops']>;

/**
 * One frozen next-hop list per single next hop, shared by every route through it: a table of 500k
 * routes over a few next hops then costs one Route object per change, not three. Nothing downstream
 * mutates a Route (the reconciler normalizes it into its own objects).
 */
const sharedHops = new Map<string, Hops>();

function hopsOf(family: FibChange['family'], nextHops: readonly NextHop[]): Hops {
  const one = nextHops.length === 1 ? nextHops[0] : undefined;
  if (one && !one.linkLocal) {
    const key = family === 'ipv4' ? one.address : `6 ${one.address}`;
    let hops = sharedHops.get(key);
    if (!hops) {
      hops = Object.freeze([Object.freeze(hopOf(family, one))]) as Hops;
      if (sharedHops.size > 4096) sharedHops.clear();
      sharedHops.set(key, hops);
    }
    return hops;
  }
  return nextHops.map((h) => hopOf(family, h));
}

/** RFC 8950: an IPv4 route whose next hop is IPv6 goes out with RTA_VIA; link-local is onlink. */
function hopOf(family: FibChange['family'], h: NextHop): Hops[number] {
  const nh: Hops[number] = {};
  if (family === 'ipv4' && h.address.includes(':')) nh.via = h.address;
  else nh.gateway = h.address;
  if (h.linkLocal) {
    nh.dev = h.linkLocal;
    nh.onlink = true;
  }
  return nh;
}

/**
 * Loc-RIB changes as FIB routes. RFC 8950: an IPv4 route whose next hop is IPv6 goes out with RTA_VIA;
 * a link-local next hop (BGP unnumbered) names its interface and is onlink.
 */
export function ribDelta(changes: readonly FibChange[]): { upserts: Route[]; removals: Route[] } {
  const upserts: Route[] = [];
  const removals: Route[] = [];
  for (const c of changes) {
    if (c.nextHops.length === 0) removals.push({ dst: c.prefix });
    else upserts.push({ dst: c.prefix, nexthops: hopsOf(c.family, c.nextHops) });
  }
  return { upserts, removals };
}

/**
 * The FIB half of the speaker's warm-up (bgpd/warmup.ts): the scratch RIB's batches go through the
 * same delta conversion into a dry-run reconciler, which encodes every netlink request and acks it
 * without a kernel. So the first real table meets optimized code on its way to the kernel too.
 */
export function fibWarmUp(): (batch: FibBatch) => Promise<void> {
  let rec: FibReconciler | null = null;
  return (batch) => {
    const delta = ribPrefixDelta(batch); // copied out while the batch is valid
    const r = (rec ??= new FibReconciler({ dryRun: true, resyncIntervalMs: 0 }));
    return r.start().then(() => r.applyPrefixes('rib', delta));
  };
}

/**
 * A columnar Loc-RIB batch (rib.ts FibBatch) as a columnar FIB delta (FibReconciler.applyPrefixes),
 * with the same mapping as ribDelta. IPv4 prefixes go as the RIB's numeric keys (no text per prefix:
 * the reconciler keys its table by them too), IPv6 as text; next hops are mapped once per set and
 * family. Called during the RIB's listener call: everything is copied out of the batch.
 */
export function ribPrefixDelta(b: FibBatch): PrefixDelta {
  // The batch holds its IPv4 changes first (i < n4), so the delta's numeric upserts come first too.
  let up4 = 0;
  let rm4 = 0;
  for (let i = 0; i < b.n4; i++) {
    if (b.hops[i]! < 0) rm4++;
    else up4++;
  }
  const v4 = new Float64Array(up4);
  const removals4 = new Float64Array(rm4);
  const upserts: string[] = [];
  const removals: string[] = [];
  const hops = new Int32Array(b.size - rm4);
  const hopSets: Hops[] = [];
  // Index 2 * the batch's set + (IPv6 ? 1 : 0) -> index in hopSets; -1 = not mapped yet.
  const mapped = new Int32Array(b.hopSets.length * 2).fill(-1);
  let nu = 0;
  let nr = 0;
  for (let i = 0; i < b.size; i++) {
    const h = b.hops[i]!;
    const v6 = i < b.n4 ? 0 : 1;
    if (h < 0) {
      if (v6) removals.push(formatKey(fibBatchKey(b, i)));
      else removals4[nr++] = b.v4[i]!;
      continue;
    }
    let m = mapped[h * 2 + v6]!;
    if (m < 0) {
      m = mapped[h * 2 + v6] = hopSets.length;
      hopSets.push(hopsOf(v6 ? 'ipv6' : 'ipv4', b.hopSets[h]!));
    }
    hops[nu] = m;
    if (v6) upserts.push(formatKey(fibBatchKey(b, i)));
    else v4[nu] = b.v4[i]!;
    nu++;
  }
  return { v4, upserts, hops, hopSets, removals4, removals };
}

export function bgpConfigOf(cfg: AgentConfig): BgpConfig {
  const raw = { ...(cfg.bgp ?? {}) };
  delete raw.bfd;
  // Safe default import (design): prefixes inside our pools only, unless the operator says otherwise.
  if (raw.importPools === undefined && cfg.pools.length) raw.importPools = cfg.pools.map((p) => p.cidr);
  return parseBgpConfig(raw, cfg.file ? '' : 'bgp');
}

export class BgpBridge {
  readonly speaker: BgpSpeaker;
  private states = new Map<string, string>();
  private poll: NodeJS.Timeout | undefined;
  private converged = false;
  private readonly startedAt = Date.now();
  private bfd: BfdManager | undefined;
  private bgpCfg: BgpConfig;
  private bfdRaw: unknown;
  private readonly netns: string | undefined;

  constructor(
    cfg: AgentConfig,
    private readonly journal: EventJournal,
    private readonly onRib: RibSink,
    private readonly onConverged: () => void,
    /** Sessions that came up with End-of-RIB from every peer, or this long after start. */
    private readonly convergeTimeoutMs = 30_000,
    /**
     * The kernel still holds the routes we learned before a restart: we are a restarting speaker that
     * kept its forwarding state (RFC 4724 §3 R and F bits), so peers keep our routes through the
     * reconnect and the Loc-RIB defers selection until their End-of-RIB (§4.1).
     */
    restarting = false,
  ) {
    this.bgpCfg = bgpConfigOf(cfg);
    this.bfdRaw = cfg.bgp?.bfd;
    this.netns = cfg.netns;
    // The node's namespace (config `netns`): sessions and BFD of a simulated node live there.
    this.speaker = new BgpSpeaker(this.bgpCfg, { restarting, warmUpFib: fibWarmUp(), ...(cfg.netns ? { netns: cfg.netns } : {}) });
    this.speaker.rib.onFibBatch((batch) => this.applyChanges(batch));
  }

  async start(): Promise<void> {
    this.startBfd();
    await this.speaker.start();
    this.poll = setInterval(() => this.watchSessions(), 500);
    this.poll.unref();
  }

  /**
   * BFD (RFC 5882 §4.3): when a peer's BFD session fails, tear its BGP session down at once instead of
   * waiting for the hold timer; the FIB then moves to the remaining next hops. The BGP FSM reconnects
   * by itself and comes back Established once the peer is reachable again.
   */
  private startBfd(): void {
    if (this.bfdRaw === undefined) return;
    const peers = this.bgpCfg.peers.map((p) => ({
      name: p.name,
      ...(p.address ? { address: p.address } : {}),
      ...(p.interface ? { interface: p.interface } : {}),
      ...(p.localAddress ? { localAddress: p.localAddress } : {}),
      ...(p.multihop ? { multihop: p.multihop } : {}),
    }));
    const sessions = bfdSessionsFromConfig(this.bfdRaw as never, peers);
    if (!sessions.length) return;
    this.bfd = new BfdManager(this.netns ? { netns: this.netns } : {});
    for (const s of sessions) this.bfd.addSession(s);
    this.bfd.on('state', (e: BfdStateEvent) => {
      this.journal.add('bfd', `BFD ${e.peer}${e.interface ? `%${e.interface}` : ''} ${e.from} -> ${e.to} (${e.diagnostic})`, { ...e });
      if (!e.failed) return;
      const peer = this.bgpCfg.peers.find((p) => p.address === e.peer || (e.interface !== undefined && p.interface === e.interface));
      if (!peer) return;
      this.journal.add('session', `BFD says ${peer.name} is down: closing its BGP session now (Cease/BFD Down)`);
      try {
        // RFC 9384: Cease subcode 10 and an immediate withdraw; a session already down (the peer's
        // graceful restart) is left alone so its stale routes stay.
        this.speaker.bfdDown(peer.name);
      } catch (err) {
        log.warn({ err, peer: peer.name }, 'BFD teardown failed');
      }
    });
  }

  /**
   * Graceful (default): peers keep our routes for the restart time (RFC 4724) and we keep theirs in
   * the kernel. With a message: a Cease with that shutdown communication (RFC 9003), peers withdraw.
   */
  async stop(opts: { graceful?: boolean; message?: string } = { graceful: true }): Promise<void> {
    this.bfd?.close();
    if (this.poll) clearInterval(this.poll);
    if (!opts.graceful) {
      // Drain before the NOTIFICATION: peers that negotiated graceful-restart notification support
      // (RFC 8538) keep a Cease'd peer's routes as stale, so withdraw ours explicitly first.
      this.speaker.setLocalPrefixes([]);
      await new Promise((r) => setTimeout(r, 500));
    }
    await this.speaker.stop(opts);
  }

  async reconfigure(cfg: AgentConfig): Promise<void> {
    this.bgpCfg = bgpConfigOf(cfg);
    await this.speaker.reconfigure(this.bgpCfg);
    if (JSON.stringify(cfg.bgp?.bfd) !== JSON.stringify(this.bfdRaw)) {
      this.bfd?.close();
      this.bfd = undefined;
      this.bfdRaw = cfg.bgp?.bfd;
      this.startBfd();
    }
  }

  setLocalPrefixes(prefixes: string[]): void {
    this.speaker.setLocalPrefixes(prefixes);
  }

  private applyChanges(batch: FibBatch): void {
    if (!batch.size) return;
    const sample: string[] = [];
    for (let i = 0; i < Math.min(5, batch.size); i++) {
      const h = batch.hops[i]!;
      sample.push(`${formatKey(fibBatchKey(batch, i))} -> ${h < 0 ? 'withdrawn' : batch.hopSets[h]!.map((x) => x.address).join(',')}`);
    }
    this.journal.add('route', `${batch.size} route change(s) from BGP`, { sample });
    void this.onRib(ribPrefixDelta(batch))?.catch((err: unknown) => log.error({ err }, 'FIB update failed'));
  }

  /** Journal session transitions and decide when the RIB has converged after start. */
  private watchSessions(): void {
    const ns = this.speaker.neighbors();
    for (const n of ns) {
      const prev = this.states.get(n.name);
      if (prev !== n.state) {
        const why = n.state !== 'Established' && n.lastError ? `: ${n.lastError.direction} ${n.lastError.text}` : '';
        this.journal.add('session', `peer ${n.name} (AS ${n.asn}) ${prev ?? 'new'} -> ${n.state}${why}`, { peer: n.name, from: prev ?? null, to: n.state });
        this.states.set(n.name, n.state);
      }
    }
    if (!this.converged) {
      const configured = ns.filter((n) => !n.dynamic);
      const allUp = configured.length > 0 && configured.every((n) => n.state === 'Established' && (n.uptimeS ?? 0) >= 2)
        // RFC 4724 §4.1: while selection is deferred the Loc-RIB is still empty; converging now would
        // delete the routes kept from the previous run.
        && !this.speaker.selectionDeferred;
      if (allUp || Date.now() - this.startedAt > this.convergeTimeoutMs) {
        this.converged = true;
        this.journal.add('route', allUp ? 'all sessions Established: removing stale routes of the previous run' : 'convergence timer expired: removing stale routes');
        this.onConverged();
      }
    }
  }

  neighborsSummary(): NeighborSummary[] {
    return this.speaker.neighbors().map((n) => ({
      peer: n.name,
      address: n.address,
      asn: n.asn,
      state: n.state,
      since: n.uptimeS !== null ? `${formatDuration(n.uptimeS)}` : (n.flaps.at(-1)?.at ?? null),
      prefixesReceived: n.prefixes.received.ipv4 + n.prefixes.received.ipv6,
      prefixesAccepted: n.prefixes.accepted.ipv4 + n.prefixes.accepted.ipv6,
      prefixesAdvertised: n.prefixes.advertised.ipv4 + n.prefixes.advertised.ipv6,
      lastError: n.lastError ? `${n.lastError.direction === 'received' ? 'peer sent' : 'we sent'} NOTIFICATION ${n.lastError.code}/${n.lastError.subcode} ${n.lastError.text} (${n.lastError.at})` : null,
    }));
  }

  /** Per peer, which of `own` it currently has in its Adj-RIB-Out. */
  exportsOf(own: ReadonlySet<string>): Array<{ peer: string; state: string; prefixes: string[] }> {
    return this.speaker.neighbors().map((n) => ({
      peer: n.name,
      state: n.state,
      prefixes: n.state === 'Established' ? this.speaker.ribOut(n.name).map((e) => e.prefix).filter((p) => own.has(p)) : [],
    }));
  }

  prefixCounts(): { advertised: number; received: number } {
    let advertised = 0;
    let received = 0;
    for (const n of this.neighborsSummary()) {
      advertised += n.prefixesAdvertised;
      received += n.prefixesReceived;
    }
    return { advertised, received };
  }

  routes(prefix?: string): RouteView[] {
    return this.speaker.routes(prefix).map((r: SpeakerRouteView) => ({
      prefix: r.prefix,
      paths: r.paths.map((p) => ({ nextHop: p.nextHop || '(local)', from: p.peer, asPath: p.asPath, localPref: p.localPref, med: p.med, best: p.best, multipath: p.multipath, reason: p.reason })),
    }));
  }

  registerControl(c: ControlServer): void {
    const peerOf = (q: URLSearchParams): string => {
      const p = q.get('peer');
      if (!p) throw new ControlError('bad-request', 'missing ?peer=');
      return p;
    };
    const guard = <T>(f: () => T): T => {
      try {
        return f();
      } catch (err) {
        throw new ControlError('not-found', (err as Error).message, 404, { cause: err });
      }
    };
    c.handle('GET', '/neighbors', () => this.neighborsSummary());
    c.handle('GET', '/bfd', () => (this.bfd ? bfdShowRows(this.bfd.sessions()) : []));
    c.handle('GET', '/neighbor', (req) => guard(() => this.speaker.neighbor(peerOf(req.query))));
    c.handle('GET', '/routes', (req) => guard(() => this.routes(req.query.get('prefix') ?? undefined)));
    c.handle('GET', '/rib-in', (req) => guard(() => this.speaker.ribIn(peerOf(req.query), req.query.get('which') === 'pre' ? 'pre' : 'post')));
    c.handle('GET', '/rib-out', (req) => guard(() => this.speaker.ribOut(peerOf(req.query))));
    c.handle('POST', '/reset', (req) => {
      const b = (req.body ?? {}) as { peer?: unknown; soft?: unknown };
      if (typeof b.peer !== 'string') throw new ControlError('bad-request', 'body must be {"peer": NAME, "soft": bool}');
      const peer = b.peer;
      guard(() => this.speaker.resetNeighbor(peer, b.soft === true ? 'soft-in' : 'hard'));
      this.journal.add('session', `${b.soft === true ? 'soft' : 'hard'} reset of ${peer} by operator`);
      return { peer, reset: b.soft === true ? 'soft' : 'hard' };
    });
  }
}

function formatDuration(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
