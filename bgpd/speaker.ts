// The BGP speaker: configuration, the listener, one PeerSession per neighbour (configured, dynamic from
// listen ranges), the RIB, and the plain-data introspection uplinkctl shows. The FIB reconciler
// subscribes to Loc-RIB changes (onRoutes) or reads the whole desired state (desiredRoutes); the speaker
// never touches the kernel routing table itself.
//
// Ownership: BgpSpeaker owns every PeerSession and the Rib. reconfigure() compares old and new peer
// configuration and only restarts sessions whose settings changed.
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { logger, type Logger } from '../lib/log.js';
import { BgpError, BgpErrorCode } from './errors.js';
import type { BgpConfig, ListenRange, PeerConfig } from './config.js';
import { Rib, type FibBatch, type FibChange, type NextHop } from './rib/rib.js';
import { compilePolicy, type CompiledPolicy, type PolicyDef } from './rib/policy.js';
import { formatKey, parsePrefix, prefixContains, type PrefixKey } from './rib/prefix.js';
import { asPathText, type Attrs } from './rib/attrs.js';
import { PeerSession, type FlapRecord, type LastError, type LocalSettings } from './session/peer.js';
import { peerMetrics } from './metrics.js';
import { State } from './fsm/table.js';
import { buildOpen, communityToString, largeCommunityToString, negotiate, openCapabilities, type Capability, type OpenMessage } from './wire/index.js';
import { listenTcp, nativeAvailable, setMinTtl, setTcpMd5, socketAddresses } from '../routes/netlink/index.js';
import { warmUpOnce, type WarmUpResult } from './warmup.js';
import { parseBgpConfig } from './config.js';
import { localCapabilities } from './session/capabilities.js';
import { sessionRibInfo, type RibPeerInfo } from './session/rib-info.js';

export interface SpeakerDeps {
  readonly log?: Logger;
  /** Started after a graceful restart: send the R bit, peers keep our routes until End-of-RIB. */
  readonly restarting?: boolean;
  /** Open every socket inside this network namespace (path under /var/run/netns). */
  readonly netns?: string;
  /** Seconds between our Router Advertisements on unnumbered peers' interfaces (default 10). */
  readonly raIntervalS?: number;
  /**
   * The FIB side of the warm-up (warmup.ts): gets the scratch RIB's batches as the real FIB listener
   * would, and must not touch the kernel (uplinkd/bgp-bridge.ts fibWarmUp: a dry-run reconciler).
   */
  readonly warmUpFib?: (batch: FibBatch) => Promise<void>;
}

export interface NeighborStatus {
  readonly name: string;
  readonly address: string;
  readonly asn: number;
  readonly state: string;
  readonly dynamic: boolean;
  readonly uptimeS: number | null;
  readonly holdTimeS: number;
  readonly keepaliveS: number;
  readonly families: readonly string[];
  readonly capabilities: { readonly sent: readonly string[]; readonly received: readonly string[] };
  readonly prefixes: ReturnType<Rib['counts']>;
  readonly counters: PeerSession['counters'];
  readonly lastError: LastError | null;
  readonly flaps: readonly FlapRecord[];
  readonly connectRetryCounter: number;
  readonly idleHoldMs: number;
}

export interface RouteView {
  readonly prefix: string;
  readonly paths: readonly {
    readonly peer: string;
    readonly pathId: number;
    readonly nextHop: string;
    readonly asPath: string;
    readonly origin: number;
    readonly localPref: number | null;
    readonly med: number | null;
    readonly communities: readonly string[];
    readonly largeCommunities: readonly string[];
    readonly best: boolean;
    readonly multipath: boolean;
    readonly reason: string | null;
  }[];
}

export interface RibEntry {
  readonly prefix: string;
  readonly pathId: number;
  readonly nextHop: string;
  readonly asPath: string;
  readonly localPref: number | null;
  readonly med: number | null;
}

