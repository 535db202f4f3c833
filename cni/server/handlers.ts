// The five agent-side commands. ADD is a list of steps, each pushing its undo; any failure runs the
// undos in reverse, so a failed ADD leaves no veth, no route, no record and no address behind (the
// reference ptp plugin infers its cleanup from the error it caught and leaks the IP; we do not).
// DEL is idempotent (CNI SPEC "DEL": a missing netns, link or record is success), CHECK compares the
// kernel against our record and the runtime's prevResult, GC keeps only the runtime's valid
// attachments and sweeps host veths nobody owns.
import type { EventEmitter } from 'node:events';
import type { Logger } from '../../lib/log.js';
import { CniCode, CniError } from '../errors.js';
import {
  type Attachment, type AttachmentStore, HOST_IF_PREFIX, attachmentKey, hostIfName, macsFor,
} from './attachments.js';
import type { CniEnv, NetConf } from './config.js';
import { GATEWAY_V4, GATEWAY_V6, type Dataplane, type LinkPlan } from './dataplane.js';
import { attachmentHandle, type CniIpam, type IpamAllocation } from './ipam-port.js';
import { cniMetrics } from './metrics.js';
import { type CniResult, mergeResults, parseResult } from './result.js';

/** ADD's steps, in order; also the values the test fixture's failure injection accepts. */
export const AddStep = {
  Allocate: 'allocate',
  CreateVeth: 'create-veth',
  ConfigureContainer: 'configure-container',
  ConfigureHost: 'configure-host',
  HostRoutes: 'host-routes',
  Record: 'record',
} as const;
export type AddStep = (typeof AddStep)[keyof typeof AddStep];

/**
 * Test-only: set by the test fixture (cni/server/test-agent.ts) from UPLINK_TEST_* env; uplinkd honours
 * only `stallBefore`, from UPLINK_TEST_STALL_BEFORE (uplinkd/agent.ts), for the shutdown-rollback test.
 */
export interface TestHooks {
  /** Throw before this step runs. */
  failAt?: AddStep;
  /** Kill the agent right after this step ran (a crash mid-ADD). */
  crashAfter?: AddStep;
  /**
   * Wait `ms` before this step runs, and let nothing cut the wait short: a step that cannot finish
   * within the shutdown grace (a slow datastore, a kernel that takes its time), to force the rollback.
   */
  stallBefore?: { step: AddStep; ms: number };
}

export interface HandlerContext {
  ipam: CniIpam;
  dataplane: Dataplane;
  store: AttachmentStore;
  events: EventEmitter;
  log: Logger;
  /** Attachment keys with an ADD/DEL in progress: GC and the orphan sweep leave them alone. */
  inFlight: Set<string>;
  hooks?: TestHooks;
  /**
   * Shutdown (index.ts close()): `closing` refuses new ADDs; `abandon` fires when the shutdown grace is
   * over, and every ADD still in flight stops at its next step and is rolled back.
   */
  shutdown?: { closing: boolean; abandon: AbortSignal; graceMs: number };
}

/** An ADD refused or abandoned because the agent is stopping: 11, the runtime retries it later. */
function shuttingDown(env: CniEnv, graceMs: number, before?: AddStep, undone: AddStep[] = []): CniError {
  const what = `${env.containerId}/${env.ifname}`;
  if (before === undefined) {
    return new CniError(CniCode.TryAgainLater, `uplinkd is shutting down: ADD of ${what} not started`, 'retry the ADD once the agent is back');
  }
  return new CniError(CniCode.TryAgainLater,
    `uplinkd is shutting down: ADD of ${what} did not finish within the ${graceMs / 1000} s shutdown grace and was rolled back`,
    `stopped before step ${before}; undone: ${undone.length ? undone.join(', ') : 'nothing had been done'}; nothing of it is left (no interface, no address): retry the ADD once the agent is back`);
}

const POOL_CACHE_MS = 5000;
let poolCache: { at: number; names: Set<string>; ipam: CniIpam } | undefined;

async function knownPools(ipam: CniIpam): Promise<Set<string>> {
  if (poolCache && poolCache.ipam === ipam && Date.now() - poolCache.at < POOL_CACHE_MS) return poolCache.names;
  const names = new Set((await ipam.pools()).map((p) => p.name));
  poolCache = { at: Date.now(), names, ipam };
  return names;
}

