// One rtnetlink socket per network namespace. Requests on a handle are serialized (one transaction in
// flight per socket, so sequence numbers and acks never interleave); the blocking sendmsg/recv happens
// on the libuv thread pool in the addon, so the event loop is never blocked by a batch.
import { closeSync, openSync } from 'node:fs';
import { RTM } from './constants.js';
import { ERRNO, NetlinkError, NetlinkErrorCode, errnoName } from './errors.js';
import { decodeAddr, decodeLink, encodeAddr, encodeDelLink, encodeGetAddr, encodeGetLink, encodeNeigh, encodeNeighProxy, encodeSetLink, encodeVeth } from './link-codec.js';
import { fromNative, native } from './native.js';
import { decodeRoute, encodeRoute, encodeRouteDump } from './route-codec.js';
import { RouteWatcher } from './watcher.js';
import { NlWriter, messages, type NlMessage } from './wire.js';
import type {
  Address,
  AddressSpec,
  BatchFailure,
  BatchResult,
  DumpFilter,
  KernelRoute,
  Link,
  LinkChange,
  Route,
  RouteOp,
  VethSpec,
} from './types.js';

/** Receive buffer for the request socket: room for the acks of a whole chunk plus dump bursts. */
const RCVBUF = 8 * 1024 * 1024;
const DUMP_RETRIES = 5;
/** Routes per encode slice (~500 KiB of requests). */
const SLICE = 8192;
const noEncode = (): boolean => false;
/** Transactions queued in the addon at once (one running, one waiting for it on a pool thread). */
const TX_AHEAD = 2;

export class NetlinkHandle {
  private fd: number;
  private seq = 1;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** serial() operations not yet finished: transactions queue behind them. */
  private serialPending = 0;
  /** Transactions handed to the addon and not yet finished, and those waiting for room. */
  private txAhead = 0;
  private readonly txWaiting: Array<() => void> = [];
  private txDelivered: Promise<unknown> = Promise.resolve();
  /** Large encode buffers whose requests the addon has copied (see callTransact). */
  private readonly bufPool: Buffer[] = [];

  /**
   * Use `netlink(path)`: one handle (one socket) per namespace. `dryRun`: no socket; route batches are
   * encoded in full and acked as if the kernel took them, anything else fails (the FIB warm-up:
   * reconciler.ts `dryRun`).
   */
  constructor(
    readonly netns: string | undefined,
    private readonly opts: { readonly dryRun?: boolean } = {},
  ) {
    if (opts.dryRun) {
      this.fd = -1;
      return;
    }
    try {
      this.fd = native().nlOpen(netns ?? null, 0, RCVBUF);
    } catch (err) {
      throw fromNative(`open netlink socket${netns ? ` in ${netns}` : ''}`, err);
    }
  }

  private nextSeq(count: number): number {
    if (this.seq + count >= 0xffff_fff0) this.seq = 1;
    const s = this.seq;
    this.seq += count;
    return s;
  }

  /** Serializes `fn` after every earlier request on this socket. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    this.serialPending++;
    const run = this.tail.then(() => {
      if (this.closed) throw new NetlinkError(NetlinkErrorCode.Closed, 'netlink request', { detail: 'handle closed' });
      return fn();
    });
    this.tail = run.then(
      () => void this.serialPending--,
      () => void this.serialPending--,
    );
    return run;
  }

  /**
   * Sends the messages in `w` (seqs firstSeq..) and returns failures by message index.
   *
   * Transactions go to the addon as soon as they are made, up to TX_AHEAD at once: it runs them on the
   * socket one after the other in call order (native/netlink/netlink.cc Lane), so the kernel starts
   * on the next chunk the moment the previous one is acked, not when the event loop gets to it. Behind
   * a dump or request still queued here they wait their turn as before.
   */
  private transact(operation: string, w: NlWriter, firstSeq: number): Promise<BatchFailure[]> {
    if (this.serialPending > 0) return this.serial(() => this.callTransact(operation, w, firstSeq));
    if (this.closed) return Promise.reject(new NetlinkError(NetlinkErrorCode.Closed, 'netlink request', { detail: 'handle closed' }));
    const run = new Promise<BatchFailure[]>((resolve, reject) => {
      const go = (): void => {
        this.txAhead++;
        // Results are handed out in call order too: the addon's completions can reach the event loop
        // out of order (a pool thread descheduled right after its transaction).
        const prev = this.txDelivered;
        const result = this.callTransact(operation, w, firstSeq);
        const delivered = prev.then(() => result);
        this.txDelivered = delivered.catch(() => undefined);
        void delivered
          .then(resolve, reject)
          .finally(() => {
            this.txAhead--;
            // Issued synchronously here, so the addon sees them in call order.
            this.txWaiting.shift()?.();
          });
      };
      if (this.txAhead < TX_AHEAD && this.txWaiting.length === 0) go();
      else this.txWaiting.push(go);
    });
    // Later dumps, requests and close() wait for it.
    const prev = this.tail;
    this.tail = run.then(
      () => prev,
      () => prev,
    );
    return run;
  }

