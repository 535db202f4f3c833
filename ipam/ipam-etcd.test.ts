import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ipam } from './ipam.js';
import { putPool } from './pools.js';
import { readSnapshot } from './show.js';
import { checkIpam } from './check.js';
import { isRetryable } from './types.js';
import { startEtcd, type EtcdHandle } from '../test/harness/etcd.js';
import { EtcdDatastore } from './datastore/etcd.js';
import { ipamScenarios } from './test/scenarios.js';

let etcd: EtcdHandle;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

ipamScenarios('etcd (real etcd-server)', async () => {
  const store = await EtcdDatastore.open({ kind: 'etcd', endpoints: [etcd.endpoint], prefix: `/t-${randomBytes(4).toString('hex')}/` });
  return { store, cleanup: () => store.close() };
});

describe('ipam on a hung etcd', () => {
  it('allocate fails fast with a retryable error; the retry gets one address, no leak', async () => {
    const store = await EtcdDatastore.open({ kind: 'etcd', endpoints: [etcd.endpoint], prefix: `/t-${randomBytes(4).toString('hex')}/`, requestTimeoutMs: 400 });
    try {
      await putPool(store, { name: 'v4', cidr: '10.50.0.0/24' });
      const ipam = new Ipam(store, { node: 'node-a' });
      await ipam.start();
      await ipam.allocate({ containerId: 'warm', ifname: 'eth0' });
      await etcd.pause();
      const t0 = Date.now();
      const err = await ipam.allocate({ containerId: 'c1', ifname: 'eth0' }).catch((e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(isRetryable(err)).toBe(true);
      etcd.resume();
      const retry = await ipam.allocate({ containerId: 'c1', ifname: 'eth0' });
      expect(retry.addresses).toHaveLength(1);
      const report = checkIpam(await readSnapshot(store));
      expect(report).toMatchObject({ leaks: [], duplicates: [], orphanedHandles: [] });
      const used = (await readSnapshot(store)).blocks.reduce((n, b) => n + Object.keys(b.allocations).length, 0);
      expect(used).toBe(2);
    } finally {
      etcd.resume();
      await store.close();
    }
  });
});
