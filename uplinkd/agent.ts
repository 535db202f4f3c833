// uplinkd: one process per node hosting every component. Ownership:
// - the datastore client and Ipam (this node's allocator) — shared by the CNI server and routing;
// - the CNI server (unix socket for the shim) — creates pod veths and host routes, records attachments;
// - the FIB reconciler — the only writer of routes with Uplink's protocol, guarded by a per-node lock;
//   its desired set is the union of sources: "blocks" (a blackhole per own block, so a released
//   address is never routed elsewhere), "pods" (a /32 and /128 per attachment), "rib" (BGP Loc-RIB);
// - the BGP speaker (bgpd/speaker.ts) advertising this node's blocks;
// - the control socket for uplinkctl, the metrics endpoint, and a status record in the datastore so
//   `uplinkctl status --all-nodes` can show every node from anywhere.
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import type { Server } from 'node:http';
import { logger } from '../lib/log.js';
import { enableDefaultMetrics } from '../lib/metrics.js';
import { Ipam, openDatastore, putPool, listPools, readSnapshot, showIpam, checkIpam, type Datastore, type Json, type Lease } from '../ipam/index.js';
import { startCniServer, attachmentHandle, AddStep, IprouteDataplane, type CniServer, type Attachment, type TestHooks } from '../cni/server/index.js';
import { ipamPort } from '../cni/server/ipam-adapter.js';
import { FibReconciler, LockFileElector, netlink, UPLINK_RT_PROTO, type LeaderElector, type Route } from '../routes/index.js';
import { DatastoreLeaseElector } from '../routes/leader-datastore.js';
import { ControlServer, ControlError } from './control-server.js';
import { startMetricsServer } from './metrics-server.js';
import { EventJournal } from './events.js';
import { explain } from './explain.js';
import { ExplainAsker, ExplainResponder } from './explain-broker.js';
import type { AgentConfig } from './config.js';
import { BgpBridge } from './bgp-bridge.js';
import { ClusterGc, registerNode, NODES_PREFIX, type NodeRecord } from './cluster-gc.js';
import { updatePoolGauges } from './pool-metrics.js';
import { DatastorePeerSource, TOR_RECORDS, bgpWithDatastorePeers, type BgpPeerResource, type TorResource } from './peers/index.js';
// The informers (and @kubernetes/client-node behind them, ~70 MiB RSS) load only in kubernetes mode.
import type { NodeInformer, PodInformer } from './kube/index.js';
import { applyNodeIdentity, type NodeIdentity } from './kube/node-identity.js';
import { removeNodeRecord } from './kube/node-records.js';
import { cniDel } from './kube/cni-detach.js';

const log = logger('agent');

export const AGENTS_PREFIX = 'agents/';

export interface AgentStatusRecord {
  node: string;
  pid: number;
  startedAt: string;
  updatedAt: string;
  /** The record is refreshed this often; three missed refreshes and it expires with its lease. */
  statusIntervalS: number;
  controlSocket: string;
  sessions: unknown[];
  prefixes: { advertised: number; received: number };
  fib: { desired: number; installed: number; stale: number; leader: boolean } | null;
  blocks: string[];
  attachments: number;
  /** Which of this node's own prefixes each peer's Adj-RIB-Out holds (for explain on other nodes). */
  exports: Array<{ peer: string; state: string; prefixes: string[] }>;
}

export class Agent {
  readonly journal = new EventJournal();
  private store: Datastore | undefined;
  private ipam: Ipam | undefined;
  private cni: CniServer | undefined;
  private reconciler: FibReconciler | undefined;
  private elector: LeaderElector | undefined;
  private bgp: BgpBridge | undefined;
  private gc: ClusterGc | undefined;
  private explainAsker: ExplainAsker | undefined;
  private explainResponder: ExplainResponder | undefined;
  private peerSource: DatastorePeerSource | undefined;
  private peerResources: BgpPeerResource[] = [];
  private torSource: DatastorePeerSource | undefined;
  private torRecords: TorResource[] = [];
  private recordLabels: Record<string, string> = {};
  private nodes: NodeInformer | undefined;
  private pods: PodInformer | undefined;
  private podGcTimer: NodeJS.Timeout | undefined;
  private nodeId: NodeIdentity | undefined;
  private readonly control = new ControlServer();
  private metrics: Server | undefined;
  private lease: Lease | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private blocks = new Set<string>();
  private readonly startedAt = new Date().toISOString();