  private async callTransact(operation: string, w: NlWriter, firstSeq: number): Promise<BatchFailure[]> {
    if (this.opts.dryRun) {
      w.finish();
      if (operation !== 'route batch') throw new NetlinkError(NetlinkErrorCode.Closed, operation, { detail: 'dry-run handle' });
      return [];
    }
    let raw;
    try {
      const p = native().nlTransact(this.fd, w.finish(), w.count, firstSeq);
      // The addon copied the request when queuing it: the buffer can take the next slice. A table
      // load is ~60 slices of ~800 KB; a new buffer each was ~50 MB of garbage until the next GC.
      if (w.buffer.length >= 65536 && this.bufPool.length < 4) this.bufPool.push(w.buffer);
      raw = await p;
    } catch (err) {
      throw fromNative(operation, err);
    }
    return raw.map(([index, errno, message]) => {
      const f: BatchFailure = { index, errno, errnoName: errnoName(errno) };
      if (message) f.message = message;
      return f;
    });
  }

  /** One request that must succeed; throws a NetlinkError with the kernel's reason otherwise. */
  private async request(operation: string, build: (w: NlWriter, seq: number) => void, okErrnos: number[] = []): Promise<void> {
    const w = new NlWriter(512);
    const seq = this.nextSeq(1);
    build(w, seq);
    const [f] = await this.transact(operation, w, seq);
    if (f && !okErrnos.includes(f.errno)) {
      throw new NetlinkError(NetlinkErrorCode.Kernel, operation, { errno: f.errno, extack: f.message });
    }
  }

  /** A dump, retried when the kernel marks it interrupted (NLM_F_DUMP_INTR: the table changed mid-dump). */
  private async dump(operation: string, build: (w: NlWriter, seq: number) => void): Promise<NlMessage[]> {
    return [...messages(await this.dumpRaw(operation, build))];
  }

  /** A dump's messages as the kernel sent them (one buffer), for callers that walk them once. */
  private dumpRaw(operation: string, build: (w: NlWriter, seq: number) => void): Promise<Buffer> {
    return this.serial(async () => {
      for (let attempt = 0; attempt < DUMP_RETRIES; attempt++) {
        const w = new NlWriter(64);
        const seq = this.nextSeq(1);
        build(w, seq);
        let res;
        try {
          if (this.opts.dryRun) throw new NetlinkError(NetlinkErrorCode.Closed, operation, { detail: 'dry-run handle' });
          res = await native().nlDump(this.fd, w.finish(), seq);
        } catch (err) {
          const e = err as { errno?: number; syscall?: string };
          if (e.syscall === 'dump' && e.errno) throw new NetlinkError(NetlinkErrorCode.Kernel, operation, { errno: e.errno, cause: err });
          throw fromNative(operation, err);
        }
        if (!res.interrupted) return res.data;
      }
      throw new NetlinkError(NetlinkErrorCode.DumpInterrupted, operation, { detail: `still interrupted after ${DUMP_RETRIES} attempts` });
    });
  }

  // ---- routes ----

  /**
   * Applies many route operations in as few sendmsg calls as fit (each message acked; a failure is
   * reported by its index in `ops`, the rest still apply). With `missingOk` (default true) deleting a
   * route that is already gone counts as done.
   */
  async applyRoutes(ops: RouteOp[], opts: { missingOk?: boolean } = {}): Promise<BatchResult> {
    let devs: Map<string, number> | undefined;
    if (ops.some((o) => o.route.nexthops?.some((n) => typeof n.dev === 'string'))) {
      devs = new Map((await this.listLinks()).map((l) => [l.name, l.index]));
    }
    const resolve = (d: string | number): number => {
      if (typeof d === 'number') return d;
      const i = devs?.get(d);
      if (i === undefined) throw new NetlinkError(NetlinkErrorCode.Invalid, 'resolve device', { errno: ERRNO.ENODEV, detail: d });
      return i;
    };
    const list = ops;
    return this.applyEncoded(
      ops.length,
      (w, i, seq) => {
        const o = list[i]!;
        encodeRoute(w, o.op, o.route, seq, resolve);
        return o.op === 'delete';
      },
      opts,
    );
  }

