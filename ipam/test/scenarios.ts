// IPAM behaviour, run against every backend (ipam-embedded.test.ts, ipam-etcd.test.ts). Each test gets
// a fresh empty store from `open`.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ipam, type IpamOptions } from '../ipam.js';
import { putPool } from '../pools.js';
import { readSnapshot } from '../show.js';
import { checkIpam } from '../check.js';
import { parseCidr, contains, parseAddress } from '../cidr.js';
import { IpamError, handleId, isRetryable, type IpPool } from '../types.js';
import type { Datastore } from '../datastore/types.js';

export interface StoreTarget {
  readonly store: Datastore;
  cleanup(): Promise<void>;
}

const inPool = (cidr: string, address: string): boolean => contains(parseCidr(cidr), parseAddress(address).value);

export function ipamScenarios(name: string, open: () => Promise<StoreTarget>): void {
  describe(`ipam: ${name}`, () => {
    let t: StoreTarget;
    let store: Datastore;
    const nodes: Ipam[] = [];
    beforeEach(async () => {
      t = await open();
      store = t.store;
    });
    afterEach(async () => {
      nodes.length = 0;
      await t?.cleanup();
    });
    async function node(n: string, opts: Partial<IpamOptions> = {}): Promise<Ipam> {
      const ipam = new Ipam(store, { node: n, poolRefreshMs: 0, ...opts });
      await ipam.start();
      nodes.push(ipam);
      return ipam;
    }
    async function pools(...ps: IpPool[]): Promise<void> {
      for (const p of ps) await putPool(store, p);
    }
    async function consistent(live?: string[]): Promise<void> {
      const report = checkIpam(await readSnapshot(store), live ? { live } : {});
      expect(report).toMatchObject({ leaks: [], duplicates: [], orphanedHandles: [] });
    }

    it('allocates from a pool, is idempotent per handle, and releases idempotently', async () => {
      await pools({ name: 'v4', cidr: '10.20.0.0/16' });
      const a = await node('node-a');
      const first = await a.allocate({ containerId: 'c1', ifname: 'eth0', pod: 'p1', namespace: 'ns' });
      expect(first.addresses).toHaveLength(1);
      expect(first.addresses[0]!.family).toBe('ipv4');
      expect(inPool('10.20.0.0/16', first.addresses[0]!.address)).toBe(true);
      const again = await a.allocate({ containerId: 'c1', ifname: 'eth0', pod: 'p1', namespace: 'ns' });
      expect(again.addresses.map((x) => x.address)).toEqual(first.addresses.map((x) => x.address));
      const other = await a.allocate({ containerId: 'c2', ifname: 'eth0' });
      expect(other.addresses[0]!.address).not.toBe(first.addresses[0]!.address);
      await consistent([handleId('c1', 'eth0'), handleId('c2', 'eth0')]);
      expect(await a.release(handleId('c1', 'eth0'))).toEqual([first.addresses[0]!.address]);
      expect(await a.release(handleId('c1', 'eth0'))).toEqual([]);
      await consistent([handleId('c2', 'eth0')]);
      // A fresh instance (agent restart) sees the same block and keeps allocating from it.
      const a2 = await node('node-a');
      const third = await a2.allocate({ containerId: 'c3', ifname: 'eth0' });
      expect(third.addresses[0]!.block).toBe(first.addresses[0]!.block);
      expect(await a2.blocksOf()).toEqual([first.addresses[0]!.block]);
    });

    it('dual stack: one IPv4 and one IPv6 address per pod', async () => {
      await pools({ name: 'v4', cidr: '10.21.0.0/16' }, { name: 'v6', cidr: 'fd00:21::/112' });
      const a = await node('node-a');
      const got = await a.allocate({ containerId: 'c1', ifname: 'eth0' });
      expect(got.addresses.map((x) => x.family).sort()).toEqual(['ipv4', 'ipv6']);
      const v6 = got.addresses.find((x) => x.family === 'ipv6')!;
      expect(inPool('fd00:21::/112', v6.address)).toBe(true);
      expect(parseCidr(v6.block).prefix).toBe(122);
      expect((await a.blocksOf()).length).toBe(2);
      expect((await a.release(handleId('c1', 'eth0'))).length).toBe(2);
    });

    it('allocates from its own block first and claims a new block when full', async () => {
      await pools({ name: 'small', cidr: '10.22.0.0/28', blockSize: 30 });
      const a = await node('node-a');
      const got = [];
      for (let i = 0; i < 5; i++) got.push((await a.allocate({ containerId: `c${i}`, ifname: 'eth0' })).addresses[0]!);
      expect(new Set(got.slice(0, 4).map((g) => g.block)).size).toBe(1);
      expect(got[4]!.block).not.toBe(got[0]!.block);
      expect(new Set(got.map((g) => g.address)).size).toBe(5);
      expect((await a.blocksOf()).sort()).toEqual([got[0]!.block, got[4]!.block].sort());
    });

    it('exhaustion is an error naming the pool and its usage, never a duplicate', async () => {
      await pools({ name: 'tiny', cidr: '10.23.0.0/29', blockSize: 30 });
      const a = await node('node-a');
      const addrs = new Set<string>();
      for (let i = 0; i < 8; i++) addrs.add((await a.allocate({ containerId: `c${i}`, ifname: 'eth0' })).addresses[0]!.address);
      expect(addrs.size).toBe(8);
      const err = await a.allocate({ containerId: 'c9', ifname: 'eth0' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IpamError);
      expect((err as IpamError).code).toBe('exhausted');
      expect((err as IpamError).message).toContain('pool tiny (10.23.0.0/29): 8/8 addresses used in 2 blocks');
      await consistent();
    });

    it('borrows from another node\'s block when the pool has no free block', async () => {
      await pools({ name: 'tiny', cidr: '10.24.0.0/29', blockSize: 30 });
      const a = await node('node-a');
      const b = await node('node-b');
      const fromA = (await a.allocate({ containerId: 'a1', ifname: 'eth0' })).addresses[0]!;
      for (let i = 0; i < 4; i++) await b.allocate({ containerId: `b${i}`, ifname: 'eth0' });
      const borrowed = (await b.allocate({ containerId: 'b4', ifname: 'eth0' })).addresses[0]!;
      expect(borrowed.block).toBe(fromA.block);
      expect(await a.blocksOf()).toEqual([fromA.block]);
      expect(await b.blocksOf()).not.toContain(fromA.block);
      // A still allocates from its block, around the borrowed address.
      const a2 = (await a.allocate({ containerId: 'a2', ifname: 'eth0' })).addresses[0]!;
      expect(a2.block).toBe(fromA.block);
      expect(a2.address).not.toBe(borrowed.address);
      expect(await b.release(handleId('b4', 'eth0'))).toEqual([borrowed.address]);
      await consistent();
    });

    it('strict affinity: no borrowing, exhaustion instead', async () => {
      await pools({ name: 'strict', cidr: '10.25.0.0/29', blockSize: 30, strictAffinity: true });
      const a = await node('node-a');
      const b = await node('node-b');
      await a.allocate({ containerId: 'a1', ifname: 'eth0' });
      for (let i = 0; i < 4; i++) await b.allocate({ containerId: `b${i}`, ifname: 'eth0' });
      const err = await b.allocate({ containerId: 'b4', ifname: 'eth0' }).catch((e: unknown) => e);
      expect((err as IpamError).code).toBe('exhausted');
      expect((err as IpamError).message).toMatch(/strict affinity \(3 free/);
    });

    it('node selector: a pool only serves the nodes it selects', async () => {
      await pools({ name: 'r1', cidr: '10.26.0.0/24', nodeSelector: 'rack == "r1"' }, { name: 'off', cidr: '10.27.0.0/24', disabled: true });
      const inRack = await node('node-a', { nodeLabels: { rack: 'r1' } });
      const outside = await node('node-b', { nodeLabels: { rack: 'r2' } });
      expect((await inRack.allocate({ containerId: 'a', ifname: 'eth0' })).addresses[0]!.pool).toBe('r1');
      const err = await outside.allocate({ containerId: 'b', ifname: 'eth0' }).catch((e: unknown) => e);
      expect((err as IpamError).code).toBe('no-pool');
      expect(isRetryable(err)).toBe(false);
      // A request naming pools (CNI config) is limited to them.
      const named = await inRack.allocate({ containerId: 'c', ifname: 'eth0', pools: ['off'] }).catch((e: unknown) => e);
      expect((named as IpamError).code).toBe('no-pool');
    });

    it('releases an empty block it no longer needs, but not one it just claimed', async () => {
      await pools({ name: 'small', cidr: '10.28.0.0/28', blockSize: 30 });
      let clock = 1_000_000;
      const a = await node('node-a', { blockHoldMs: 60_000, now: () => clock });
      const got = [];
      for (let i = 0; i < 5; i++) got.push((await a.allocate({ containerId: `c${i}`, ifname: 'eth0' })).addresses[0]!);
      expect((await a.blocksOf()).length).toBe(2);
      await a.release(handleId('c4', 'eth0'));
      expect((await a.blocksOf()).length).toBe(2); // just claimed: kept
      await a.allocate({ containerId: 'c5', ifname: 'eth0' });
      clock += 120_000;
      await a.release(handleId('c5', 'eth0'));
      expect(await a.blocksOf()).toEqual([got[0]!.block]);
      expect((await readSnapshot(store)).blocks.map((b) => b.cidr)).toEqual([got[0]!.block]);
      await consistent();
    });

    it('reclaims a deleted node: its blocks go, borrowed addresses of others stay', async () => {
      await pools({ name: 'tiny', cidr: '10.29.0.0/29', blockSize: 30 });
      const a = await node('node-a');
      const b = await node('node-b');
      const leader = await node('node-c');
      await a.allocate({ containerId: 'a1', ifname: 'eth0' });
      for (let i = 0; i < 4; i++) await b.allocate({ containerId: `b${i}`, ifname: 'eth0' });
      const borrowed = (await b.allocate({ containerId: 'b4', ifname: 'eth0' })).addresses[0]!;
      const r = await leader.reclaimNode('node-a');
      expect(r).toMatchObject({ node: 'node-a', blocksDeleted: [], blocksOrphaned: [borrowed.block], addressesReleased: 1 });
      expect(await leader.blocksOf('node-a')).toEqual([]);
      // A new node cannot claim the orphaned block (its key still exists): it borrows instead.
      const d = await node('node-d');
      const fromD = (await d.allocate({ containerId: 'd1', ifname: 'eth0' })).addresses[0]!;
      expect(await d.blocksOf()).toEqual([]);
      const r2 = await leader.reclaimNode('node-b');
      // node-b's pods are gone too, including the one on the borrowed address; its own block goes.
      expect(r2.blocksDeleted).toHaveLength(1);
      expect(r2.addressesReleased).toBe(5);
      await consistent();
      expect(await b.release(handleId('b4', 'eth0'))).toEqual([]);
      expect(await d.release(handleId('d1', 'eth0'))).toEqual([fromD.address]);
      await leader.reclaimNode('node-d');
      const snap = await readSnapshot(store);
      expect(snap.handles).toEqual([]);
      expect(snap.blocks).toEqual([]);
      expect(snap.affinities).toEqual([]);
    });

    it('gc releases addresses whose handle is not live', async () => {
      await pools({ name: 'v4', cidr: '10.30.0.0/24' });
      const a = await node('node-a');
      const b = await node('node-b');
      const keep = await a.allocate({ containerId: 'keep', ifname: 'eth0' });
      const gone = await a.allocate({ containerId: 'gone', ifname: 'eth0' });
      const other = await b.allocate({ containerId: 'other', ifname: 'eth0' });
      const live = [handleId('keep', 'eth0')];
      const before = checkIpam(await readSnapshot(store), { live });
      expect(before.leaks.map((l) => l.handle).sort()).toEqual([handleId('gone', 'eth0'), handleId('other', 'eth0')]);
      // Per node (CNI GC): only node-a's allocations are judged against node-a's live list.
      const r = await a.gc(live, { node: 'node-a' });
      expect(r.releasedHandles).toEqual([handleId('gone', 'eth0')]);
      expect(r.releasedAddresses).toEqual([gone.addresses[0]!.address]);
      await consistent([...live, handleId('other', 'eth0')]);
      const again = await a.allocate({ containerId: 'keep', ifname: 'eth0' });
      expect(again.addresses[0]!.address).toBe(keep.addresses[0]!.address);
      expect(other.addresses[0]!.address).toBeDefined();
    });

    it('watchAffinities reports blocks as they are claimed and removed', async () => {
      await pools({ name: 'small', cidr: '10.31.0.0/28', blockSize: 30 });
      const a = await node('node-a');
      await a.allocate({ containerId: 'c0', ifname: 'eth0' });
      const ac = new AbortController();
      const it = a.watchAffinities('node-a', ac.signal)[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.value).toMatchObject({ type: 'add', node: 'node-a' });
      for (let i = 1; i < 5; i++) await a.allocate({ containerId: `c${i}`, ifname: 'eth0' });
      const second = await it.next();
      expect(second.value).toMatchObject({ type: 'add', node: 'node-a' });
      expect(second.value!.cidr).not.toBe(first.value!.cidr);
      await new Ipam(store, { node: 'leader' }).reclaimNode('node-a');
      const removes = [(await it.next()).value!, (await it.next()).value!];
      expect(removes.map((r) => r.type)).toEqual(['remove', 'remove']);
      ac.abort();
      await it.return?.(undefined);
    });
  });
}
