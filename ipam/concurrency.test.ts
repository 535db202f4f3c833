// Concurrency on each backend: the fast-check property (in-process nodes) and separate node processes
// sharing one store, one SIGKILLed mid-allocation and repaired by GC.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdHandle } from '../test/harness/etcd.js';
import { EtcdDatastore } from './datastore/etcd.js';
import { KubernetesDatastore } from './datastore/kubernetes.js';
import { FakeKubeApiServer } from './test/fake-kube-api-server.js';
import type { EtcdConfig, KubernetesConfig } from './datastore/types.js';
import { concurrencyProperty, processesWithKill } from './test/concurrency.js';
import { tempEmbeddedStore, type TempStore } from './test/temp-store.js';

const embedded = (): TempStore => tempEmbeddedStore();

describe('concurrency: embedded (sqlite)', () => {
  it('property: several nodes, concurrent allocate/release, no duplicate and no leak', async () => {
    await concurrencyProperty(async () => embedded(), 8);
  });

  it('three node processes on one sqlite file, one SIGKILLed mid-allocation; GC repairs', async () => {
    const e = embedded();
    try {
      const r = await processesWithKill(e.store, e.config, 150);
      expect(r.killedInFlight).toBeGreaterThan(0);
    } finally {
      await e.cleanup();
    }
  });
});

describe('concurrency: etcd (real etcd-server)', () => {
  let etcd: EtcdHandle;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  const open = async (): Promise<{ config: EtcdConfig; store: EtcdDatastore; cleanup(): Promise<void> }> => {
    const config: EtcdConfig = { kind: 'etcd', endpoints: [etcd.endpoint], prefix: `/cc-${randomBytes(4).toString('hex')}/` };
    const store = await EtcdDatastore.open(config);
    return { config, store, cleanup: () => store.close() };
  };

  it('property: several nodes, concurrent allocate/release, no duplicate and no leak', async () => {
    await concurrencyProperty(open, 5);
  });

  it('three node processes on one etcd, one SIGKILLed mid-allocation; GC repairs', async () => {
    const e = await open();
    try {
      const r = await processesWithKill(e.store, e.config, 150);
      expect(r.killedInFlight).toBeGreaterThan(0);
    } finally {
      await e.cleanup();
    }
  });
});

describe('concurrency: kubernetes (FakeKubeApiServer, a fake of the API server)', () => {
  const open = async (): Promise<{ config: KubernetesConfig; store: KubernetesDatastore; cleanup(): Promise<void> }> => {
    const fake = new FakeKubeApiServer();
    const config: KubernetesConfig = { kind: 'kubernetes', server: await fake.start(), token: 'fake' };
    const store = await KubernetesDatastore.open(config);
    return { config, store, cleanup: async () => { await store.close(); await fake.stop(); } };
  };

  it('property: several nodes, concurrent allocate/release, no duplicate and no leak', async () => {
    await concurrencyProperty(open, 2);
  });

  it('three node processes on one API server, one SIGKILLed mid-allocation; GC repairs', async () => {
    const e = await open();
    try {
      const r = await processesWithKill(e.store, e.config, 60);
      expect(r.killedInFlight).toBeGreaterThan(0);
    } finally {
      await e.cleanup();
    }
  });
});