async function checkPools(ctx: HandlerContext, conf: NetConf): Promise<void> {
  if (conf.pools.length === 0) return;
  let known = await knownPools(ctx.ipam);
  if (conf.pools.some((p) => !known.has(p))) {
    poolCache = undefined; // a pool created in the last few seconds
    known = await knownPools(ctx.ipam);
  }
  conf.pools.forEach((p, i) => {
    if (!known.has(p)) {
      throw new CniError(CniCode.InvalidConfig, `network config field "pools[${i}]" names unknown pool "${p}"`,
        `pools known to this node: ${[...known].join(', ') || '(none)'}`);
    }
  });
}

/** IPAM failures: datastore unreachable or busy is "try again later" (11), anything else is ours (101). */
function ipamError(err: unknown, what: string): CniError {
  if (err instanceof CniError) return err;
  const code = (err as { code?: unknown }).code;
  const causeCode = ((err as { cause?: { code?: unknown } }).cause ?? {}).code;
  const msg = err instanceof Error ? err.message : String(err);
  // ipam/index.ts: DatastoreError unavailable/timeout, directly or as the cause of IpamError `datastore`.
  const retryable = (c: unknown): boolean => c === 'unavailable' || c === 'timeout';
  if (retryable(code) || (code === 'datastore' && retryable(causeCode))) {
    return new CniError(CniCode.TryAgainLater, `IPAM datastore busy or unreachable during ${what}`, msg, { cause: err });
  }
  return new CniError(CniCode.IpamFailure, `IPAM ${what} failed: ${msg}`, '', { cause: err });
}

function planFor(env: CniEnv, conf: NetConf, alloc: IpamAllocation): LinkPlan {
  const { hostMac, ctrMac } = macsFor(env.containerId, env.ifname);
  const p: LinkPlan = { hostIf: hostIfName(env.containerId, env.ifname), hostMac, ctrIf: env.ifname, ctrMac, netns: env.netns, mtu: conf.mtu };
  if (alloc.ipv4) p.ipv4 = alloc.ipv4;
  if (alloc.ipv6) p.ipv6 = alloc.ipv6;
  return p;
}

function resultFor(p: LinkPlan, version: string): CniResult {
  const ips: CniResult['ips'] = [];
  const routes: CniResult['routes'] = [];
  if (p.ipv4) {
    ips.push({ address: `${p.ipv4}/32`, gateway: GATEWAY_V4, interface: 1 });
    routes.push({ dst: '0.0.0.0/0', gw: GATEWAY_V4 });
  }
  if (p.ipv6) {
    ips.push({ address: `${p.ipv6}/128`, gateway: GATEWAY_V6, interface: 1 });
    routes.push({ dst: '::/0', gw: GATEWAY_V6 });
  }
  return {
    cniVersion: version,
    interfaces: [{ name: p.hostIf, mac: p.hostMac }, { name: p.ctrIf, mac: p.ctrMac, sandbox: p.netns }],
    ips,
    routes,
    dns: {},
  };
}

/** Serialises operations on one attachment (ADD/DEL/CHECK of the same containerID+ifname). */
const keyLocks = new Map<string, Promise<unknown>>();
export async function withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = keyLocks.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => undefined);
  keyLocks.set(key, tail);
  try {
    return await run;
  } finally {
    if (keyLocks.get(key) === tail) keyLocks.delete(key);
  }
}

