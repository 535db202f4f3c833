// The agent side of the uplink CNI plugin: a unix-socket server the shim forwards to. uplinkd hosts it
// (startCniServer); tests start it from cni/server/test-agent.ts.
//
// Concurrency: requests are handled concurrently; operations on one attachment (containerID+ifname)
// are serialised by a key lock in handlers.ts; IPAM is safe for concurrent allocate (its CAS loop).
import { EventEmitter } from 'node:events';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { logger } from '../../lib/log.js';
import { CniCode, CniError, asCniError } from '../errors.js';
import { type Attachment, AttachmentStore } from './attachments.js';
import { Command, SUPPORTED_VERSIONS, parseEnv, parseNetConf } from './config.js';
import { type Dataplane, IprouteDataplane } from './dataplane.js';
import { NetlinkDataplane } from './netlink-dataplane.js';
import { type HandlerContext, type TestHooks, cmdAdd, cmdCheck, cmdDel, cmdGc, cmdStatus, sweepOrphans } from './handlers.js';
import type { CniIpam } from './ipam-port.js';
import { cniMetrics } from './metrics.js';
import { MAX_REQUEST_BYTES, decodeRequest, encodeReply } from './protocol.js';
import { encodeResult } from './result.js';

export { AddStep, type TestHooks } from './handlers.js';
export type { Attachment } from './attachments.js';
export { hostIfName, HOST_IF_PREFIX } from './attachments.js';
export type { CniIpam, IpamAllocation, IpamPoolStatus } from './ipam-port.js';
export { attachmentHandle } from './ipam-port.js';
export { ipamPort, type IpamAdapterOptions } from './ipam-adapter.js';
export type { Dataplane } from './dataplane.js';
export { IprouteDataplane } from './dataplane.js';
export { NetlinkDataplane } from './netlink-dataplane.js';

export interface CniServerOptions {
  socketPath: string;
  ipam: CniIpam;
  nodeName: string;
  /** Directory for attachment records (survives agent restarts), e.g. /var/lib/uplink/cni. */
  stateDir: string;
  dataplane?: Dataplane;
  /** Period of the orphaned-veth sweep; 0 turns the timer off (a sweep still runs at start). Default 60 s. */
  sweepIntervalMs?: number;
  /** Sweep orphaned host veths before listening (after a crash). Default true. */
  sweepAtStart?: boolean;
  /** Turn on IPv4/IPv6 forwarding in the agent's netns at start. Default true. */
  enableForwarding?: boolean;
  /**
   * On close(): how long ADDs in flight may take to finish; after it, each stops at its next step and
   * is rolled back (the caller gets CNI error 11). Default 10 s.
   */
  shutdownGraceMs?: number;
  /** Test fixture only. */
  testHooks?: TestHooks;
}

/** After the grace, how long the rollbacks may take before close() gives up on them (logged). */
const ROLLBACK_LIMIT_MS = 15_000;

export interface CniServerEvents {
  attach: [Attachment];
  detach: [Attachment];
}

export interface CniServer extends EventEmitter<CniServerEvents> {
  readonly socketPath: string;
  /** Attachments currently recorded (what GC keeps and what the agent advertises). */
  attachments(): Attachment[];
  sweepOrphans(): Promise<number>;
  close(): Promise<void>;
}