export class BgpSpeaker {
  readonly rib: Rib;
  private cfg: BgpConfig;
  private readonly log: Logger;
  private server: Server | null = null;
  private readonly peers = new Map<string, PeerSession>();
  private readonly dynamic = new Set<string>();
  private localPrefixes: string[] = [];
  private policies = new Map<string, CompiledPolicy>();
  private defaultImport: CompiledPolicy;
  private running = false;
  private restarting: boolean;
  private readonly netns: string | undefined;
  private readonly raIntervalS: number | undefined;
  private readonly warmUpFib: SpeakerDeps['warmUpFib'];
  /** The start-up warm-up's outcome (null: disabled or not started yet). */
  warmUpResult: WarmUpResult | null = null;
  private deferralTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly deferralListeners: (() => void)[] = [];

  constructor(cfg: BgpConfig, deps: SpeakerDeps = {}) {
    this.cfg = cfg;
    this.log = deps.log ?? logger('bgpd');
    this.restarting = deps.restarting ?? false;
    this.netns = deps.netns;
    this.raIntervalS = deps.raIntervalS;
    this.warmUpFib = deps.warmUpFib;
    this.rib = new Rib(this.ribOptions());
    peerMetrics.useRib(this.rib);
    this.policies = compileAll(cfg.policies);
    this.defaultImport = defaultImportPolicy(cfg);
    this.rib.onOutbound((id, batch) => {
      for (const p of this.peers.values()) if (p.ribId === id) p.sendBatch(batch);
    });
  }

  private ribOptions(): ConstructorParameters<typeof Rib>[0] {
    return {
      localAs: this.cfg.asn,
      routerId: this.cfg.routerId,
      maxPaths: this.cfg.maxPaths,
      multipathRelax: this.cfg.multipathRelax,
      ...(this.cfg.clusterId ? { clusterId: this.cfg.clusterId } : {}),
    };
  }

  private localSettings = (): LocalSettings => ({
    asn: this.cfg.asn,
    routerId: this.cfg.routerId,
    connectRetryS: this.cfg.connectRetryS,
    restartTimeS: this.cfg.gracefulRestart.restartTimeS,
    staleTimeS: this.cfg.gracefulRestart.staleTimeS,
    restarting: this.restarting,
  });

