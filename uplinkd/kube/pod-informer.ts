// Pod informer: the pods the API server has scheduled to this node (field selector spec.nodeName), as
// `namespace/name` keys — the set IPAM garbage collection compares handle attributes against.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { logger } from '../../lib/log.js';
import { ResilientInformer, type InformerOptions } from './informer.js';

const log = logger('kube.pods');

export const podKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** What pod GC needs from a pod source: a fake in pure tests, the informer in the agent. */
export interface LivePods {
  /** True only while the cache is complete (listed, watch not failed since). */
  readonly healthy: boolean;
  /** `namespace/name` of every pod on this node the API server still has. */
  livePods(): ReadonlySet<string>;
}

export class PodInformer implements LivePods {
  private readonly inf: ResilientInformer<V1Pod>;

  constructor(kc: KubeConfig, nodeName: string, opts: InformerOptions = {}) {
    const core = kc.makeApiClient(CoreV1Api);
    const fieldSelector = `spec.nodeName=${nodeName}`;
    this.inf = new ResilientInformer<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces({ fieldSelector }), log, { ...opts, fieldSelector });
  }

  start(timeoutMs?: number): Promise<void> {
    return this.inf.start(timeoutMs);
  }

  stop(): Promise<void> {
    return this.inf.stop();
  }

  get healthy(): boolean {
    return this.inf.healthy;
  }

  get lists(): number {
    return this.inf.lists;
  }

  livePods(): ReadonlySet<string> {
    return new Set(this.inf.list().map((p) => podKey(p.metadata?.namespace ?? '', p.metadata?.name ?? '')));
  }

  on(verb: 'add' | 'update' | 'delete', cb: (pod: V1Pod) => void): void {
    this.inf.on(verb, cb);
  }
}