  /**
   * applyRoutes for a caller that encodes each op itself (no Route object per op):
   * `encode(w, i, seq)` appends op i's request with sequence number `seq` (e.g. with route-codec.ts
   * encodeRouteTo) and returns whether it is a delete; a throw fails op i alone.
   */
  async applyEncoded(n: number, encode: (w: NlWriter, i: number, seq: number) => boolean, opts: { missingOk?: boolean } = {}): Promise<BatchResult> {
    const missingOk = opts.missingOk ?? true;
    const failures: BatchFailure[] = [];
    // Encode in slices and queue each slice as soon as it is encoded: the kernel works through slice k
    // on the thread pool while the event loop encodes slice k+1.
    const pending: Array<Promise<void>> = [];
    for (let base = 0; base < n; base += SLICE) {
      const end = Math.min(n, base + SLICE);
      const w = new NlWriter((end - base) * 96, this.bufPool.pop());
      const firstSeq = this.nextSeq(end - base);
      // Op index and kind per encoded message (a failed encode leaves no message).
      const opIndex = new Int32Array(end - base);
      const deletes = new Uint8Array(end - base);
      let encoded = 0;
      for (let i = base; i < end; i++) {
        const mark = w.length;
        try {
          const del = encode(w, i, firstSeq + encoded);
          opIndex[encoded] = i;
          deletes[encoded++] = del ? 1 : 0;
        } catch (err) {
          w.truncate(mark);
          const e = err as NetlinkError;
          const errno = e.errno || ERRNO.EINVAL;
          failures.push({ index: i, errno, errnoName: errnoName(errno), message: e.message });
        }
      }
      if (encoded === 0) continue;
      pending.push(
        this.transact('route batch', w, firstSeq).then((fs) => {
          for (const f of fs) {
            const index = f.index < encoded ? opIndex[f.index]! : -1;
            if (missingOk && deletes[f.index] === 1 && (f.errno === ERRNO.ESRCH || f.errno === ERRNO.ENOENT)) continue;
            failures.push({ ...f, index });
          }
        }),
      );
      // Let the previous slice's completion run before encoding more.
      if (pending.length > 1) await new Promise<void>((r) => setImmediate(r));
    }
    // Everything is encoded: the caller's objects may go while the kernel works.
    encode = noEncode;
    await Promise.all(pending);
    failures.sort((a, b) => a.index - b.index);
    return { ok: n - failures.length, failures };
  }

  private async one(op: RouteOp): Promise<void> {
    const r = await this.applyRoutes([op]);
    const f = r.failures[0];
    if (f) throw new NetlinkError(NetlinkErrorCode.Kernel, `route ${op.op} ${op.route.dst}`, { errno: f.errno, extack: f.message });
  }

  addRoute(route: Route): Promise<void> {
    return this.one({ op: 'add', route });
  }
  replaceRoute(route: Route): Promise<void> {
    return this.one({ op: 'replace', route });
  }
  deleteRoute(route: Route): Promise<void> {
    return this.one({ op: 'delete', route });
  }

  addRoutes(routes: Route[]): Promise<BatchResult> {
    return this.applyRoutes(routes.map((route) => ({ op: 'add', route })));
  }
  replaceRoutes(routes: Route[]): Promise<BatchResult> {
    return this.applyRoutes(routes.map((route) => ({ op: 'replace', route })));
  }
  deleteRoutes(routes: Route[], opts: { missingOk?: boolean } = {}): Promise<BatchResult> {
    return this.applyRoutes(routes.map((route) => ({ op: 'delete', route })), opts);
  }

  /** Routes of this netns (unicast/blackhole/unreachable/prohibit; local/broadcast are skipped). */
  async dumpRoutes(filter: DumpFilter = {}): Promise<KernelRoute[]> {
    const out: KernelRoute[] = [];
    await this.forEachRoute(filter, (r) => void out.push(r));
    return out;
  }