export async function cmdAdd(ctx: HandlerContext, env: CniEnv, conf: NetConf): Promise<CniResult> {
  const prev = conf.prevResult === undefined ? undefined : parseResult(conf.prevResult);
  await checkPools(ctx, conf).catch((err: unknown) => { throw ipamError(err, 'pool lookup'); });
  const key = attachmentKey(env.containerId, env.ifname);
  if (ctx.shutdown?.closing) throw shuttingDown(env, ctx.shutdown.graceMs);
  return withKeyLock(key, async () => {
    const existing = ctx.store.get(env.containerId, env.ifname);
    if (existing && existing.netns === env.netns) {
      // A repeated ADD (runtime retry after a lost reply): the same answer, nothing created twice.
      return prev ? mergeResults(prev, existing.result) : existing.result;
    }
    ctx.inFlight.add(key);
    const undo: Array<{ step: AddStep; fn: () => Promise<unknown> }> = [];
    const step = async <T>(name: AddStep, fn: () => Promise<T>, rollback?: () => Promise<unknown>): Promise<T> => {
      if (ctx.hooks?.failAt === name) throw new CniError(CniCode.DataplaneFailure, `injected failure before step ${name}`, 'test hook UPLINK_TEST_FAIL_AT');
      const stall = ctx.hooks?.stallBefore;
      if (stall?.step === name) {
        ctx.log.warn({ step: name, ms: stall.ms, key }, 'test hook: stalling before ADD step');
        await new Promise((r) => setTimeout(r, stall.ms));
      }
      // The shutdown grace is over: no further step; the catch below undoes what was done.
      if (ctx.shutdown?.abandon.aborted) throw shuttingDown(env, ctx.shutdown.graceMs, name, undo.map((u) => u.step));
      const t0 = performance.now();
      const v = await fn();
      ctx.log.debug({ step: name, ms: performance.now() - t0 }, 'ADD step done');
      if (rollback) undo.push({ step: name, fn: rollback });
      if (ctx.hooks?.crashAfter === name) process.kill(process.pid, 'SIGKILL');
      return v;
    };
    try {
      const handle = attachmentHandle(env.containerId, env.ifname);
      const attributes: Record<string, string> = { containerID: env.containerId, ifname: env.ifname, network: conf.name };
      const pod = env.args.get('K8S_POD_NAME');
      const ns = env.args.get('K8S_POD_NAMESPACE');
      if (pod) attributes.pod = pod;
      if (ns) attributes.namespace = ns;
      const alloc = await step(AddStep.Allocate,
        () => ctx.ipam.allocate({ handle, pools: conf.pools, attributes }).catch((err: unknown) => { throw ipamError(err, 'allocate'); }),
        () => ctx.ipam.release(handle));
      if (!alloc.ipv4 && !alloc.ipv6) throw new CniError(CniCode.IpamFailure, 'IPAM returned no address', `handle ${handle}`);
      const plan = planFor(env, conf, alloc);
      await step(AddStep.CreateVeth, async () => {
        try {
          await ctx.dataplane.createVeth(plan);
        } catch (err) {
          // A host veth left by a crashed ADD of this same attachment: its name is ours by hash.
          if (!/File exists/.test((err as CniError).details ?? '')) throw err;
          await ctx.dataplane.deleteVeth(plan.hostIf);
          await ctx.dataplane.createVeth(plan);
        }
      }, () => ctx.dataplane.deleteVeth(plan.hostIf));
      // The two ends are independent once the pair exists: configure them concurrently. Neither has an
      // undo of its own (deleting the veth undoes both); if one fails, the other is awaited before the
      // rollback so no step is still running while we undo.
      const ends = await Promise.allSettled([
        step(AddStep.ConfigureContainer, () => ctx.dataplane.configureContainer(plan)),
        step(AddStep.ConfigureHost, () => ctx.dataplane.configureHost(plan)),
      ]);
      for (const e of ends) if (e.status === 'rejected') throw e.reason;
      // Routes after the host end is up: an IPv4 route via a down device is refused (ENETDOWN).
      await step(AddStep.HostRoutes, () => ctx.dataplane.addHostRoutes(plan), () => ctx.dataplane.deleteHostRoutes(plan));
      const ours = resultFor(plan, conf.cniVersion);
      const record: Attachment = {
        containerId: env.containerId, ifname: env.ifname, netns: env.netns, hostIf: plan.hostIf,
        hostMac: plan.hostMac, ctrMac: plan.ctrMac, mtu: plan.mtu, network: conf.name, result: ours,
        createdAt: new Date().toISOString(),
      };
      if (plan.ipv4) record.ipv4 = plan.ipv4;
      if (plan.ipv6) record.ipv6 = plan.ipv6;
      if (pod) record.pod = pod;
      if (ns) record.namespace = ns;
      await step(AddStep.Record, () => ctx.store.put(record), () => ctx.store.remove(env.containerId, env.ifname));
      ctx.events.emit('attach', record);
      return prev ? mergeResults(prev, ours) : ours;
    } catch (err) {
      for (const u of undo.reverse()) {
        try {
          await u.fn();
        } catch (undoErr) {
          // Keep undoing: the orphan sweep and GC catch what a failed undo leaves.
          ctx.log.error({ err: undoErr, step: u.step, key }, 'ADD rollback step failed');
        }
      }
      cniMetrics.rollbacks.inc();
      throw err;
    } finally {
      ctx.inFlight.delete(key);
    }
  });
}

