// The Ipam class: the node agent's allocator. Ownership and concurrency rules:
// - A node owns the blocks whose affinity names it; it caches them with their revisions and serves
//   allocations from memory, persisting each batch with one compareAndSwap of the block.
// - Requests for one block queue behind that block's in-flight write and go out together in the next
//   write (batching); a `conflict` (another node borrowed, or GC released) re-reads the block and
//   recomputes (bounded retries, Calico's CAS loop).
// - Block claim is two-phase (Calico ipam-core-library.md): pending affinity -> create block -> confirm.
// - Nothing in memory changes until the write that makes it true has succeeded.
// - Order per allocation: block write, then handle record. A crash between the two leaves an address
//   with no handle record: `check` reports it and `gc` (handle not live) releases it.
import { logger } from '../lib/log.js';
import {
  DatastoreError,
  isDatastoreError,
  type Datastore,
  type Versioned,
} from './datastore/types.js';
import { addressesOfHandle, assign, freeCount, isEmpty, release as releaseInBlock, type Assigned, type AssignRequest, type ReleaseSpec } from './block.js';
import { listPools, resolvePool, selects, type ResolvedPool } from './pools.js';
import { AFFINITIES, BLOCKS, affinityKey, blockKey, handleKey, HANDLES } from './keys.js';
import { blocksOf, watchAffinities, type AffinityEvent } from './affinities.js';

export type { AffinityEvent };
import { claimBlock, usageOf } from './claim.js';
import { allocateSeconds, allocations as allocCounter, blockWrites, casConflicts } from './metrics.js';
import {
  IpamError,
  handleId,
  type AllocateRequest,
  type AllocatedAddress,
  type Allocation,
  type AllocationAttrs,
  type Block,
  type BlockAffinity,
  type Family,
  type GcResult,
  type HandleAddress,
  type HandleRecord,
  type ReclaimResult,
} from './types.js';
import { addressAt as addressAtOrdinal, parseCidr, ordinalOf } from './cidr.js';

const log = logger('ipam');

export interface IpamOptions {
  readonly node: string;
  /** The node's labels, matched against pools' nodeSelector. */
  readonly nodeLabels?: Readonly<Record<string, string>>;
  /** CAS retry bound per operation. Default 32. */
  readonly maxRetries?: number;
  /** Empty blocks claimed less than this long ago are kept (a burst will want them again). Default 60s. */
  readonly blockHoldMs?: number;
  /** Pools are re-read at most this often on the allocate path (ms). Default 2000. */
  readonly poolRefreshMs?: number;
  readonly now?: () => number;
}

type Op =
  | { kind: 'assign'; req: AssignRequest; resolve: (a: Assigned | undefined) => void; reject: (e: unknown) => void }
  | { kind: 'release'; specs: ReleaseSpec[]; resolve: (released: string[]) => void; reject: (e: unknown) => void };

interface BlockQueue {
  ops: Op[];
  running: boolean;
}

export class Ipam {
  readonly node: string;
  private readonly labels: Readonly<Record<string, string>>;
  private readonly maxRetries: number;
  private readonly blockHoldMs: number;
  private readonly poolRefreshMs: number;
  private readonly now: () => number;
  /** This node's affine blocks, as last written or read (cidr -> block with revision). */
  private readonly cache = new Map<string, Versioned<Block>>();
  private readonly queues = new Map<string, BlockQueue>();
  private readonly claims = new Map<string, Promise<boolean>>();
  /** handle -> cached blocks holding an address for it (so allocate's recovery check is O(1)). */
  private readonly handleIndex = new Map<string, Set<string>>();
  /** Cached blocks whose last write failed with an unknown outcome: re-read before the next write. */
  private readonly stale = new Set<string>();
  private pools: ResolvedPool[] = [];
  private poolsReadAt = -Infinity;

  constructor(
    readonly store: Datastore,
    opts: IpamOptions,
  ) {
    this.node = opts.node;
    this.labels = opts.nodeLabels ?? {};
    this.maxRetries = opts.maxRetries ?? 32;
    this.blockHoldMs = opts.blockHoldMs ?? 60_000;
    this.poolRefreshMs = opts.poolRefreshMs ?? 2000;
    this.now = opts.now ?? Date.now;
  }

