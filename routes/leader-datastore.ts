// Leader election over the datastore's lease primitive, for clusters (etcd leases; Kubernetes via the
// datastore's Lease-backed leases; the embedded store's expiring leases on one host). The leader is
// whoever created `key` under its live lease; it renews by keeping the lease alive. If the holder dies,
// its lease expires after `ttlSeconds`, the key vanishes, and a standby's next attempt wins: takeover
// within ttl + interval. The same class elects the per-node FIB writer (`leaders/fib/<node>`) and the
// cluster-wide GC leader (`leaders/gc`).
import { isDatastoreError, type Datastore, type Lease } from '../ipam/index.js';
import { PollingElector, type PollingOptions } from './leader.js';

export interface DatastoreElectorOptions extends PollingOptions {
  /** Lease TTL; a dead leader is replaced within this plus intervalMs. Default 3 x intervalMs. */
  ttlSeconds?: number;
}

export class DatastoreLeaseElector extends PollingElector {
  private lease: Lease | undefined;
  private readonly ttlSeconds: number;

  constructor(private readonly store: Datastore, readonly key: string, opts: DatastoreElectorOptions = {}) {
    super(opts);
    this.ttlSeconds = opts.ttlSeconds ?? Math.max(2, Math.ceil((3 * this.intervalMs) / 1000));
  }

  protected async tryAcquire(): Promise<boolean> {
    // A standby holds no lease: it only looks, so nothing of its own can expire under it.
    if (await this.store.get(this.key)) return false;
    const lease = await this.store.grantLease(this.ttlSeconds);
    try {
      await this.store.create(this.key, { identity: this.identity, since: new Date().toISOString() }, { lease: lease.id });
      this.lease = lease;
      return true;
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      if (isDatastoreError(err, 'exists')) return false;
      throw err;
    }
  }

  protected async tryRenew(): Promise<boolean> {
    if (!this.lease) return false;
    try {
      await this.lease.keepAlive();
      const cur = await this.store.get<{ identity?: string }>(this.key);
      return cur?.value.identity === this.identity;
    } catch (err) {
      // not-found: the lease already expired (we were paused longer than the TTL) — we are not leader.
      if (isDatastoreError(err, 'not-found')) {
        this.lease = undefined;
        return false;
      }
      throw err;
    }
  }

  protected async doRelease(): Promise<void> {
    const l = this.lease;
    this.lease = undefined;
    await l?.revoke().catch(() => undefined);
  }
}