  constructor(private cfg: AgentConfig) {}

  get config(): AgentConfig {
    return this.cfg;
  }

  async start(): Promise<void> {
    enableDefaultMetrics();
    mkdirSync(this.cfg.stateDir, { recursive: true });
    if (this.cfg.datastore.kind === 'embedded') mkdirSync(dirname(this.cfg.datastore.path), { recursive: true });
    this.store = await openDatastore(this.cfg.datastore);
    await this.ensurePools(this.store);
    this.ipam = new Ipam(this.store, { node: this.cfg.nodeName, nodeLabels: this.cfg.nodeLabels });
    await this.ipam.start();
    await registerNode(this.store, this.cfg.nodeName, this.cfg.nodeLabels);
    // The node record may carry labels the config does not (it is created once, by the first start):
    // its rack/zone place the node when neither the config nor the Node object does.
    this.recordLabels = (await this.store.get<NodeRecord>(`${NODES_PREFIX}${this.cfg.nodeName}`))?.value.labels ?? {};
    this.gc = new ClusterGc(this.store, this.ipam, this.cfg.nodeName, this.journal);
    this.gc.start();

    if (this.cfg.routes.enabled) {
      mkdirSync(dirname(this.cfg.routes.lockFile), { recursive: true });
      // One FIB writer per node: a flock on one host (embedded store, the lab); a datastore lease when
      // the agent's instances may not share a filesystem (etcd, Kubernetes).
      const identity = `${this.cfg.nodeName}/${process.pid}`;
      this.elector = this.cfg.datastore.kind === 'embedded'
        ? new LockFileElector(this.cfg.routes.lockFile, { identity })
        : new DatastoreLeaseElector(this.store, `leaders/fib/${this.cfg.nodeName}`, { identity });
      this.elector.on('elected', () => this.journal.add('leader', 'this agent is now the FIB writer'));
      this.elector.on('lost', (why) => this.journal.add('leader', `lost FIB leadership: ${why}`));
      this.elector.on('error', (err) => this.journal.add('error', `FIB leader election: ${err.message}`));
      this.reconciler = new FibReconciler({
        elector: this.elector,
        resyncIntervalMs: this.cfg.routes.resyncIntervalSeconds * 1000,
        staleTimeoutMs: this.cfg.routes.staleTimeoutSeconds * 1000,
        ...(this.cfg.netns ? { netns: this.cfg.netns } : {}),
      });
      this.reconciler.on('drift', (ev) => this.journal.add('fib', `route ${ev.route.dst} changed by someone else (${ev.action}): repairing`));
      this.reconciler.on('error', (err) => this.journal.add('error', `FIB: ${err.message}`));
      this.elector.start();
      await this.reconciler.start();
    }

    if (this.cfg.datastore.kind === 'kubernetes') await this.startKubernetes();
    // BGPPeer resources in the datastore (like Calico's) add to the peers of the config file.
    this.peerSource = new DatastorePeerSource(this.store, (r) => {
      this.peerResources = r;
      return this.bgp?.reconfigure(this.effective());
    });
    await this.peerSource.start();
    // ToR records (`tors/`, written from the topology model) give the node its rack's ToRs as peers
    // (peers/tor.ts). Without BGP there is nothing to give them to (enabling BGP needs a restart).
    if (this.cfg.bgp) {
      this.torSource = new DatastorePeerSource(this.store, (r) => {
        this.torRecords = r;
        return this.bgp?.reconfigure(this.effective());
      }, { kind: TOR_RECORDS });
      await this.torSource.start();
    }

    if (this.cfg.bgp) {
      const restarting = this.reconciler ? await keptForwardingState(this.cfg.netns) : false;
      if (restarting) this.journal.add('route', 'routes of the previous run are still in the kernel: restarting with forwarding state kept (graceful restart)');
      this.bgp = new BgpBridge(this.effective(), this.journal, (delta) => this.reconciler?.applyPrefixes('rib', delta), () => void this.reconciler?.markConverged(), undefined, restarting);
      // Our blocks go into the RIB before any session opens: after a restart the peers must receive
      // them before our End-of-RIB, or they would drop the stale copies (RFC 4724 §4.2) and traffic
      // to our pods would stop until the re-advertisement arrives.
      this.blocks = new Set(await this.ipam.blocksOf(this.cfg.nodeName));
      this.bgp.setLocalPrefixes([...this.blocks].sort());
      await this.reconciler?.setDesired('blocks', [...this.blocks].sort().map((c) => ({ dst: c, type: 'blackhole' })));
      await this.bgp.start();
    } else {
      // Without BGP there is no End-of-RIB to wait for: our own sources are complete at start.
      void this.reconciler?.markConverged();
    }

    if (this.cfg.cni.enabled) {
      this.cni = await startCniServer({
        socketPath: this.cfg.cni.socket,
        ipam: ipamPort(this.ipam, this.store, { node: this.cfg.nodeName, nodeLabels: this.cfg.nodeLabels }),
        nodeName: this.cfg.nodeName,
        stateDir: join(this.cfg.stateDir, 'attachments'),
        sweepIntervalMs: this.cfg.cni.sweepIntervalSeconds * 1000,
        shutdownGraceMs: (this.cfg.cni.shutdownGraceSeconds ?? 10) * 1000,
        ...stallHook(),
        // Host side in the node's namespace (config `netns`): iproute2 under nsenter, since the
        // netlink dataplane works in this process's own namespace.
        ...(this.cfg.netns ? { dataplane: new IprouteDataplane({ netns: this.cfg.netns }) } : {}),
      });
      const onChange = (verb: string) => (a: Attachment): void => {
        this.journal.add('cni', `${verb} ${a.containerId.slice(0, 12)}/${a.ifname} ${[a.ipv4, a.ipv6].filter(Boolean).join(' ')}`, { ...a });
        void this.syncPodRoutes();
      };
      this.cni.on('attach', onChange('attached'));
      this.cni.on('detach', onChange('detached'));
      await this.syncPodRoutes();
    }
    void this.followBlocks();

    this.registerControl();
    await this.startExplainBroker(this.store);
    await this.control.listen(this.cfg.control.socket);
    if (this.cfg.metrics.listen) this.metrics = await startMetricsServer(this.cfg.metrics.listen);
    await this.publishStatus();
    this.statusTimer = setInterval(() => void this.publishStatus(), this.cfg.control.statusIntervalSeconds * 1000);
    this.statusTimer.unref();
    log.info({ node: this.cfg.nodeName, control: this.cfg.control.socket, cni: this.cfg.cni.enabled ? this.cfg.cni.socket : null }, 'uplinkd started');
  }