  /** Loads pools and this node's blocks; finishes or undoes claims a crash left pending. */
  async start(): Promise<void> {
    await this.refreshPools();
    const affs = await this.store.list<BlockAffinity>(`${AFFINITIES}${this.node}/`);
    for (const a of affs.items) {
      const block = await this.store.get<Block>(blockKey(a.value.cidr));
      if (block && block.value.affinity === this.node) {
        this.setCached(a.value.cidr, block);
        if (a.value.state !== 'confirmed') await this.casTolerant(a.key, a.revision, { ...a.value, state: 'confirmed' });
      } else {
        await this.deleteTolerant(a.key, a.revision);
      }
    }
  }

  async refreshPools(): Promise<ResolvedPool[]> {
    const pools: ResolvedPool[] = [];
    for (const p of await listPools(this.store)) {
      try {
        pools.push(resolvePool(p));
      } catch (err) {
        log.warn({ pool: p.name, err: (err as Error).message }, 'ignoring invalid pool');
      }
    }
    this.pools = pools;
    this.poolsReadAt = this.now();
    return pools;
  }

  /** Enabled pools of `family` that select this node. */
  private async poolsFor(family: Family, only?: string[]): Promise<ResolvedPool[]> {
    if (this.now() - this.poolsReadAt > this.poolRefreshMs) await this.refreshPools();
    return this.pools.filter((p) => p.family === family && !p.disabled && selects(p.nodeSelector, this.labels) && (!only || only.length === 0 || only.includes(p.name)));
  }

  /**
   * One address per family for the pod interface. Idempotent: the same containerId+ifname returns the
   * addresses it already holds. Throws IpamError `exhausted` naming the pool and its usage.
   */
  async allocate(req: AllocateRequest): Promise<Allocation> {
    const stop = allocateSeconds.startTimer();
    try {
      const out = await this.allocateInner(req);
      allocCounter.inc({ result: 'ok' });
      return out;
    } catch (err) {
      allocCounter.inc({ result: err instanceof IpamError && err.code === 'exhausted' ? 'exhausted' : 'error' });
      throw wrap(err);
    } finally {
      stop();
    }
  }

  private async allocateInner(req: AllocateRequest): Promise<Allocation> {
    const handle = handleId(req.containerId, req.ifname);
    const existing = await this.store.get<HandleRecord>(handleKey(handle));
    if (existing) {
      const held = await this.verifyHandle(existing.value);
      if (held) return held;
      await this.deleteTolerant(existing.key, existing.revision);
    }
    const recovered = await this.recoverFromCache(handle, req);
    if (recovered) return recovered;
    const attrs: AllocationAttrs = { node: this.node, ...(req.pod ? { pod: req.pod } : {}), ...(req.namespace ? { namespace: req.namespace } : {}) };
    let families = req.families;
    if (!families) {
      families = [];
      for (const f of ['ipv4', 'ipv6'] as const) if ((await this.poolsFor(f, req.pools)).length > 0) families.push(f);
      if (families.length === 0) throw new IpamError('no-pool', `no enabled IP pool selects node ${this.node}`);
    }
    const got: AllocatedAddress[] = [];
    try {
      for (const f of families) got.push(await this.allocateFamily(f, handle, attrs, req.pools));
      const record: HandleRecord = { handle, attrs, addresses: got.map((a) => ({ address: a.address, block: a.block, seq: a.seq })) };
      await this.store.create(handleKey(handle), record);
    } catch (err) {
      // Undo what was written; a concurrent allocate of the same handle that won keeps its own.
      if (got.length > 0) await this.releaseSpecs(got.map((a) => ({ address: a.address, block: a.block, seq: a.seq })), handle).catch(() => undefined);
      if (isDatastoreError(err, 'exists')) {
        const other = await this.store.get<HandleRecord>(handleKey(handle));
        const held = other && (await this.verifyHandle(other.value));
        if (held) return held;
      }
      throw err;
    }
    return { handle, addresses: got };
  }

