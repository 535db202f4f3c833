// The IPAM scenarios on the kubernetes backend, against FakeKubeApiServer (a fake of the API server's
// semantics; no API server can run here).
import { KubernetesDatastore } from './datastore/kubernetes.js';
import { FakeKubeApiServer } from './test/fake-kube-api-server.js';
import { ipamScenarios } from './test/scenarios.js';

ipamScenarios('kubernetes (FakeKubeApiServer)', async () => {
  const fake = new FakeKubeApiServer();
  const store = await KubernetesDatastore.open({ kind: 'kubernetes', server: await fake.start(), token: 'fake' });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await fake.stop();
    },
  };
});