  /**
   * Graceful stop: routes stay in the kernel and peers keep ours (graceful restart), the CNI server
   * finishes or rolls back ADDs in flight before it closes.
   */
  /**
   * The config as running: file, plus the Node's ASN/router-ID annotations and labels, plus BGPPeers,
   * plus the sessions to the ToRs of the node's rack (ToR records); the file wins, then BGPPeer.
   */
  private effective(cfg = this.cfg): AgentConfig {
    const { bgp, nodeLabels } = applyNodeIdentity(cfg.bgp, cfg.nodeLabels, this.nodeId);
    return { ...cfg, nodeLabels, bgp: bgp && bgpWithDatastorePeers(bgp, this.peerResources, cfg.nodeName, nodeLabels, this.torRecords, this.recordLabels) };
  }

  /** Node and Pod informers: identity from the Node object, Node deletion = removal, pod-list GC. */
  private async startKubernetes(): Promise<void> {
    const { kubeConfigFrom, NodeInformer, PodInformer, PodGc } = await import('./kube/index.js');
    const ds = this.cfg.datastore as { kubeconfig?: string };
    const kc = kubeConfigFrom(ds.kubeconfig ? { kubeconfig: ds.kubeconfig } : {});
    this.nodes = new NodeInformer(kc, this.cfg.nodeName, {
      self: (id) => {
        this.nodeId = id;
        void this.bgp?.reconfigure(this.effective());
      },
      nodeDeleted: (n) => void removeNodeRecord(this.store!, n).then((gone) => gone && this.journal.add('ipam', `Node ${n} was deleted in the API server: its blocks will be reclaimed`)),
    });
    await this.nodes.start();
    this.pods = new PodInformer(kc, this.cfg.nodeName);
    await this.pods.start();
    const k = this.cfg.kubernetes ?? { podGcIntervalSeconds: 30, podGcGraceSeconds: 120 };
    const ipam = this.ipam!;
    // A gone pod's attachment (veth, /32 route) is torn down before its address is freed, so the address
    // is never routed to the old sandbox once it can be handed out again (kube/cni-detach.ts).
    const release = async (handle: string): Promise<string[]> => {
      const a = this.cni?.attachments().find((x) => attachmentHandle(x.containerId, x.ifname) === handle);
      if (a && this.cni) {
        await cniDel(this.cni.socketPath, a);
        this.journal.add('cni', `pod GC detached ${a.containerId.slice(0, 12)}/${a.ifname}: pod ${a.namespace ?? '?'}/${a.pod ?? '?'} is gone from the API server`);
      }
      const freed = await ipam.release(handle);
      // The DEL already freed the address (the CNI server releases what it attached): report it anyway.
      return freed.length || !a ? freed : [a.ipv4, a.ipv6].filter((x): x is string => !!x);
    };
    const podGc = new PodGc({ store: ipam.store, release }, this.pods, { node: this.cfg.nodeName, graceMs: k.podGcGraceSeconds * 1000 });
    const runGc = (): Promise<void> => podGc.run().then(
      (r) => { if (r.released.length) this.journal.add('ipam', `pod GC released ${r.released.join(', ')} (${r.addresses.join(' ')}): their pods are gone from the API server`); },
      (err: unknown) => log.warn({ err }, 'pod GC'),
    );
    this.podGcTimer = setInterval(() => void runGc(), k.podGcIntervalSeconds * 1000);
    this.podGcTimer.unref();
  }

