// The contract every Datastore backend must pass. Each backend's test file calls
// `datastoreContract(name, open)`; `open` returns a fresh, empty store (its own file, etcd prefix or
// fake API server) and a cleanup.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDatastoreError, type Datastore, type DatastoreErrorCode, type WatchEvent } from './types.js';

export interface ContractTarget {
  readonly store: Datastore;
  cleanup(): Promise<void>;
}

async function expectCode(p: Promise<unknown>, code: DatastoreErrorCode): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(isDatastoreError(err) ? err.code : err).toBe(code);
    return;
  }
  expect.fail(`expected DatastoreError ${code}, got success`);
}

/** Reads `n` events from a watch, failing after `ms`. */
async function take<T>(w: AsyncIterable<WatchEvent<T>>, n: number, ms = 5000): Promise<WatchEvent<T>[]> {
  const out: WatchEvent<T>[] = [];
  const it = w[Symbol.asyncIterator]();
  const deadline = Date.now() + ms;
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`watch: got ${out.length} of ${n} events: ${JSON.stringify(out)}`);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([it.next(), new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), left)))]);
    clearTimeout(timer);
    if (r === 'timeout') throw new Error(`watch: got ${out.length} of ${n} events: ${JSON.stringify(out)}`);
    if (r.done) throw new Error('watch ended early');
    out.push(r.value);
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function datastoreContract(name: string, open: () => Promise<ContractTarget>, opts: { leaseTtl?: number } = {}): void {
  const ttl = opts.leaseTtl ?? 2;
  describe(`datastore contract: ${name}`, () => {
    let t: ContractTarget;
    let s: Datastore;
    beforeEach(async () => {
      t = await open();
      s = t.store;
    });
    afterEach(async () => {
      await t?.cleanup();
    });

    it('get of a missing key is undefined', async () => {
      expect(await s.get('ipam/handles/none')).toBeUndefined();
    });

    it('create stores JSON and refuses an existing key', async () => {
      const value = { a: 1, b: [true, null, 'x'], c: { d: -2.5 } };
      const created = await s.create('ipam/handles/h1', value);
      expect(created.value).toEqual(value);
      const got = await s.get('ipam/handles/h1');
      expect(got?.value).toEqual(value);
      expect(got?.revision).toBe(created.revision);
      await expectCode(s.create('ipam/handles/h1', { other: true }), 'exists');
      expect((await s.get('ipam/handles/h1'))?.value).toEqual(value);
    });

    it('compareAndSwap succeeds only at the current revision', async () => {
      const v1 = await s.create('ipam/blocks/b1', { n: 1 });
      const v2 = await s.compareAndSwap('ipam/blocks/b1', v1.revision, { n: 2 });
      expect(v2.revision).not.toBe(v1.revision);
      await expectCode(s.compareAndSwap('ipam/blocks/b1', v1.revision, { n: 3 }), 'conflict');
      expect((await s.get('ipam/blocks/b1'))?.value).toEqual({ n: 2 });
      await expectCode(s.compareAndSwap('ipam/blocks/missing', v1.revision, { n: 1 }), 'not-found');
    });

    it('delete honours the revision and reports missing keys', async () => {
      const v1 = await s.create('ipam/blocks/d1', { n: 1 });
      const v2 = await s.compareAndSwap('ipam/blocks/d1', v1.revision, { n: 2 });
      await expectCode(s.delete('ipam/blocks/d1', v1.revision), 'conflict');
      await s.delete('ipam/blocks/d1', v2.revision);
      expect(await s.get('ipam/blocks/d1')).toBeUndefined();
      await expectCode(s.delete('ipam/blocks/d1'), 'not-found');
      await s.create('ipam/blocks/d2', { n: 1 });
      await s.delete('ipam/blocks/d2');
      expect(await s.get('ipam/blocks/d2')).toBeUndefined();
    });

    it('list returns exactly the keys under the prefix', async () => {
      await s.create('ipam/affinities/n1/a', { i: 1 });
      await s.create('ipam/affinities/n1/b', { i: 2 });
      await s.create('ipam/affinities/n2/a', { i: 3 });
      await s.create('ipam/handles/x', { i: 4 });
      const l = await s.list<{ i: number }>('ipam/affinities/n1/');
      expect(l.items.map((i) => [i.key, i.value.i]).sort()).toEqual([['ipam/affinities/n1/a', 1], ['ipam/affinities/n1/b', 2]]);
      expect((await s.list('ipam/affinities/')).items).toHaveLength(3);
      expect((await s.list('ipam/pools/')).items).toHaveLength(0);
      for (const i of l.items) expect(l.revision).toBeDefined();
    });

    it('concurrent compare-and-swap increments lose no update', async () => {
      await s.create('ipam/blocks/counter', { n: 0 });
      const inc = async (): Promise<void> => {
        for (;;) {
          const cur = await s.get<{ n: number }>('ipam/blocks/counter');
          try {
            await s.compareAndSwap('ipam/blocks/counter', cur!.revision, { n: cur!.value.n + 1 });
            return;
          } catch (err) {
            if (!isDatastoreError(err, 'conflict')) throw err;
          }
        }
      };
      await Promise.all(Array.from({ length: 20 }, inc));
      expect((await s.get<{ n: number }>('ipam/blocks/counter'))?.value.n).toBe(20);
    });

    it('watch from a list revision sees later changes in order, and resumes', async () => {
      await s.create('ipam/handles/before', { v: 0 });
      const l = await s.list('ipam/handles/');
      const w = s.watch<{ v: number }>('ipam/handles/', l.revision);
      try {
        const a = await s.create('ipam/handles/w1', { v: 1 });
        await s.create('ipam/blocks/elsewhere', { v: 9 });
        await s.compareAndSwap('ipam/handles/w1', a.revision, { v: 2 });
        await s.delete('ipam/handles/before');
        const evs = await take(w, 3);
        expect(evs.map((e) => [e.type, e.key, e.type === 'put' ? e.value.v : null])).toEqual([
          ['put', 'ipam/handles/w1', 1],
          ['put', 'ipam/handles/w1', 2],
          ['delete', 'ipam/handles/before', null],
        ]);
        // Resume after the first event: only the later two come again.
        const w2 = s.watch<{ v: number }>('ipam/handles/', evs[0]!.revision);
        try {
          const again = await take(w2, 2);
          expect(again.map((e) => e.revision)).toEqual([evs[1]!.revision, evs[2]!.revision]);
        } finally {
          w2.close();
        }
      } finally {
        w.close();
      }
    });

    it('keys on a lease vanish when it is revoked; keepAlive keeps them', async () => {
      const lease = await s.grantLease(ttl);
      await s.create('ipam/handles/leased', { who: 'a' }, { lease: lease.id });
      const until = Date.now() + (ttl + 1.5) * 1000;
      while (Date.now() < until) {
        await lease.keepAlive();
        await sleep(400);
      }
      expect((await s.get('ipam/handles/leased'))?.value).toEqual({ who: 'a' });
      const l = await s.list('ipam/handles/');
      const w = s.watch('ipam/handles/', l.revision);
      try {
        await lease.revoke();
        const [ev] = await take(w, 1);
        expect(ev).toMatchObject({ type: 'delete', key: 'ipam/handles/leased' });
      } finally {
        w.close();
      }
      expect(await s.get('ipam/handles/leased')).toBeUndefined();
      await lease.revoke();
    });

    it('leader election: create-if-absent with a lease; the key frees itself on expiry', async () => {
      const a = await s.grantLease(ttl);
      const b = await s.grantLease(ttl);
      await s.create('leader/gc', { id: 'a' }, { lease: a.id });
      await expectCode(s.create('leader/gc', { id: 'b' }, { lease: b.id }), 'exists');
      // a stops renewing; b keeps its own lease alive and takes over once a's lease has expired.
      const deadline = Date.now() + (ttl + 6) * 1000;
      let won = false;
      while (!won && Date.now() < deadline) {
        await b.keepAlive();
        try {
          await s.create('leader/gc', { id: 'b' }, { lease: b.id });
          won = true;
        } catch (err) {
          if (!isDatastoreError(err, 'exists')) throw err;
          await sleep(250);
        }
      }
      expect(won).toBe(true);
      expect((await s.get('leader/gc'))?.value).toEqual({ id: 'b' });
      await expectCode(a.keepAlive(), 'not-found');
      await b.revoke();
    });
  });
}