  /**
   * Addresses our blocks already hold for `handle` with no handle record: a retry after a timeout whose
   * block write landed, or after a crash between block write and handle write. Adopt them rather than
   * allocate again (the retry must get the same addresses; the first ones would leak until GC).
   */
  private async recoverFromCache(handle: string, req: AllocateRequest): Promise<Allocation | undefined> {
    for (const cidr of this.stale) {
      const fresh = await this.store.get<Block>(blockKey(cidr));
      this.stale.delete(cidr);
      if (fresh) this.setCached(cidr, fresh);
      else this.dropCached(cidr);
    }
    const found: AllocatedAddress[] = [];
    for (const cidr of this.handleIndex.get(handle) ?? []) {
      const b = this.cache.get(cidr)!;
      const family = parseCidr(b.value.cidr).family;
      for (const s of addressesOfHandle(b.value, handle)) found.push({ family, address: s.address, pool: b.value.pool, block: b.value.cidr, seq: s.seq ?? 0 });
    }
    if (found.length === 0) return undefined;
    if (req.families && !req.families.every((f) => found.some((a) => a.family === f))) return undefined;
    const attrs: AllocationAttrs = { node: this.node, ...(req.pod ? { pod: req.pod } : {}), ...(req.namespace ? { namespace: req.namespace } : {}) };
    const record: HandleRecord = { handle, attrs, addresses: found.map((a) => ({ address: a.address, block: a.block, seq: a.seq })) };
    await this.store.create(handleKey(handle), record);
    log.info({ handle, addresses: found.map((a) => a.address) }, 'adopted addresses held without a handle record');
    return { handle, addresses: found };
  }

  /** The handle's addresses if every one is still held by it (same sequence number) in its block. */
  private async verifyHandle(rec: HandleRecord): Promise<Allocation | undefined> {
    const out: AllocatedAddress[] = [];
    for (const a of rec.addresses) {
      const block = this.cache.get(a.block)?.value ?? (await this.store.get<Block>(blockKey(a.block)))?.value;
      const ord = block && ordinalOf(parseCidr(block.cidr), a.address);
      const cur = block && ord !== undefined ? block.allocations[String(ord)] : undefined;
      if (!block || !cur || cur.handle !== rec.handle || cur.seq !== a.seq) return undefined;
      out.push({ family: parseCidr(block.cidr).family, address: a.address, pool: block.pool, block: a.block, seq: a.seq });
    }
    return { handle: rec.handle, addresses: out };
  }

  private async allocateFamily(family: Family, handle: string, attrs: AllocationAttrs, only?: string[]): Promise<AllocatedAddress> {
    const pools = await this.poolsFor(family, only);
    if (pools.length === 0) throw new IpamError('no-pool', `no enabled ${family} IP pool selects node ${this.node}`);
    const req: AssignRequest = { handle, attrs };
    for (let attempt = 0; attempt < this.maxRetries; attempt++) {
      // 1. Our own blocks, from memory.
      for (const pool of pools) {
        for (const [cidr, b] of this.cache) {
          if (b.value.pool !== pool.name || freeCount(b.value) === 0) continue;
          const a = await this.enqueue(cidr, { kind: 'assign', req });
          if (a) return { family, address: a.address, pool: pool.name, block: cidr, seq: a.seq };
        }
      }
      // 2. Claim a new block (one claim per pool at a time on this node; waiters re-check the cache).
      let claimed = false;
      for (const pool of pools) {
        if (await this.claimOnce(pool)) {
          claimed = true;
          break;
        }
      }
      if (claimed) continue;
      // 3. Borrow one address from another node's block, unless strict affinity.
      for (const pool of pools) {
        if (pool.strictAffinity) continue;
        const a = await this.borrow(pool, req);
        if (a) return { family, address: a.address, pool: pool.name, block: a.block, seq: a.seq };
      }
      if (!(await this.anyRoomInCache(pools))) throw await this.exhausted(family, pools);
    }
    throw new IpamError('contention', `gave up allocating ${family} for ${handle} after ${this.maxRetries} attempts`);
  }