  /** Set by main: a `POST /shutdown` asks the process to stop (and exit). */
  onShutdownRequest: ((withdraw: boolean) => void) | undefined;
  /** A decommission was asked for: any stop from now on (even a SIGTERM racing it) withdraws. */
  private decommissioning = false;

  /**
   * `withdraw`: a decommission, not a restart — the sessions close with a Cease NOTIFICATION (RFC
   * 9003 message) so peers withdraw our routes at once instead of keeping them for the graceful-
   * restart time.
   */
  async stop(opts: { withdraw?: boolean } = {}): Promise<void> {
    const withdraw = opts.withdraw === true || this.decommissioning;
    this.abort.abort();
    if (this.podGcTimer) clearInterval(this.podGcTimer);
    await this.peerSource?.stop();
    await this.torSource?.stop();
    await this.nodes?.stop();
    await this.pods?.stop();
    if (this.statusTimer) clearInterval(this.statusTimer);
    await this.control.close();
    await this.cni?.close();
    await this.gc?.stop();
    this.explainResponder?.stop();
    // The reconciler stops first: closing the sessions withdraws the learned routes from the RIB, and
    // a running reconciler would delete them from the kernel — exactly what graceful restart must avoid.
    await this.reconciler?.stop();
    await this.bgp?.stop(withdraw ? { message: 'node decommissioned' } : { graceful: true });
    await this.elector?.stop();
    this.metrics?.close();
    await this.lease?.revoke().catch(() => undefined);
    await this.store?.close();
    log.info('uplinkd stopped (routes left in place for graceful restart)');
  }