  /**
   * dumpRoutes without the array: `cb` gets each route as it is decoded (synchronously, once the dump
   * is in). A full sync of a 500k table then holds one route object at a time, not all of them.
   */
  async forEachRoute(filter: DumpFilter, cb: (r: KernelRoute) => void): Promise<void> {
    const data = await this.dumpRaw('route dump', (w, seq) => encodeRouteDump(w, filter.family, seq));
    for (const m of messages(data)) {
      if (m.type !== RTM.NEWROUTE) continue;
      // Cheap filters on the rtmsg header before decoding: rtm_protocol is byte 5.
      if (filter.protocol !== undefined && m.body[5] !== filter.protocol) continue;
      const r = decodeRoute(m.body);
      if (!r) continue;
      if (filter.table !== undefined && r.table !== filter.table) continue;
      if (filter.protocol !== undefined && r.protocol !== filter.protocol) continue;
      cb(r);
    }
  }

  /**
   * Route add/delete notifications of this netns (RTNLGRP_IPV4_ROUTE and RTNLGRP_IPV6_ROUTE). With
   * `ignoreOwn`, changes made through this handle are not reported (their acks already were).
   */
  watchRoutes(opts: { ignoreOwn?: boolean } = {}): RouteWatcher {
    return new RouteWatcher(this.netns, opts.ignoreOwn ? native().nlPortId(this.fd) : undefined);
  }

  // ---- links ----

  async getLink(name: string): Promise<Link | undefined> {
    try {
      const msgs = await this.dump(`get link ${name}`, (w, seq) => encodeGetLink(w, seq, name));
      const m = msgs.find((x) => x.type === RTM.NEWLINK);
      return m ? decodeLink(m.body) : undefined;
    } catch (err) {
      if (err instanceof NetlinkError && (err.errno === ERRNO.ENODEV || err.errno === ERRNO.ENOENT)) return undefined;
      throw err;
    }
  }

  async listLinks(): Promise<Link[]> {
    const msgs = await this.dump('link dump', (w, seq) => encodeGetLink(w, seq));
    return msgs.filter((m) => m.type === RTM.NEWLINK).map((m) => decodeLink(m.body)).filter((l): l is Link => l !== undefined);
  }

  /** ifindex of a device name (numbers pass through). */
  async ifindex(dev: string | number): Promise<number> {
    if (typeof dev === 'number') return dev;
    const l = await this.getLink(dev);
    if (!l) throw new NetlinkError(NetlinkErrorCode.Invalid, `resolve device ${dev}`, { errno: ERRNO.ENODEV });
    return l.index;
  }

  /** Creates a veth pair; the peer appears directly in `spec.peerNetns` with its name/MTU/MAC set. */
  async createVeth(spec: VethSpec): Promise<void> {
    const nsFd = spec.peerNetns ? openNetns(spec.peerNetns) : undefined;
    try {
      await this.request(`create veth ${spec.name}`, (w, seq) => encodeVeth(w, seq, spec, nsFd));
    } finally {
      if (nsFd !== undefined) closeSync(nsFd);
    }
  }

  async setLink(dev: string | number, change: LinkChange): Promise<void> {
    const index = await this.ifindex(dev);
    await this.request(`set link ${dev}`, (w, seq) => encodeSetLink(w, seq, index, change));
  }

  /** Moves a link into another netns (by path), optionally renaming it on the way. */
  async moveLink(dev: string | number, netnsPath: string, newName?: string): Promise<void> {
    const index = await this.ifindex(dev);
    const nsFd = openNetns(netnsPath);
    try {
      await this.request(`move link ${dev}`, (w, seq) => encodeSetLink(w, seq, index, newName ? { name: newName } : {}, nsFd));
    } finally {
      closeSync(nsFd);
    }
  }

  /** Deletes a link (its veth peer goes with it). missingOk (default true): an absent link is success. */
  async deleteLink(dev: string | number, opts: { missingOk?: boolean } = {}): Promise<void> {
    const missingOk = opts.missingOk ?? true;
    let index: number;
    try {
      index = await this.ifindex(dev);
    } catch (err) {
      if (missingOk && err instanceof NetlinkError && err.errno === ERRNO.ENODEV) return;
      throw err;
    }
    await this.request(`delete link ${dev}`, (w, seq) => encodeDelLink(w, seq, index), missingOk ? [ERRNO.ENODEV] : []);
  }