  private async anyRoomInCache(pools: ResolvedPool[]): Promise<boolean> {
    const names = new Set(pools.map((p) => p.name));
    return [...this.cache.values()].some((b) => names.has(b.value.pool) && freeCount(b.value) > 0);
  }

  private claimOnce(pool: ResolvedPool): Promise<boolean> {
    let p = this.claims.get(pool.name);
    if (!p) {
      p = claimBlock(this.store, pool, this.node, this.now()).then((b) => {
        if (b) this.setCached(b.value.cidr, b);
        return b !== undefined;
      });
      p.finally(() => this.claims.delete(pool.name)).catch(() => undefined);
      this.claims.set(pool.name, p);
    }
    return p;
  }

  private async borrow(pool: ResolvedPool, req: AssignRequest): Promise<(Assigned & { block: string }) | undefined> {
    const blocks = (await this.store.list<Block>(BLOCKS)).items.filter((b) => b.value.pool === pool.name && !this.cache.has(b.value.cidr));
    for (let b of blocks) {
      for (let attempt = 0; attempt < this.maxRetries && freeCount(b.value) > 0; attempt++) {
        const next = assign(b.value, [req]);
        try {
          await this.store.compareAndSwap(b.key, b.revision, next.block);
          const a = next.assigned[0]!;
          log.debug({ block: b.value.cidr, owner: b.value.affinity, address: a.address }, 'borrowed address');
          return { ...a, block: b.value.cidr };
        } catch (err) {
          if (!isDatastoreError(err, 'conflict')) throw err;
          casConflicts.inc({ kind: 'borrow' });
          const fresh = await this.store.get<Block>(b.key);
          if (!fresh) break;
          b = fresh;
        }
      }
    }
    return undefined;
  }

  private async exhausted(family: Family, pools: ResolvedPool[]): Promise<IpamError> {
    const blocks = (await this.store.list<Block>(BLOCKS)).items.map((b) => b.value);
    const parts = pools.map((p) => {
      const u = usageOf(p, blocks);
      const strict = p.strictAffinity ? `, strict affinity (${u.free} free in other nodes' blocks not borrowable)` : '';
      return `pool ${p.name} (${p.cidr}): ${u.used}/${u.size} addresses used in ${u.blocks} blocks of /${p.blockSize}${strict}`;
    });
    return new IpamError('exhausted', `no free ${family} address for node ${this.node}: ${parts.join('; ')}`);
  }

  // --- the per-block write queue (batching) ----------------------------------------------------------

  private enqueue(cidr: string, op: { kind: 'assign'; req: AssignRequest }): Promise<Assigned | undefined>;
  private enqueue(cidr: string, op: { kind: 'release'; specs: ReleaseSpec[] }): Promise<string[]>;
  private enqueue(cidr: string, op: { kind: 'assign'; req: AssignRequest } | { kind: 'release'; specs: ReleaseSpec[] }): Promise<unknown> {
    let q = this.queues.get(cidr);
    if (!q) {
      q = { ops: [], running: false };
      this.queues.set(cidr, q);
    }
    const queue = q;
    const p = new Promise<unknown>((resolve, reject) => queue.ops.push({ ...op, resolve, reject } as Op));
    if (!queue.running) void this.drain(cidr, queue);
    return p;
  }

  private async drain(cidr: string, q: BlockQueue): Promise<void> {
    q.running = true;
    try {
      while (q.ops.length > 0) await this.writeBatch(cidr, q.ops.splice(0));
    } finally {
      q.running = false;
      if (q.ops.length === 0) this.queues.delete(cidr);
    }
  }