/** Removes everything of one attachment; each part that is already gone counts as done. */
async function teardown(ctx: HandlerContext, containerId: string, ifname: string): Promise<void> {
  const rec = ctx.store.get(containerId, ifname);
  await ctx.dataplane.deleteVeth(rec?.hostIf ?? hostIfName(containerId, ifname));
  await ctx.ipam.release(attachmentHandle(containerId, ifname)).catch((err: unknown) => { throw ipamError(err, 'release'); });
  if (rec) {
    await ctx.store.remove(containerId, ifname);
    ctx.events.emit('detach', rec);
  }
}

export async function cmdDel(ctx: HandlerContext, env: CniEnv): Promise<void> {
  const key = attachmentKey(env.containerId, env.ifname);
  await withKeyLock(key, async () => {
    ctx.inFlight.add(key);
    try {
      await teardown(ctx, env.containerId, env.ifname);
    } finally {
      ctx.inFlight.delete(key);
    }
  });
}

export async function cmdCheck(ctx: HandlerContext, env: CniEnv, conf: NetConf): Promise<void> {
  // CNI SPEC "CHECK": prevResult is required; the plugin verifies its part of it.
  if (conf.prevResult === undefined) {
    throw new CniError(CniCode.InvalidConfig, 'network config field "prevResult" is required for CHECK', 'the runtime passes the cached ADD result');
  }
  const prev = parseResult(conf.prevResult);
  const rec = ctx.store.get(env.containerId, env.ifname);
  if (!rec) throw new CniError(CniCode.CheckFailed, `no attachment recorded for ${env.containerId}/${env.ifname}`, 'the ADD did not complete or a DEL/GC removed it');
  const problems: string[] = [];
  const want = [rec.ipv4 && `${rec.ipv4}/32`, rec.ipv6 && `${rec.ipv6}/128`].filter((x): x is string => !!x);
  const prevIps = new Set((prev.ips ?? []).map((i) => i.address));
  for (const a of want) if (!prevIps.has(a)) problems.push(`prevResult lacks ${a}`);
  if (!(prev.interfaces ?? []).some((i) => i.name === rec.ifname && (i.mac === undefined || i.mac === rec.ctrMac))) {
    problems.push(`prevResult lacks interface ${rec.ifname} with mac ${rec.ctrMac}`);
  }
  const c = await ctx.dataplane.inspectContainer(env.netns, env.ifname);
  if (!c) {
    problems.push(`${env.ifname} missing in ${env.netns}`);
  } else {
    if (c.mac !== rec.ctrMac) problems.push(`${env.ifname} mac ${c.mac}, expected ${rec.ctrMac}`);
    if (c.mtu !== rec.mtu) problems.push(`${env.ifname} mtu ${c.mtu}, expected ${rec.mtu}`);
    if (!c.up) problems.push(`${env.ifname} is down`);
    for (const a of want) if (!c.addrs.includes(a)) problems.push(`${env.ifname} lacks address ${a}`);
    if (rec.ipv4 && !c.routes.some((r) => r.dst === 'default' && r.gateway === GATEWAY_V4)) problems.push(`no IPv4 default route via ${GATEWAY_V4}`);
    if (rec.ipv6 && !c.routes.some((r) => r.dst === 'default' && r.gateway === GATEWAY_V6)) problems.push(`no IPv6 default route via ${GATEWAY_V6}`);
  }
  const h = await ctx.dataplane.inspectHost(rec.hostIf);
  if (!h) {
    problems.push(`host veth ${rec.hostIf} missing`);
  } else {
    if (!h.up) problems.push(`host veth ${rec.hostIf} is down`);
    if (!h.addrs.includes(`${GATEWAY_V6}/64`)) problems.push(`host veth ${rec.hostIf} lacks ${GATEWAY_V6}/64`);
    for (const [addr, len] of [[rec.ipv4, 32], [rec.ipv6, 128]] as const) {
      if (!addr) continue;
      const r = h.routes.find((x) => x.dst === addr || x.dst === `${addr}/${len}`);
      if (!r) problems.push(`host route ${addr}/${len} via ${rec.hostIf} missing`);
      else if (r.protocol !== 'uplink' && r.protocol !== '77') problems.push(`host route ${addr}/${len} has protocol ${r.protocol}, expected uplink (77)`);
    }
  }
  if (problems.length) {
    throw new CniError(CniCode.CheckFailed, `attachment ${env.containerId}/${env.ifname} differs from what ADD created`, problems.join('; '));
  }
}