  async reload(next: AgentConfig): Promise<string[]> {
    const changed: string[] = [];
    if (JSON.stringify(next.bgp) !== JSON.stringify(this.cfg.bgp)) {
      if (this.bgp && next.bgp) await this.bgp.reconfigure(this.effective(next));
      changed.push('bgp');
    } else if (JSON.stringify(next.nodeLabels) !== JSON.stringify(this.cfg.nodeLabels)) {
      // The labels choose BGPPeer resources and the rack's ToRs: the peers may change with them.
      if (this.bgp && next.bgp) await this.bgp.reconfigure(this.effective(next));
    }
    if (JSON.stringify(next.nodeLabels) !== JSON.stringify(this.cfg.nodeLabels)) changed.push('nodeLabels (peers re-selected; IP pool selection needs a restart)');
    for (const k of ['netns', 'datastore', 'cni', 'routes', 'control', 'metrics', 'kubernetes'] as const) {
      if (JSON.stringify(next[k]) !== JSON.stringify(this.cfg[k])) changed.push(`${k} (needs a restart)`);
    }
    // explain.* is read per request: it takes effect at once.
    if (JSON.stringify(next.explain) !== JSON.stringify(this.cfg.explain)) changed.push('explain');
    if (JSON.stringify(next.pools) !== JSON.stringify(this.cfg.pools) && this.store) {
      await this.ensurePools(this.store, next);
      changed.push('pools');
    }
    this.cfg = { ...next, netns: this.cfg.netns, datastore: this.cfg.datastore, cni: this.cfg.cni, routes: this.cfg.routes, control: this.cfg.control, metrics: this.cfg.metrics };
    this.journal.add('session', `configuration reloaded: ${changed.length ? changed.join(', ') : 'no changes'}`);
    return changed;
  }

  private async ensurePools(store: Datastore, cfg = this.cfg): Promise<void> {
    const existing = new Set((await listPools(store)).map((p) => p.name));
    for (const p of cfg.pools) if (!existing.has(p.name)) await putPool(store, p);
  }

  /** Pod host routes are owned by the reconciler too, so drift repair restores a deleted one. */
  private async syncPodRoutes(): Promise<void> {
    if (!this.reconciler || !this.cni) return;
    const routes: Route[] = [];
    for (const a of this.cni.attachments()) {
      if (a.ipv4) routes.push({ dst: `${a.ipv4}/32`, nexthops: [{ dev: a.hostIf }], scope: 'link' });
      if (a.ipv6) routes.push({ dst: `${a.ipv6}/128`, nexthops: [{ dev: a.hostIf }] });
    }
    await this.reconciler.setDesired('pods', routes);
  }

  /** Own blocks: advertised by BGP and blackholed locally (the pod /32s are more specific). */
  private async followBlocks(): Promise<void> {
    const ipam = this.ipam!;
    try {
      for await (const ev of ipam.watchAffinities(this.cfg.nodeName, this.abort.signal)) {
        if (ev.type === 'add') this.blocks.add(ev.cidr);
        else this.blocks.delete(ev.cidr);
        this.journal.add('ipam', `block ${ev.cidr} ${ev.type === 'add' ? 'claimed' : 'released'}`);
        const cidrs = [...this.blocks].sort();
        await this.reconciler?.setDesired('blocks', cidrs.map((c) => ({ dst: c, type: 'blackhole' })));
        this.bgp?.setLocalPrefixes(cidrs);
      }
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.journal.add('error', `block watch failed: ${(err as Error).message}; retrying in 1 s`);
      setTimeout(() => void this.followBlocks(), 1000).unref();
    }
  }

