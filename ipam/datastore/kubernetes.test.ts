// The contract suite against the kubernetes backend: always against FakeKubeApiServer (a fake of the
// API server's semantics — no API server can run here), and against a real cluster when KUBECONFIG is
// set (opt-in; the cluster must have k8s/crds/ applied and the uplink-system namespace; the suite
// deletes every uplink.dev object between tests, so use a throwaway cluster).
import { describe, expect, it } from 'vitest';
import { datastoreContract } from './contract.js';
import { KubernetesDatastore } from './kubernetes.js';
import { FakeKubeApiServer } from '../test/fake-kube-api-server.js';
import { isDatastoreError } from './types.js';

datastoreContract('kubernetes (FakeKubeApiServer, real @kubernetes/client-node)', async () => {
  const fake = new FakeKubeApiServer();
  const server = await fake.start();
  const store = await KubernetesDatastore.open({ kind: 'kubernetes', server, token: 'fake' });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await fake.stop();
    },
  };
});

describe('kubernetes backend specifics (FakeKubeApiServer)', () => {
  it('a watch resumed from a compacted resourceVersion fails with compacted (410 Gone)', async () => {
    const fake = new FakeKubeApiServer();
    const store = await KubernetesDatastore.open({ kind: 'kubernetes', server: await fake.start(), token: 'fake' });
    try {
      const a = await store.create('ipam/handles/a', { n: 1 });
      await store.compareAndSwap('ipam/handles/a', a.revision, { n: 2 });
      fake.compact();
      const w = store.watch('ipam/handles/', a.revision);
      const err = await w[Symbol.asyncIterator]().next().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDatastoreError(err, 'compacted')).toBe(true);
      w.close();
    } finally {
      await store.close();
      await fake.stop();
    }
  });

  it('an API server that is not there gives unavailable quickly', async () => {
    const fake = new FakeKubeApiServer();
    const server = await fake.start();
    await fake.stop();
    const store = await KubernetesDatastore.open({ kind: 'kubernetes', server, token: 'fake', requestTimeoutMs: 1000 });
    const t0 = Date.now();
    const err = await store.get('ipam/blocks/x').catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(isDatastoreError(err) && ['unavailable', 'timeout'].includes(err.code)).toBe(true);
    await store.close();
  });
});

const kubeconfig = process.env.KUBECONFIG;
if (kubeconfig) {
  datastoreContract('kubernetes (real cluster from KUBECONFIG)', async () => {
    const store = await KubernetesDatastore.open({ kind: 'kubernetes', kubeconfig });
    const wipe = async (): Promise<void> => {
      for (const i of (await store.list('')).items) await store.delete(i.key).catch(() => undefined);
    };
    await wipe();
    return { store, cleanup: async () => { await wipe(); await store.close(); } };
  });
} else {
  describe('kubernetes (real cluster)', () => {
    it.skip('skipped: KUBECONFIG is not set (set it to a throwaway cluster with k8s/crds/ applied to run the contract there)', () => {});
  });
}