export async function cmdGc(ctx: HandlerContext, conf: NetConf): Promise<{ removed: number; released: number; orphans: number }> {
  const valid = new Set((conf.validAttachments ?? []).map((a) => attachmentKey(a.containerID, a.ifname)));
  let removed = 0;
  for (const a of ctx.store.all()) {
    const key = attachmentKey(a.containerId, a.ifname);
    // CNI SPEC "GC": only attachments of this network are ours to judge.
    if (a.network !== conf.name || valid.has(key) || ctx.inFlight.has(key)) continue;
    await withKeyLock(key, () => teardown(ctx, a.containerId, a.ifname));
    removed++;
  }
  const validHandles = new Set([...valid].map((k) => { const i = k.lastIndexOf('/'); return attachmentHandle(k.slice(0, i), k.slice(i + 1)); }));
  const inFlightHandles = new Set([...ctx.inFlight].map((k) => { const i = k.lastIndexOf('/'); return attachmentHandle(k.slice(0, i), k.slice(i + 1)); }));
  const recorded = new Set(ctx.store.all().map((a) => attachmentHandle(a.containerId, a.ifname)));
  let released = 0;
  const handles = await ctx.ipam.handles().catch((err: unknown) => { throw ipamError(err, 'handle list'); });
  for (const h of handles) {
    if (validHandles.has(h) || inFlightHandles.has(h) || recorded.has(h)) continue;
    await ctx.ipam.release(h).catch((err: unknown) => { throw ipamError(err, 'release'); });
    released++;
  }
  const orphans = await sweepOrphans(ctx);
  return { removed, released, orphans };
}

/** Host veths with our prefix that no record and no in-flight ADD owns: left by a crash mid-ADD. */
export async function sweepOrphans(ctx: HandlerContext): Promise<number> {
  const owned = new Set(ctx.store.all().map((a) => a.hostIf));
  for (const k of ctx.inFlight) {
    const i = k.lastIndexOf('/');
    owned.add(hostIfName(k.slice(0, i), k.slice(i + 1)));
  }
  let n = 0;
  for (const name of await ctx.dataplane.listHostLinks(HOST_IF_PREFIX)) {
    if (owned.has(name)) continue;
    if (await ctx.dataplane.deleteVeth(name)) {
      n++;
      cniMetrics.orphans.inc();
      ctx.log.warn({ hostIf: name }, 'removed orphaned host veth');
    }
  }
  return n;
}

export async function cmdStatus(ctx: HandlerContext, conf: NetConf): Promise<void> {
  let pools;
  try {
    pools = await ctx.ipam.pools();
  } catch (err) {
    throw new CniError(CniCode.PluginNotAvailable, 'IPAM datastore is not reachable: ADD would fail',
      err instanceof Error ? err.message : String(err), { cause: err });
  }
  const wanted = conf.pools.length ? pools.filter((p) => conf.pools.includes(p.name)) : pools;
  conf.pools.forEach((p, i) => {
    if (!pools.some((x) => x.name === p)) {
      throw new CniError(CniCode.InvalidConfig, `network config field "pools[${i}]" names unknown pool "${p}"`,
        `pools known to this node: ${pools.map((x) => x.name).join(', ') || '(none)'}`);
    }
  });
  if (wanted.length === 0) throw new CniError(CniCode.PluginNotAvailable, 'no IP pool is configured for this node', 'create a pool with uplinkctl');
  const empty = wanted.filter((p) => p.free <= 0);
  if (empty.length) {
    throw new CniError(CniCode.PluginNotAvailable, `pool(s) ${empty.map((p) => p.name).join(', ')} have no free addresses`,
      'ADD would fail; grow the pool or free addresses (uplinkctl ipam)');
  }
}