export async function startCniServer(opts: CniServerOptions): Promise<CniServer> {
  const log = logger('cni');
  const events = new EventEmitter<CniServerEvents>();
  // The native netlink addon when it is built (no process per step), else iproute2.
  const dataplane = opts.dataplane ?? (NetlinkDataplane.available() ? new NetlinkDataplane() : new IprouteDataplane());
  const store = await AttachmentStore.open(opts.stateDir);
  const abandon = new AbortController();
  const graceMs = opts.shutdownGraceMs ?? 10_000;
  const shutdown = { closing: false, abandon: abandon.signal, graceMs };
  const ctx: HandlerContext = { ipam: opts.ipam, dataplane, store, events, log, inFlight: new Set(), shutdown };
  if (opts.testHooks) ctx.hooks = opts.testHooks;
  /** Requests being handled (until their reply is handed to the socket), for close(). */
  const requests = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  if (opts.enableForwarding !== false) await dataplane.enableForwarding();
  const updateGauge = (): void => cniMetrics.attachments.set(store.all().length);
  events.on('attach', updateGauge);
  events.on('detach', updateGauge);
  updateGauge();

  const handle = async (raw: Buffer): Promise<string> => {
    const started = process.hrtime.bigint();
    let command = 'UNKNOWN';
    let version: string = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1] as string;
    let exitCode = 0;
    let out = '';
    let result = '0';
    try {
      const req = decodeRequest(raw);
      try {
        const v = (JSON.parse(req.stdin) as { cniVersion?: unknown }).cniVersion;
        if (typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v)) version = v;
      } catch { /* parseNetConf reports it with code 6 */ }
      const env = parseEnv(req.env);
      command = env.command;
      if (env.command === Command.Version) {
        out = JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS });
      } else {
        const conf = parseNetConf(req.stdin, env.command);
        switch (env.command) {
          case Command.Add:
            out = JSON.stringify(encodeResult(await cmdAdd(ctx, env, conf), conf.cniVersion));
            break;
          case Command.Del:
            await cmdDel(ctx, env);
            break;
          case Command.Check:
            await cmdCheck(ctx, env, conf);
            break;
          case Command.Gc: {
            const r = await cmdGc(ctx, conf);
            log.info(r, 'GC done');
            break;
          }
          case Command.Status:
            await cmdStatus(ctx, conf);
            break;
        }
      }
    } catch (err) {
      const e = asCniError(err);
      if (!(err instanceof CniError)) log.error({ err, command }, 'CNI command failed unexpectedly');
      else log.warn({ code: e.cniCode, error: e.message, details: e.details, command }, 'CNI command failed');
      exitCode = 1;
      result = String(e.cniCode);
      out = JSON.stringify(e.toJSON(version));
    }
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    cniMetrics.duration.observe({ command, result }, secs);
    log.debug({ command, result, ms: secs * 1000 }, 'CNI command handled');
    cniMetrics.requests.inc({ command, result });
    return encodeReply(exitCode, out + '\n');
  };

  const onConnection = (sock: Socket): void => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const chunks: Buffer[] = [];
    let size = 0;
    sock.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_REQUEST_BYTES) {
        const e = new CniError(CniCode.DecodeFailure, 'request too large', `limit ${MAX_REQUEST_BYTES} bytes`);
        sock.end(encodeReply(1, JSON.stringify(e.toJSON('1.1.0')) + '\n'));
        return;
      }
      chunks.push(d);
    });
    sock.on('end', () => {
      const p = handle(Buffer.concat(chunks)).then((reply) => { if (!sock.destroyed) sock.end(reply); });
      requests.add(p);
      void p.finally(() => requests.delete(p));
    });
    sock.on('error', (err) => log.debug({ err }, 'shim connection error'));
  };

  await mkdir(dirname(opts.socketPath), { recursive: true });
  await rm(opts.socketPath, { force: true });
  const server: Server = createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => { server.off('error', reject); resolve(); });
  });
  await chmod(opts.socketPath, 0o600);

  const sweep = async (): Promise<number> => {
    try {
      return await sweepOrphans(ctx);
    } catch (err) {
      log.error({ err }, 'orphan sweep failed');
      return 0;
    }
  };
  if (opts.sweepAtStart !== false) await sweep();
  const interval = opts.sweepIntervalMs ?? 60_000;
  const timer = interval > 0 ? setInterval(() => void sweep(), interval) : undefined;
  timer?.unref();
  log.info({ socket: opts.socketPath, node: opts.nodeName, attachments: store.all().length, dataplane: dataplane.constructor.name }, 'CNI server listening');

  const api = Object.assign(events, {
    socketPath: opts.socketPath,
    attachments: () => store.all(),
    sweepOrphans: () => sweepOrphans(ctx),
    // Shutdown: stop accepting (a shim that connects now gets "agent down", CNI error 11, at once),
    // refuse ADDs not yet started, let those in flight finish within the grace, then abandon the rest:
    // each stops at its next step and is rolled back, and its caller gets error 11.
    close: async () => {
      if (timer) clearInterval(timer);
      shutdown.closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (requests.size && !(await settledWithin(requests, graceMs))) {
        log.warn({ inFlight: requests.size, graceMs }, 'shutdown grace over: rolling back the CNI commands still in flight');
        abandon.abort();
        if (!(await settledWithin(requests, ROLLBACK_LIMIT_MS))) {
          log.error({ inFlight: requests.size }, 'CNI commands still running after the rollback limit: closing anyway (the orphan sweep and IPAM GC clean up after the next start)');
        }
      }
      // Every reply has been handed to its socket: give the shims a moment to read it, then cut the rest.
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1000).unref())]);
      for (const s of sockets) s.destroy();
      await rm(opts.socketPath, { force: true });
    },
  });
  return api;
}

/** true when every promise of the (live) set settled within `ms`. */
async function settledWithin(set: ReadonlySet<Promise<void>>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => { timer = setTimeout(() => r(false), ms); });
  try {
    // Requests never reject (handle() turns every error into a reply), but a late one may join the set.
    while (set.size) {
      if ((await Promise.race([Promise.allSettled([...set]).then(() => true), timeout])) === false) return false;
    }
    return true;
  } finally {
    clearTimeout(timer);
  }
}
