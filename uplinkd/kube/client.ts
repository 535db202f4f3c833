// A KubeConfig from the agent's settings: an explicit server URL (+ token) — what tests use against the
// fake API server — else a kubeconfig file, else $KUBECONFIG / ~/.kube/config / in-cluster.
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeClientOptions {
  readonly server?: string;
  readonly token?: string;
  readonly kubeconfig?: string;
}

export function kubeConfigFrom(opts: KubeClientOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (opts.server) {
    kc.loadFromClusterAndUser(
      { name: 'uplink', server: opts.server, skipTLSVerify: opts.server.startsWith('http://') },
      { name: 'uplink', ...(opts.token ? { token: opts.token } : {}) },
    );
  } else if (opts.kubeconfig) {
    kc.loadFromFile(opts.kubeconfig);
  } else {
    kc.loadFromDefault();
  }
  return kc;
}