  /** Applies a batch of releases and assignments to one of our blocks with a single CAS write. */
  private async writeBatch(cidr: string, ops: Op[]): Promise<void> {
    const assigns = ops.filter((o): o is Extract<Op, { kind: 'assign' }> => o.kind === 'assign');
    const releases = ops.filter((o): o is Extract<Op, { kind: 'release' }> => o.kind === 'release');
    try {
      if (this.stale.has(cidr)) {
        // The last write's outcome is unknown (timeout): read what actually landed before writing again.
        const fresh = await this.store.get<Block>(blockKey(cidr));
        this.stale.delete(cidr);
        if (fresh) this.setCached(cidr, fresh);
        else this.dropCached(cidr);
      }
      for (let attempt = 0; ; attempt++) {
        let cur = this.cache.get(cidr);
        if (!cur || cur.value.affinity !== this.node) {
          // No longer ours: assignments go elsewhere; releases go through the generic path.
          this.dropCached(cidr);
          for (const o of assigns) o.resolve(undefined);
          for (const o of releases) o.resolve(await this.releaseInStore(cidr, o.specs));
          return;
        }
        const relResults = releases.map((o) => {
          const r = releaseInBlock(cur!.value, o.specs);
          cur = { ...cur!, value: r.block };
          return r.released;
        });
        const { block, assigned } = assign(cur.value, assigns.map((o) => o.req));
        if (assigned.length === 0 && relResults.every((r) => r.length === 0)) {
          for (const o of assigns) o.resolve(undefined);
          for (const o of releases) o.resolve([]);
          return;
        }
        try {
          const written = await this.store.compareAndSwap(blockKey(cidr), cur.revision, block);
          blockWrites.inc();
          this.setCached(cidr, written);
          assigns.forEach((o, i) => o.resolve(assigned[i]));
          releases.forEach((o, i) => o.resolve(relResults[i]!));
          return;
        } catch (err) {
          if (isDatastoreError(err, 'not-found')) {
            this.dropCached(cidr);
            continue;
          }
          if (!isDatastoreError(err, 'conflict') || attempt >= this.maxRetries) throw err;
          casConflicts.inc({ kind: 'block' });
          const fresh = await this.store.get<Block>(blockKey(cidr));
          if (fresh) this.setCached(cidr, fresh);
          else this.dropCached(cidr);
        }
      }
    } catch (err) {
      if (!isDatastoreError(err, 'conflict')) this.stale.add(cidr);
      for (const o of ops) o.reject(err);
    }
  }

  // --- release ---------------------------------------------------------------------------------------

  /** Releases everything the handle holds. Idempotent: an unknown handle releases nothing. */
  async release(handle: string): Promise<string[]> {
    const rec = await this.store.get<HandleRecord>(handleKey(handle));
    let specs: HandleAddress[] = rec?.value.addresses ?? [];
    if (!rec) {
      // A crash between block write and handle write leaves addresses with no record: find them in ours.
      specs = [...(this.handleIndex.get(handle) ?? [])].flatMap((cidr) =>
        addressesOfHandle(this.cache.get(cidr)!.value, handle).map((s) => ({ address: s.address, block: cidr, seq: s.seq ?? 0 })),
      );
    }
    const released = await this.releaseSpecs(specs, handle);
    if (rec) await this.deleteTolerant(rec.key, rec.revision);
    return released;
  }

  private async releaseSpecs(addrs: HandleAddress[], handle: string): Promise<string[]> {
    const byBlock = new Map<string, ReleaseSpec[]>();
    for (const a of addrs) {
      const list = byBlock.get(a.block) ?? [];
      list.push({ address: a.address, handle, seq: a.seq });
      byBlock.set(a.block, list);
    }
    const out: string[] = [];
    for (const [cidr, specs] of byBlock) {
      const released = this.cache.has(cidr) ? await this.enqueue(cidr, { kind: 'release', specs }) : await this.releaseInStore(cidr, specs);
      out.push(...released);
      await this.maybeReleaseBlock(cidr);
    }
    return out;
  }

  /** CAS loop on a block we do not own (borrowed addresses, GC, reclaim). */
  async releaseInStore(cidr: string, specs: ReleaseSpec[]): Promise<string[]> {
    for (let attempt = 0; attempt < this.maxRetries; attempt++) {
      const cur = await this.store.get<Block>(blockKey(cidr));
      if (!cur) return [];
      const r = releaseInBlock(cur.value, specs);
      if (r.released.length === 0) return [];
      try {
        await this.store.compareAndSwap(cur.key, cur.revision, r.block);
        return r.released;
      } catch (err) {
        if (!isDatastoreError(err, 'conflict')) throw err;
        casConflicts.inc({ kind: 'release' });
      }
    }
    throw new IpamError('contention', `gave up releasing in ${cidr} after ${this.maxRetries} attempts`);
  }

