// `openDatastore(config)`: the one place that picks a backend. Backends are imported lazily so the
// CNI plugin (embedded only) never loads grpc or the Kubernetes client.
import type { Datastore, DatastoreConfig } from './types.js';

export async function openDatastore(config: DatastoreConfig): Promise<Datastore> {
  switch (config.kind) {
    case 'embedded': {
      const { EmbeddedDatastore } = await import('./embedded.js');
      return new EmbeddedDatastore(config);
    }
    case 'etcd': {
      const { EtcdDatastore } = await import('./etcd.js');
      return EtcdDatastore.open(config);
    }
    case 'kubernetes': {
      const { KubernetesDatastore } = await import('./kubernetes.js');
      return KubernetesDatastore.open(config);
    }
  }
}