  // ---- addresses and neighbours ----

  /** Adds (or replaces) an address. IPv6 gets IFA_F_NODAD unless `nodad: false`. */
  async addAddress(spec: AddressSpec): Promise<void> {
    const index = await this.ifindex(spec.dev);
    await this.request(`add address ${spec.address}`, (w, seq) => encodeAddr(w, seq, 'add', spec, index));
  }

  async deleteAddress(spec: AddressSpec, opts: { missingOk?: boolean } = {}): Promise<void> {
    const ok = opts.missingOk ?? true ? [ERRNO.EADDRNOTAVAIL, ERRNO.ENODEV, ERRNO.ENOENT] : [];
    let index: number;
    try {
      index = await this.ifindex(spec.dev);
    } catch (err) {
      if (ok.length && err instanceof NetlinkError && err.errno === ERRNO.ENODEV) return;
      throw err;
    }
    await this.request(`delete address ${spec.address}`, (w, seq) => encodeAddr(w, seq, 'delete', spec, index), ok);
  }

  async listAddresses(dev?: string | number): Promise<Address[]> {
    const index = dev === undefined ? undefined : await this.ifindex(dev);
    const msgs = await this.dump('address dump', (w, seq) => encodeGetAddr(w, seq));
    return msgs
      .filter((m) => m.type === RTM.NEWADDR)
      .map((m) => decodeAddr(m.body))
      .filter((a): a is Address => a !== undefined && (index === undefined || a.index === index));
  }

  /** Proxy ARP/NDP entry (`ip neigh add proxy ADDR dev DEV`). */
  async addNeighProxy(dev: string | number, address: string): Promise<void> {
    const index = await this.ifindex(dev);
    await this.request(`add proxy neighbour ${address}`, (w, seq) => encodeNeighProxy(w, seq, 'add', index, address));
  }

  async deleteNeighProxy(dev: string | number, address: string): Promise<void> {
    const index = await this.ifindex(dev);
    await this.request(`delete proxy neighbour ${address}`, (w, seq) => encodeNeighProxy(w, seq, 'delete', index, address), [ERRNO.ENOENT]);
  }

  /** Permanent neighbour entries (address -> MAC) on a device, in one batch. */
  async setNeighbours(dev: string | number, entries: Array<{ address: string; mac: string }>): Promise<void> {
    const index = await this.ifindex(dev);
    const w = new NlWriter(128 * Math.max(1, entries.length));
    const first = this.nextSeq(entries.length);
    entries.forEach((e, i) => encodeNeigh(w, first + i, 'add', index, e.address, e.mac));
    const [f] = await this.transact(`set neighbours on ${dev}`, w, first);
    if (f) throw new NetlinkError(NetlinkErrorCode.Kernel, `set neighbour ${entries[f.index]?.address} on ${dev}`, { errno: f.errno, extack: f.message });
  }

  async deleteNeighbour(dev: string | number, address: string): Promise<void> {
    const index = await this.ifindex(dev);
    await this.request(`delete neighbour ${address}`, (w, seq) => encodeNeigh(w, seq, 'delete', index, address), [ERRNO.ENOENT]);
  }

  /** Closes the socket once queued requests finish. The handle is dropped from the per-netns cache. */
  async close(): Promise<void> {
    if (handles.get(this.netns ?? '') === this) handles.delete(this.netns ?? '');
    await this.tail;
    if (this.closed) return;
    this.closed = true;
    if (this.fd >= 0) native().nlClose(this.fd);
  }
}

function openNetns(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    throw new NetlinkError(NetlinkErrorCode.Invalid, `open netns ${path}`, { errno: Math.abs((err as { errno?: number }).errno ?? 0), cause: err });
  }
}

const handles = new Map<string, NetlinkHandle>();

/** The handle of a netns (path such as /var/run/netns/x or /proc/PID/ns/net), or of our own netns. */
export function netlink(netns?: string): NetlinkHandle {
  const key = netns ?? '';
  let h = handles.get(key);
  if (!h) {
    h = new NetlinkHandle(netns);
    handles.set(key, h);
  }
  return h;
}

export async function closeAllHandles(): Promise<void> {
  await Promise.all([...handles.values()].map((h) => h.close()));
}