  /**
   * Gives back an empty block of ours when we hold another block of its pool and it is older than the
   * hold time (a block claimed for a burst is kept a while). Two phases: affinity pendingDeletion, then
   * delete the block at the revision we saw empty (a concurrent borrow makes that a conflict: keep it).
   */
  private async maybeReleaseBlock(cidr: string): Promise<void> {
    const b = this.cache.get(cidr);
    if (!b || !isEmpty(b.value) || this.now() - b.value.claimedAt < this.blockHoldMs) return;
    const siblings = [...this.cache.values()].filter((o) => o.value.pool === b.value.pool && o.value.cidr !== cidr);
    if (siblings.length === 0 || (this.queues.get(cidr)?.ops.length ?? 0) > 0) return;
    const akey = affinityKey(this.node, cidr);
    const aff = await this.store.get<BlockAffinity>(akey);
    if (aff) await this.casTolerant(akey, aff.revision, { ...aff.value, state: 'pendingDeletion' });
    try {
      await this.store.delete(b.key, b.revision);
    } catch (err) {
      if (isDatastoreError(err, 'conflict')) {
        const again = await this.store.get<BlockAffinity>(akey);
        if (again) await this.casTolerant(akey, again.revision, { ...again.value, state: 'confirmed' });
        return;
      }
      if (!isDatastoreError(err, 'not-found')) throw err;
    }
    this.dropCached(cidr);
    const last = await this.store.get<BlockAffinity>(akey);
    if (last) await this.deleteTolerant(akey, last.revision);
    log.info({ block: cidr }, 'released empty block');
  }

  // --- cluster-wide maintenance (run by the leader) ----------------------------------------------------

  /**
   * Releases every allocation whose handle is not in `live`, and deletes handle records not in `live`.
   * `node` limits it to allocations made by one node (CNI GC's valid-attachments is per node).
   */
  async gc(live: Iterable<string>, opts: { node?: string } = {}): Promise<GcResult> {
    const alive = new Set(live);
    const releasedAddresses: string[] = [];
    const handles = new Set<string>();
    for (const b of (await this.store.list<Block>(BLOCKS)).items) {
      const specs: ReleaseSpec[] = [];
      for (const [ord, a] of Object.entries(b.value.allocations)) {
        if (alive.has(a.handle) || (opts.node !== undefined && a.attrs.node !== opts.node)) continue;
        specs.push({ address: parseCidrAddress(b.value.cidr, Number(ord)), handle: a.handle, seq: a.seq });
        handles.add(a.handle);
      }
      if (specs.length === 0) continue;
      const released = this.cache.has(b.value.cidr) ? await this.enqueue(b.value.cidr, { kind: 'release', specs }) : await this.releaseInStore(b.value.cidr, specs);
      releasedAddresses.push(...released);
    }
    for (const h of (await this.store.list<HandleRecord>(HANDLES)).items) {
      if (alive.has(h.value.handle) || (opts.node !== undefined && h.value.attrs.node !== opts.node)) continue;
      await this.deleteTolerant(h.key, h.revision);
      handles.add(h.value.handle);
    }
    return { releasedHandles: [...handles].sort(), releasedAddresses };
  }

