// IPAM garbage collection against the Kubernetes pod list: release the addresses of pods that are gone
// (a missed CNI DEL: kubelet crashed, node rebooted, runtime lost the sandbox).
//
// Releasing a live pod's address is far worse than leaking one for a while, so a handle is released
// only when all of these hold:
//   - its record carries `pod` and `namespace` attributes and `node` == this node (handles made by
//     other means, or by other nodes, are someone else's business);
//   - the pod informer is healthy (a complete cache: listed, and the watch has not failed since);
//   - the pod has been absent from that cache on every run for at least `graceMs`. CNI ADD runs after
//     the Pod object exists, but our informer may lag the API server: a pod being created right now
//     can be missing from the cache for a moment, and the grace period covers that lag;
//   - a run while the cache is unhealthy forgets nothing but releases nothing.
// Known limit: a pod deleted and re-created with the same namespace/name (StatefulSet) looks live, so
// the old sandbox's handle is kept until kubelet's CNI DEL; the handle has no pod UID to tell them apart.
import type { Datastore } from '../../ipam/datastore/types.js';
import type { HandleRecord } from '../../ipam/types.js';
import { logger } from '../../lib/log.js';
import { registry } from '../../lib/metrics.js';
import { Counter } from 'prom-client';
import { podKey, type LivePods } from './pod-informer.js';

const log = logger('kube.pod-gc');
const HANDLES = 'ipam/handles/';

const released = new Counter({ name: 'uplink_ipam_pod_gc_released_total', help: 'IPAM handles released because their pod no longer exists', registers: [registry] });

export interface PodGcDecision {
  /** Handles whose pod has been gone for at least the grace period: release them. */
  readonly release: string[];
  /** Handles whose pod is missing but not for long enough yet. */
  readonly pending: string[];
  /** When each still-missing handle was first seen missing (epoch ms): pass to the next call. */
  readonly missingSince: ReadonlyMap<string, number>;
}

/**
 * Pure: which handles to release now. `missingSince` is the previous decision's (empty at start), so
 * a handle is released only after being seen missing on runs spanning `graceMs`.
 */
export function podGcDecision(
  handles: ReadonlyArray<Pick<HandleRecord, 'handle' | 'attrs'>>,
  livePods: ReadonlySet<string>,
  node: string,
  missingSince: ReadonlyMap<string, number>,
  now: number,
  graceMs: number,
): PodGcDecision {
  const release: string[] = [];
  const pending: string[] = [];
  const next = new Map<string, number>();
  for (const h of handles) {
    const { pod, namespace, node: owner } = h.attrs;
    if (!pod || !namespace || owner !== node) continue;
    if (livePods.has(podKey(namespace, pod))) continue;
    const since = missingSince.get(h.handle) ?? now;
    if (now - since >= graceMs) release.push(h.handle);
    else {
      pending.push(h.handle);
      next.set(h.handle, since);
    }
  }
  return { release: release.sort(), pending: pending.sort(), missingSince: next };
}

export interface PodGcOptions {
  readonly node: string;
  /** How long a pod must be seen missing before its handle is released (ms). Default 120000. */
  readonly graceMs?: number;
  readonly now?: () => number;
}

export interface PodGcResult {
  /** False when the pod cache was not healthy: nothing was decided. */
  readonly ran: boolean;
  readonly released: string[];
  readonly pending: string[];
  readonly addresses: string[];
}

/** Stateful runner: call `run()` periodically (e.g. every 30 s); it keeps the missing-since times. */
export class PodGc {
  private missingSince: ReadonlyMap<string, number> = new Map();
  private readonly graceMs: number;
  private readonly now: () => number;

  constructor(
    /** The node's Ipam (its `store` is read for handle records; `release` frees a handle). */
    private readonly ipam: { readonly store: Pick<Datastore, 'list'>; release(handle: string): Promise<string[]> },
    private readonly pods: LivePods,
    private readonly opts: PodGcOptions,
  ) {
    this.graceMs = opts.graceMs ?? 120_000;
    this.now = opts.now ?? Date.now;
  }

  async run(): Promise<PodGcResult> {
    if (!this.pods.healthy) return { ran: false, released: [], pending: [...this.missingSince.keys()], addresses: [] };
    // Handles first, pods second: a pod created between the two reads is in the pod set; reading in
    // the other order could see a new handle whose pod we had not seen yet (the grace covers it anyway).
    const handles = (await this.ipam.store.list<HandleRecord>(HANDLES)).items.map((i) => i.value);
    const d = podGcDecision(handles, this.pods.livePods(), this.opts.node, this.missingSince, this.now(), this.graceMs);
    this.missingSince = d.missingSince;
    const addresses: string[] = [];
    const done: string[] = [];
    for (const h of d.release) {
      try {
        addresses.push(...(await this.ipam.release(h)));
        done.push(h);
        released.inc();
        log.info({ handle: h }, 'released the addresses of a pod that no longer exists');
      } catch (err) {
        // Retried on the next run: keep it as missing since long ago.
        log.warn({ err, handle: h }, 'pod GC release failed');
        this.missingSince = new Map([...this.missingSince, [h, 0]]);
      }
    }
    return { ran: true, released: done, pending: d.pending, addresses };
  }
}
