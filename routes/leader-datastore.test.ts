// Failover over the datastore lease, on the embedded store and on a real etcd: one leader at a time;
// when the leader stops renewing (its process died), a standby takes over within ttl + interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatastore, type Datastore } from '../ipam/index.js';
import { startEtcd } from '../test/harness/etcd.js';
import { DatastoreLeaseElector } from './leader-datastore.js';

type Etcd = Awaited<ReturnType<typeof startEtcd>>;

async function until(what: string, f: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error(`${what} not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

function suite(name: string, open: () => Promise<{ a: Datastore; b: Datastore; done: () => Promise<void> }>): void {
  describe(`datastore lease election (${name})`, () => {
    let a: Datastore, b: Datastore, done: () => Promise<void>;
    beforeAll(async () => ({ a, b, done } = await open()));
    afterAll(async () => done?.());

    it('elects one leader; a standby takes over within ttl + interval when the leader dies', async () => {
      const key = `leaders/test/${Math.random().toString(36).slice(2)}`;
      const e1 = new DatastoreLeaseElector(a, key, { identity: 'one', intervalMs: 200, ttlSeconds: 2 });
      const e2 = new DatastoreLeaseElector(b, key, { identity: 'two', intervalMs: 200, ttlSeconds: 2 });
      e1.start();
      await until('first leader', () => e1.isLeader, 5000);
      e2.start();
      await new Promise((r) => setTimeout(r, 800));
      expect([e1.isLeader, e2.isLeader]).toEqual([true, false]);
      // Simulate the leader's death: it stops renewing without releasing (like SIGKILL).
      (e1 as unknown as { running: boolean }).running = false;
      const took = await until('standby takes over', () => e2.isLeader, 6000);
      expect(took).toBeLessThan(2000 + 200 + 1500);
      await e2.stop();
      await new Promise((r) => setTimeout(r, 300));
    });

    it('a released leadership is taken at the next attempt', async () => {
      const key = `leaders/test/${Math.random().toString(36).slice(2)}`;
      const e1 = new DatastoreLeaseElector(a, key, { identity: 'one', intervalMs: 100, ttlSeconds: 5 });
      const e2 = new DatastoreLeaseElector(b, key, { identity: 'two', intervalMs: 100, ttlSeconds: 5 });
      e1.start();
      await until('first leader', () => e1.isLeader, 5000);
      e2.start();
      await e1.stop();
      const took = await until('second leader', () => e2.isLeader, 3000);
      expect(took).toBeLessThan(1500);
      expect(e1.isLeader).toBe(false);
      await e2.stop();
    });
  });
}

suite('embedded, two processes\' worth of handles on one file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'uplink-lease-'));
  const a = await openDatastore({ kind: 'embedded', path: join(dir, 's.db') });
  const b = await openDatastore({ kind: 'embedded', path: join(dir, 's.db') });
  return { a, b, done: async () => { await a.close(); await b.close(); rmSync(dir, { recursive: true, force: true }); } };
});

suite('etcd', async () => {
  const etcd: Etcd = await startEtcd();
  const a = await openDatastore({ kind: 'etcd', endpoints: [etcd.endpoint] });
  const b = await openDatastore({ kind: 'etcd', endpoints: [etcd.endpoint] });
  return { a, b, done: async () => { await a.close(); await b.close(); await etcd.stop(); } };
});