  /**
   * A node was deleted: release every address its pods held (in any block), delete its blocks, or keep
   * them with no affinity while other nodes' borrowed addresses remain in them (deleted once empty).
   */
  async reclaimNode(node: string): Promise<ReclaimResult> {
    const result = { node, blocksDeleted: [] as string[], blocksOrphaned: [] as string[], addressesReleased: 0 };
    for (const listed of (await this.store.list<Block>(BLOCKS)).items) {
      let b: Versioned<Block> | undefined = listed;
      for (let attempt = 0; b; attempt++) {
        const ours = b.value.affinity === node;
        const mine = Object.entries(b.value.allocations).filter(([, x]) => x.attrs.node === node);
        if (!ours && mine.length === 0 && !(b.value.affinity === null && isEmpty(b.value))) break;
        const r = releaseInBlock(b.value, mine.map(([ord, x]) => ({ address: parseCidrAddress(b!.value.cidr, Number(ord)), handle: x.handle, seq: x.seq })));
        const orphan = ours || b.value.affinity === null;
        try {
          if (orphan && isEmpty(r.block)) {
            await this.store.delete(b.key, b.revision);
            result.blocksDeleted.push(b.value.cidr);
          } else {
            await this.store.compareAndSwap(b.key, b.revision, ours ? { ...r.block, affinity: null } : r.block);
            if (ours) result.blocksOrphaned.push(b.value.cidr);
          }
          result.addressesReleased += r.released.length;
          if (this.cache.has(b.value.cidr) && (ours || orphan)) this.dropCached(b.value.cidr);
          break;
        } catch (err) {
          if (!(isDatastoreError(err, 'conflict') || isDatastoreError(err, 'not-found')) || attempt >= this.maxRetries) throw err;
          casConflicts.inc({ kind: 'reclaim' });
          b = await this.store.get<Block>(listed.key);
        }
      }
    }
    for (const a of (await this.store.list<BlockAffinity>(`${AFFINITIES}${node}/`)).items) await this.deleteTolerant(a.key, a.revision);
    for (const h of (await this.store.list<HandleRecord>(HANDLES)).items) {
      if (h.value.attrs.node === node) await this.deleteTolerant(h.key, h.revision);
    }
    return result;
  }

  // --- routing info ----------------------------------------------------------------------------------

  /** CIDRs of the blocks affine to `node` (default: this node), for advertisement and blackholes. */
  blocksOf(node: string = this.node): Promise<string[]> {
    return blocksOf(this.store, node);
  }

  /**
   * Affinity changes for `node` (all nodes when undefined): first an `add` per current block, then
   * changes as they happen. Re-lists by itself when the store compacted past its position.
   */
  watchAffinities(node?: string, signal?: AbortSignal): AsyncGenerator<AffinityEvent> {
    return watchAffinities(this.store, node, signal);
  }

  // --- helpers -----------------------------------------------------------------------------------------

  private setCached(cidr: string, b: Versioned<Block>): void {
    this.dropCached(cidr);
    this.cache.set(cidr, b);
    for (const a of Object.values(b.value.allocations)) {
      let set = this.handleIndex.get(a.handle);
      if (!set) this.handleIndex.set(a.handle, (set = new Set()));
      set.add(cidr);
    }
  }

  private dropCached(cidr: string): void {
    const old = this.cache.get(cidr);
    if (!old) return;
    this.cache.delete(cidr);
    for (const a of Object.values(old.value.allocations)) {
      const set = this.handleIndex.get(a.handle);
      set?.delete(cidr);
      if (set?.size === 0) this.handleIndex.delete(a.handle);
    }
  }

  private async casTolerant<T>(key: string, revision: string, value: T): Promise<void> {
    try {
      await this.store.compareAndSwap(key, revision, value);
    } catch (err) {
      if (!isDatastoreError(err, 'conflict') && !isDatastoreError(err, 'not-found')) throw err;
    }
  }

  private async deleteTolerant(key: string, revision?: string): Promise<void> {
    try {
      await this.store.delete(key, revision);
    } catch (err) {
      if (!isDatastoreError(err, 'conflict') && !isDatastoreError(err, 'not-found')) throw err;
    }
  }
}

function parseCidrAddress(cidr: string, ordinal: number): string {
  const c = parseCidr(cidr);
  return addressAtOrdinal(c, ordinal);
}

function wrap(err: unknown): unknown {
  if (err instanceof IpamError) return err;
  if (err instanceof DatastoreError) return new IpamError('datastore', `datastore ${err.code}: ${err.message}`, { cause: err });
  return err;
}