  statusRecord(): AgentStatusRecord {
    return {
      node: this.cfg.nodeName,
      pid: process.pid,
      startedAt: this.startedAt,
      updatedAt: new Date().toISOString(),
      statusIntervalS: this.cfg.control.statusIntervalSeconds,
      controlSocket: this.cfg.control.socket,
      sessions: this.bgp?.neighborsSummary() ?? [],
      prefixes: this.bgp?.prefixCounts() ?? { advertised: 0, received: 0 },
      fib: this.reconciler ? this.reconciler.status() : null,
      blocks: [...this.blocks].sort(),
      attachments: this.cni?.attachments().length ?? 0,
      exports: this.bgp?.exportsOf(this.blocks) ?? [],
    };
  }

  /** The status record lives under a lease: a dead agent's record disappears by itself. */
  private async publishStatus(): Promise<void> {
    const store = this.store;
    if (!store) return;
    await updatePoolGauges(store).catch((err: unknown) => log.warn({ err }, 'pool metrics'));
    const key = `${AGENTS_PREFIX}${this.cfg.nodeName}`;
    try {
      if (!this.lease) this.lease = await store.grantLease(3 * this.cfg.control.statusIntervalSeconds);
      else await this.lease.keepAlive();
      const rec = this.statusRecord();
      const cur = await store.get(key);
      if (cur) await store.compareAndSwap(key, cur.revision, rec as never);
      else await store.create(key, rec as never, { lease: this.lease.id });
    } catch (err) {
      this.lease = undefined;
      log.warn({ err }, 'could not publish status to the datastore');
    }
  }

  private registerControl(): void {
    const c = this.control;
    c.handle('GET', '/status', async () => ({
      ...this.statusRecord(),
      leader: this.elector?.isLeader ?? false,
      gcLeader: this.gc?.isLeader ?? false,
      ipam: this.store ? showIpam(await readSnapshot(this.store)) : null,
      recentErrors: this.journal.recent((e) => e.kind === 'error', 10),
    }));
    c.handle('GET', '/ipam', async () => showIpam(await readSnapshot(this.requireStore())));
    c.handle('GET', '/ipam/check', async () => {
      const store = this.requireStore();
      const snap = await readSnapshot(store);
      const agents = (await store.list(AGENTS_PREFIX)).items.map((i) => i.key.slice(AGENTS_PREFIX.length));
      return checkIpam(snap, { nodes: agents });
    });
    c.handle('POST', '/node/remove', async (req) => {
      const node = (req.body as { node?: unknown } | undefined)?.node;
      if (typeof node !== 'string' || !node) throw new ControlError('bad-request', 'body must be {"node": NAME}');
      const store = this.requireStore();
      const cur = await store.get(`${NODES_PREFIX}${node}`);
      if (!cur) throw new ControlError('not-found', `node ${node} is not registered`, 404);
      await store.delete(cur.key, cur.revision);
      this.journal.add('ipam', `node ${node} removed from the cluster: the GC leader will reclaim its blocks`);
      return { removed: node, gcLeader: this.gc?.isLeader ?? false };
    });
    c.handle('GET', '/explain', async (req) => {
      const target = req.query.get('target');
      if (!target) throw new ControlError('bad-request', 'missing ?target=POD|IP');
      await this.publishStatus();
      return explain(target, { ...this.explainDeps(req.query.get('refresh') === '0'), asker: this.explainAsker });
    });
    c.handle('GET', '/attachments', () => this.cni?.attachments() ?? []);
    c.handle('GET', '/fib', () => this.reconciler?.status() ?? null);
    c.handle('GET', '/events', (req) => this.journal.recent(undefined, Number(req.query.get('limit') ?? 50)));
    c.stream('/watch', (_req, send) => {
      const on = (e: unknown): void => send(e);
      this.journal.on('event', on);
      return () => this.journal.off('event', on);
    });
    c.handle('POST', '/shutdown', (req) => {
      const withdraw = (req.body as { withdraw?: unknown } | undefined)?.withdraw === true;
      if (!this.onShutdownRequest) throw new ControlError('unavailable', 'this agent cannot be stopped over the control socket', 503);
      if (withdraw) this.decommissioning = true;
      this.journal.add('session', withdraw ? 'decommission requested: closing sessions with a NOTIFICATION' : 'shutdown requested (graceful restart)');
      // Answer first; the stop closes this socket.
      setTimeout(() => this.onShutdownRequest?.(withdraw), 50).unref();
      return { stopping: true, withdraw };
    });
    c.handle('POST', '/reload', async () => {
      if (!this.cfg.file) throw new ControlError('bad-request', 'the agent was not started from a config file');
      const { loadAgentConfig } = await import('./config.js');
      return { changed: await this.reload(loadAgentConfig(this.cfg.file)) };
    });
    this.bgp?.registerControl(c);
  }