  // ------------------------------------------------------------------------------------------------
  // Lifecycle

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.cfg.warmUp) {
      const w = await warmUpOnce({
        rib: this.ribOptions(),
        peerInfo: (name, address) => this.syntheticPeerInfo(name, address),
        importPools: this.cfg.importPools,
        ...(this.warmUpFib ? { fib: this.warmUpFib } : {}),
      });
      this.warmUpResult = w;
      if (w.ran) this.log.info({ ms: Math.round(w.ms), prefixes: w.selected, fib: this.warmUpFib !== undefined }, 'warm-up: synthetic table through decode, RIB and FIB path');
    }
    if (this.restarting) this.beginDeferral();
    this.applyLocal();
    if (this.cfg.listen) await this.listen(this.cfg.listen);
    for (const pc of this.cfg.peers) this.addPeer(pc);
    for (const p of this.peers.values()) p.start();
    // RFC 4724 §4.1: the R bit is only for the sessions right after the restart.
    setTimeout(() => (this.restarting = false), this.cfg.gracefulRestart.restartTimeS * 1000).unref();
  }

  /**
   * `graceful`: close sessions without NOTIFICATION so GR-capable peers keep our routes (we are the
   * restarting speaker, RFC 4724 §4.1). Otherwise Cease/Administrative Shutdown to every peer.
   */
  async stop(opts: { graceful?: boolean; message?: string } = {}): Promise<void> {
    this.running = false;
    if (this.deferralTimer) clearTimeout(this.deferralTimer);
    this.deferralTimer = null;
    for (const p of this.peers.values()) {
      if (opts.graceful) p.abandon();
      else p.stop(opts.message ?? 'uplinkd stopping');
    }
    // Let NOTIFICATIONs reach the wire before the sockets go.
    await new Promise((r) => setTimeout(r, opts.graceful ? 0 : 50));
    for (const p of this.peers.values()) p.dispose();
    this.peers.clear();
    this.dynamic.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }

  /**
   * RFC 4724 §4.1: after a restart with forwarding state kept (the kernel still has our routes), run
   * no decision — so no FIB change, UPDATE or End-of-RIB — until every GR-capable peer sent its
   * End-of-RIB or the Selection_Deferral_Timer expires. Peers keep our routes stale until our
   * End-of-RIB and the FIB gets one batch with the converged next hops instead of a partial table
   * followed by corrections.
   */
  private beginDeferral(): void {
    this.rib.deferSelection(true);
    const s = this.cfg.gracefulRestart.selectionDeferralS ?? 60;
    this.deferralTimer = setTimeout(() => this.endDeferral('selection deferral timer expired'), s * 1000);
    this.deferralTimer.unref();
    this.log.info({ seconds: s }, 'restarting: route selection deferred until End-of-RIB from every graceful-restart peer');
  }

  private checkDeferral(): void {
    if (!this.rib.selectionDeferred) return;
    // Dynamic neighbours are unknown until they connect; peers with graceful restart off are not waited for.
    const waiting = [...this.peers.values()].filter((p) => !this.dynamic.has(p.name) && p.cfg.gracefulRestart && !p.cfg.shutdown && !p.selectionDeferralDone());
    if (waiting.length === 0) this.endDeferral('End-of-RIB from every graceful-restart peer');
  }

  private endDeferral(why: string): void {
    if (this.deferralTimer) clearTimeout(this.deferralTimer);
    this.deferralTimer = null;
    if (!this.rib.selectionDeferred) return;
    this.log.info({ why }, 'route selection deferral over: running the decision');
    this.rib.deferSelection(false);
    for (const l of this.deferralListeners.splice(0)) l();
  }

  /** True while a restarting speaker defers route selection (RFC 4724 §4.1). */
  get selectionDeferred(): boolean {
    return this.rib.selectionDeferred;
  }

  /** Run `cb` once route selection is no longer deferred (at once if it is not). */
  onSelectionDeferralDone(cb: () => void): void {
    if (!this.rib.selectionDeferred) cb();
    else this.deferralListeners.push(cb);
  }

  private async listen(l: { address: string; port: number }): Promise<void> {
    const onConn = (s: Socket): void => this.onIncoming(s);
    const family = isIP(l.address) === 4 ? 4 : 6;
    const md5 = this.cfg.peers.filter((p) => p.password && p.address).map((p) => ({ address: md5Address(p.address!, family), key: p.password! }));
    if ((md5.length || this.netns) && nativeAvailable()) {
      this.server = await listenTcp({ family, bind: { address: l.address, port: l.port }, md5, ...(this.netns ? { netns: this.netns } : {}) }, onConn);
      return;
    }
    const server = createServer(onConn);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: l.address, port: l.port, ipv6Only: false }, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    this.server = server;
  }

  /** The port we listen on (tests bind port 0). */
  get listenPort(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  private onIncoming(sock: Socket): void {
    // socketAddresses, not sock.remoteAddress: Node throws for a link-local peer in another netns.
    const addrs = socketAddresses(sock);
    const remote = addrs.remote ?? '';
    const scoped = remote;
    let peer = [...this.peers.values()].find((p) => p.cfg.address === scoped || (p.cfg.interface && p.remoteAddress === scoped));
    // An unnumbered neighbour that connects before we saw its RA: the link-local session's interface
    // (scope id) names the peer; the session takes the address from the socket.
    peer ??= addrs.scope ? [...this.peers.values()].find((p) => p.cfg.interface && !p.remoteAddress && p.interfaceIndex === addrs.scope) : undefined;
    if (!peer) {
      const range = this.cfg.listenRanges.find((r) => inRange(r, scoped));
      if (!range || [...this.dynamic].filter((n) => this.peers.get(n)?.cfg.address && inRange(range, this.peers.get(n)!.cfg.address!)).length >= range.limit) {
        this.log.info({ remote }, 'connection from unknown address rejected');
        sock.destroy();
        return;
      }
      peer = this.addPeer({ ...range.template, name: `dynamic-${scoped}`, address: scoped, asn: range.asnMin, passive: true }, [range.asnMin, range.asnMax]);
      this.dynamic.add(peer.name);
      peer.start();
    }
    const ttlHops = peer.cfg.ttlSecurity;
    if (ttlHops && nativeAvailable()) {
      try {
        setMinTtl(sock, isIP(scoped) === 6 ? 6 : 4, 256 - ttlHops);
      } catch (err) {
        this.log.warn({ peer: peer.name, err: (err as Error).message }, 'GTSM on accepted socket failed');
      }
    }
    peer.acceptIncoming(sock);
  }

  private addPeer(pc: PeerConfig, asRange?: readonly [number, number]): PeerSession {
    if (this.peers.has(pc.name)) throw new BgpError(BgpErrorCode.Config, `duplicate peer ${pc.name}`);
    const p = new PeerSession(pc, {
      rib: this.rib,
      local: this.localSettings,
      log: this.log,
      ...(asRange ? { asRange } : {}),
      ...(this.netns ? { netns: this.netns } : {}),
      ...(this.raIntervalS ? { raIntervalS: this.raIntervalS } : {}),
      onEndOfRibProgress: () => this.checkDeferral(),
      onIdle: (s) => {
        // Dynamic neighbours exist only while their session does.
        if (this.dynamic.has(s.name)) {
          setImmediate(() => {
            if (s.fsm.state !== State.Idle || !this.dynamic.has(s.name)) return;
            this.dynamic.delete(s.name);
            this.peers.delete(s.name);
            s.dispose();
          });
        }
      },
    });
    this.rib.updatePeer(p.ribId, { ...p.ribInfo(), ...this.policyFor(pc) });
    // Keep policies attached when the session refreshes its RIB info.
    const orig = p.ribInfo.bind(p);
    p.ribInfo = () => ({ ...orig(), ...this.policyFor(p.cfg) });
    this.rib.updatePeer(p.ribId, p.ribInfo());
    this.peers.set(pc.name, p);
    if (pc.password && pc.address && this.server && nativeAvailable()) {
      try {
        setTcpMd5(this.server, { address: md5Address(pc.address, this.cfg.listen && isIP(this.cfg.listen.address) === 4 ? 4 : 6), key: pc.password });
      } catch (err) {
        this.log.warn({ peer: pc.name, err: (err as Error).message }, 'TCP MD5 on listener failed');
      }
    }
    return p;
  }

  /** What the RIB would see of an established eBGP peer with default settings (the warm-up's peers). */
  private syntheticPeerInfo(name: string, address: string): RibPeerInfo {
    const [pc] = parseBgpConfig({ routerId: this.cfg.routerId, asn: this.cfg.asn, peers: [{ name, address, asn: 64600, families: ['ipv4'] }] }).peers;
    const local = this.cfg.asn;
    const open = (asn: number, bgpId: string): OpenMessage =>
      buildOpen({ asn, holdTime: 90, bgpId, capabilities: localCapabilities(pc!, { asn, restartTimeS: 120, restarting: false }) });
    const ctx = negotiate(open(local, this.cfg.routerId), open(64600, address));
    const view = { localAs: local, remoteAs: 64600, remoteAddress: address, localAddress: '192.0.2.254', routerId: address, ctx };
    return { ...sessionRibInfo(pc!, view), ...this.policyFor(pc!) };
  }

  private policyFor(pc: PeerConfig): { importPolicy?: CompiledPolicy; exportPolicy?: CompiledPolicy } {
    const imp = pc.importPolicy ? this.policies.get(pc.importPolicy) : this.defaultImport;
    const exp = pc.exportPolicy ? this.policies.get(pc.exportPolicy) : undefined;
    return { ...(imp ? { importPolicy: imp } : {}), ...(exp ? { exportPolicy: exp } : {}) };
  }

  /**
   * Apply a new configuration. Peers whose settings are unchanged keep their sessions; changed ones are
   * reset; removed ones get Cease/Peer De-configured. Policy-only changes are applied with a soft reset.
   */
  async reconfigure(next: BgpConfig): Promise<void> {
    const prev = this.cfg;
    if (next.routerId !== prev.routerId || next.asn !== prev.asn || JSON.stringify(next.listen) !== JSON.stringify(prev.listen)) {
      // Identity changes touch every session (RFC 4271 §4.2 fields of every OPEN).
      await this.stop({ message: 'router identity changed' });
      this.cfg = next;
      this.rib.setOptions(this.ribOptions());
      this.policies = compileAll(next.policies);
      this.defaultImport = defaultImportPolicy(next);
      await this.start();
      return;
    }
    const policiesChanged = JSON.stringify(prev.policies) !== JSON.stringify(next.policies) || JSON.stringify([prev.importPools, prev.importAllow]) !== JSON.stringify([next.importPools, next.importAllow]);
    this.cfg = next;
    this.rib.setOptions(this.ribOptions());
    this.policies = compileAll(next.policies);
    this.defaultImport = defaultImportPolicy(next);
    const nextByName = new Map(next.peers.map((p) => [p.name, p]));
    for (const [name, p] of [...this.peers]) {
      if (this.dynamic.has(name)) continue;
      const want = nextByName.get(name);
      if (!want) {
        p.stop('peer de-configured');
        p.dispose();
        this.peers.delete(name);
        continue;
      }
      const { importPolicy: _i1, exportPolicy: _e1, ...a } = p.cfg;
      const { importPolicy: _i2, exportPolicy: _e2, ...b } = want;
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        p.stop('configuration changed');
        p.dispose();
        this.peers.delete(name);
        const np = this.addPeer(want);
        np.start();
        continue;
      }
      const policyRefChanged = p.cfg.importPolicy !== want.importPolicy || p.cfg.exportPolicy !== want.exportPolicy;
      p.cfg = want;
      this.rib.updatePeer(p.ribId, p.ribInfo());
      if (policyRefChanged || policiesChanged) {
        this.rib.reimport(p.ribId);
        this.rib.reexport(p.ribId);
      }
    }
    for (const pc of next.peers) {
      if (this.peers.has(pc.name)) continue;
      this.addPeer(pc).start();
    }
    this.applyLocal();
  }

  // ------------------------------------------------------------------------------------------------
  // Desired state in, Loc-RIB out

  /** The node's own prefixes (pod CIDR blocks, service IPs): the whole set each time (MetalLB style). */
  setLocalPrefixes(prefixes: readonly string[]): void {
    for (const p of prefixes) parsePrefix(p);
    this.localPrefixes = [...prefixes];
    this.applyLocal();
  }

  private applyLocal(): void {
    const m = new Map<PrefixKey, Attrs>();
    for (const p of [...this.cfg.advertise, ...this.localPrefixes]) m.set(parsePrefix(p), { origin: 0, asPath: [], nextHop: '' });
    this.rib.setLocal(m);
  }

  /** Loc-RIB changes for the FIB, batched per event-loop turn; empty nextHops = remove. */
  onRoutes(cb: (changes: FibChange[]) => void): () => void {
    // Straight on the RIB: it builds the change objects only while someone listens for them (the
    // agent's FIB path takes the columnar batches, rib.onFibBatch).
    return this.rib.onFib(cb);
  }

  /** The whole learned table as desired state (for a reconciler's full resync). */
  desiredRoutes(): { prefix: string; family: 'ipv4' | 'ipv6'; nextHops: readonly NextHop[] }[] {
    const out: { prefix: string; family: 'ipv4' | 'ipv6'; nextHops: readonly NextHop[] }[] = [];
    this.rib.forEachLoc((k) => {
      const r = this.rib.lookup(k);
      if (r && !r.local) out.push({ prefix: formatKey(k), family: typeof k === 'number' ? 'ipv4' : 'ipv6', nextHops: r.nextHops });
    });
    return out;
  }

  // ------------------------------------------------------------------------------------------------
  // Introspection (plain data for uplinkctl)

  neighbors(): NeighborStatus[] {
    return [...this.peers.values()].map((p) => this.neighborStatus(p));
  }

  neighbor(name: string): NeighborStatus {
    return this.neighborStatus(this.peer(name));
  }

  private peer(name: string): PeerSession {
    const p = this.peers.get(name) ?? [...this.peers.values()].find((x) => x.cfg.address === name || x.cfg.interface === name);
    if (!p) throw new BgpError(BgpErrorCode.UnknownPeer, `no neighbor '${name}'`);
    return p;
  }

  private neighborStatus(p: PeerSession): NeighborStatus {
    const snap = p.fsm.snapshot();
    peerMetrics.prefixes(p, this.rib);
    return {
      name: p.name,
      address: p.remoteAddress,
      asn: p.cfg.asn,
      state: snap.state,
      dynamic: this.dynamic.has(p.name),
      uptimeS: snap.establishedAt ? Math.round((Date.now() - snap.establishedAt) / 1000) : null,
      holdTimeS: snap.negotiatedHoldS,
      keepaliveS: snap.keepaliveS,
      families: p.families,
      capabilities: {
        sent: p.localOpen ? openCapabilities(p.localOpen).map(capText) : [],
        received: p.remoteOpen ? openCapabilities(p.remoteOpen).map(capText) : [],
      },
      prefixes: this.rib.counts(p.ribId),
      counters: { ...p.counters },
      lastError: p.lastError,
      flaps: [...p.flaps],
      connectRetryCounter: snap.connectRetryCounter,
      idleHoldMs: snap.idleHoldMs,
    };
  }

  /** Loc-RIB with every path and why the best won; `prefix` limits it to one entry. */
  routes(prefix?: string): RouteView[] {
    const keys: PrefixKey[] = [];
    if (prefix) keys.push(parsePrefix(prefix));
    else this.rib.forEachLoc((k) => keys.push(k));
    return keys.map((k) => ({
      prefix: formatKey(k),
      paths: this.rib.paths(k).map((p) => ({
        peer: p.peer,
        pathId: p.pathId,
        nextHop: p.attrs.nextHop || p.attrs.nextHopLocal || '',
        asPath: asPathText(p.attrs.asPath),
        origin: p.attrs.origin,
        localPref: p.attrs.localPref ?? null,
        med: p.attrs.med ?? null,
        communities: (p.attrs.communities ?? []).map(communityToString),
        largeCommunities: (p.attrs.largeCommunities ?? []).map((c) => largeCommunityToString(c)),
        best: p.best,
        multipath: p.multipath,
        reason: p.reason,
      })),
    }));
  }

  ribIn(name: string, which: 'pre' | 'post' = 'post'): RibEntry[] {
    return this.adj(name, which === 'pre' ? 'in-pre' : 'in-post');
  }

  ribOut(name: string): RibEntry[] {
    return this.adj(name, 'out');
  }

  private adj(name: string, which: 'in-pre' | 'in-post' | 'out'): RibEntry[] {
    const out: RibEntry[] = [];
    this.rib.adjRib(this.peer(name).ribId, which, (k, a, pathId) =>
      out.push({ prefix: formatKey(k), pathId, nextHop: a.nextHop || a.nextHopLocal || '', asPath: asPathText(a.asPath), localPref: a.localPref ?? null, med: a.med ?? null }),
    );
    return out;
  }

  /** `hard`: drop and restart the session; `soft-in`: ask for the routes again; `soft-out`: resend ours. */
  resetNeighbor(name: string, kind: 'hard' | 'soft-in' | 'soft-out' = 'hard'): void {
    const p = this.peer(name);
    if (kind === 'hard') p.fsm.reset('reset by operator');
    else if (kind === 'soft-in') p.requestRefresh();
    else this.rib.reexport(p.ribId);
  }

  /** Raw UPDATE / ROUTE-REFRESH messages from one neighbour as received (explain's acceptance probe). */
  onMessageIn(name: string, listener: Parameters<PeerSession['onMessageIn']>[0]): () => void {
    return this.peer(name).onMessageIn(listener);
  }

  /**
   * BFD declared the forwarding path to this neighbour down (uplinkd's BFD manager calls this): an
   * Established session closes with Cease/BFD Down (RFC 9384) and its routes go at once; a session
   * that is not Established is left alone, so routes kept stale by graceful restart survive a
   * restarting peer's BFD going down with it (RFC 5882 §4.3.1). Returns whether a session was closed.
   */
  bfdDown(name: string): boolean {
    return this.peer(name).bfdDown();
  }

  /** Admin shutdown / enable of one neighbour (RFC 9003 message). */
  shutdownNeighbor(name: string, message: string): void {
    this.peer(name).stop(message);
  }

  enableNeighbor(name: string): void {
    this.peer(name).fsm.start();
  }
}

