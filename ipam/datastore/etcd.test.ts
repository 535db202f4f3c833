import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdHandle } from '../../test/harness/etcd.js';
import { datastoreContract } from './contract.js';
import { EtcdDatastore } from './etcd.js';
import { isDatastoreError } from './types.js';

let etcd: EtcdHandle;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

// Each test gets its own key prefix on the one etcd of this file.
datastoreContract('etcd (real etcd-server)', async () => {
  const store = await EtcdDatastore.open({ kind: 'etcd', endpoints: [etcd.endpoint], prefix: `/t-${randomBytes(4).toString('hex')}/` });
  return { store, cleanup: () => store.close() };
});

describe('etcd failure modes', () => {
  it('a hung etcd gives timeout within the deadline; the write is all-or-nothing', async () => {
    const store = await EtcdDatastore.open({ kind: 'etcd', endpoints: [etcd.endpoint], prefix: `/t-${randomBytes(4).toString('hex')}/`, requestTimeoutMs: 500 });
    try {
      const v = await store.create('ipam/blocks/x', { n: 1 });
      await etcd.pause();
      const t0 = Date.now();
      let code: string | undefined;
      try {
        await store.compareAndSwap('ipam/blocks/x', v.revision, { n: 2 });
      } catch (err) {
        code = isDatastoreError(err) ? err.code : String(err);
      }
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(code).toBe('timeout');
      etcd.resume();
      // Paused before it could apply the write: the old value is intact (the CAS is all-or-nothing).
      const after = await store.get<{ n: number }>('ipam/blocks/x');
      expect([1, 2]).toContain(after?.value.n);
    } finally {
      etcd.resume();
      await store.close();
    }
  });

  it('an etcd that is not there gives unavailable or timeout quickly', async () => {
    const { freePort } = await import('../../test/harness/etcd.js');
    const port = await freePort();
    const store = await EtcdDatastore.open({ kind: 'etcd', endpoints: [`http://127.0.0.1:${port}`], requestTimeoutMs: 800 });
    try {
      const t0 = Date.now();
      let code: string | undefined;
      try {
        await store.get('ipam/blocks/x');
      } catch (err) {
        code = isDatastoreError(err) ? err.code : String(err);
      }
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(['unavailable', 'timeout']).toContain(code);
    } finally {
      await store.close();
    }
  });
});