  /**
   * Other nodes' explain asks this one for its half through the datastore (explain-broker.ts). It
   * answers without an asker, so a question is never relayed a second time.
   */
  private async startExplainBroker(store: Datastore): Promise<void> {
    this.explainAsker = new ExplainAsker(store, this.cfg.nodeName);
    this.explainResponder = new ExplainResponder(store, this.cfg.nodeName, async (req) => {
      await this.publishStatus();
      return explain(req.target, this.explainDeps(req.noRefresh)) as unknown as Promise<Json>;
    });
    await this.explainResponder.start();
  }

  private explainDeps(noRefresh: boolean): Parameters<typeof explain>[1] {
    const e = this.cfg.explain ?? { routeRefresh: true, refreshCacheSeconds: 30, ownerTimeoutSeconds: 12 };
    const off = noRefresh ? '--no-refresh' : e.routeRefresh ? undefined : 'explain.routeRefresh is false in the agent config';
    return {
      node: this.cfg.nodeName, store: this.requireStore(), bgp: this.bgp, cni: this.cni,
      refreshCacheMs: e.refreshCacheSeconds * 1000, ownerTimeoutMs: e.ownerTimeoutSeconds * 1000, ...(off ? { noRefresh: off } : {}),
      ...(this.cfg.netns ? { netns: this.cfg.netns } : {}),
    };
  }

  private requireStore(): Datastore {
    if (!this.store) throw new ControlError('unavailable', 'the datastore is not open yet', 503);
    return this.store;
  }
}

/**
 * RFC 4724 §3 F bit: forwarding state survived our restart when the kernel still routes via next hops
 * we installed (proto uplink with a gateway); pod routes and our blocks' blackholes do not count.
 */
async function keptForwardingState(netns?: string): Promise<boolean> {
  try {
    const kept = await netlink(netns).dumpRoutes({ protocol: UPLINK_RT_PROTO });
    return kept.some((r) => r.nexthops.some((n) => n.gateway !== undefined || n.via !== undefined));
  } catch {
    return false;
  }
}

/**
 * TEST HOOK, the only one uplinkd honours: UPLINK_TEST_STALL_BEFORE=<ADD step>:<ms> makes every CNI ADD
 * wait that long before that step (cni/server/handlers.ts TestHooks.stallBefore), so a test can send
 * SIGTERM while an ADD cannot finish within the shutdown grace and see it rolled back
 * (test/e2e/agents.test.ts). Unset in production; a malformed value is an error at start.
 */
function stallHook(): { testHooks?: TestHooks } {
  const v = process.env.UPLINK_TEST_STALL_BEFORE;
  if (!v) return {};
  const [step, ms] = v.split(':');
  if (!(Object.values(AddStep) as string[]).includes(step ?? '') || !/^\d+$/.test(ms ?? '')) {
    throw new Error(`UPLINK_TEST_STALL_BEFORE=${v}: expected <step>:<ms>, step one of ${Object.values(AddStep).join(', ')}`);
  }
  log.warn({ step, ms: Number(ms) }, 'TEST HOOK UPLINK_TEST_STALL_BEFORE is set: every CNI ADD stalls before this step');
  return { testHooks: { stallBefore: { step: step as AddStep, ms: Number(ms) } } };
}