function compileAll(defs: Readonly<Record<string, PolicyDef>>): Map<string, CompiledPolicy> {
  return new Map(Object.entries(defs).map(([n, d]) => [n, compilePolicy(n, d)]));
}

/** Import only prefixes inside the configured pools, or the explicitly allowed ones (§ safe default). */
function defaultImportPolicy(cfg: BgpConfig): CompiledPolicy {
  return compilePolicy('default-import', {
    terms: [
      ...cfg.importPools.map((p) => ({ name: `pool ${p}`, match: { prefixList: [{ prefix: p, le: p.includes(':') ? 128 : 32 }] }, action: 'accept' as const })),
      ...cfg.importAllow.map((p) => ({ name: `allow ${p}`, match: { prefixList: [{ prefix: p }] }, action: 'accept' as const })),
    ],
    default: 'reject',
  });
}

/** A dual-stack (AF_INET6) listener matches IPv4 peers as v4-mapped addresses (RFC 4291 §2.5.5.2). */
function md5Address(addr: string, listenerFamily: 4 | 6): string {
  return listenerFamily === 6 && isIP(addr) === 4 ? `::ffff:${addr}` : addr;
}

function inRange(r: ListenRange, addr: string): boolean {
  if (!isIP(addr)) return false;
  try {
    const k = parsePrefix(`${addr}/${addr.includes(':') ? 128 : 32}`);
    return prefixContains(parsePrefix(r.prefix), k);
  } catch {
    return false;
  }
}

function capText(c: Capability): string {
  switch (c.kind) {
    case 'multiprotocol':
      return `multiprotocol ${c.afi}/${c.safi}`;
    case 'four-octet-as':
      return `four-octet-as ${c.asn}`;
    case 'graceful-restart':
      return `graceful-restart time=${c.restartTime}${c.restarting ? ' restarting' : ''} ${c.families.map((f) => `${f.afi}/${f.safi}${f.forwarding ? '+F' : ''}`).join(',')}`;
    case 'add-path':
      return `add-path ${c.families.map((f) => `${f.afi}/${f.safi}:${['', 'rx', 'tx', 'rx+tx'][f.mode] ?? f.mode}`).join(',')}`;
    case 'extended-next-hop':
      return `extended-next-hop ${c.families.map((f) => `${f.afi}/${f.safi}->${f.nextHopAfi}`).join(',')}`;
    case 'unknown':
      return `unknown ${c.code}`;
    default:
      return c.kind;
  }
}
