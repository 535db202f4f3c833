// The one datastore interface IPAM and leader election use. Three backends implement it (embedded
// sqlite, etcd v3, Kubernetes CRDs); `contract.ts` is the suite each must pass.
//
// Concurrency rule: every mutation is conditional. Writers read `{value, revision}`, compute the new
// value as a pure function, and write it back with `compareAndSwap(key, revision, value)`; a `conflict`
// means someone else wrote first, so re-read and recompute (bounded retries, see ipam/allocator.ts).
import { UplinkError } from '../../lib/errors.js';

/** JSON values only: every backend stores values as JSON text. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * An opaque version token. Embedded and etcd use a global counter (etcd mod_revision), Kubernetes a
 * resourceVersion. Compare for equality only; pass back to `compareAndSwap`/`delete`/`watch`.
 */
export type Revision = string;

export interface Versioned<T = Json> {
  readonly key: string;
  readonly value: T;
  readonly revision: Revision;
}

export interface ListResult<T = Json> {
  readonly items: Versioned<T>[];
  /** The store revision the list was read at: pass it to `watch(prefix, revision)` to miss nothing. */
  readonly revision: Revision;
}

export type WatchEvent<T = Json> =
  | { readonly type: 'put'; readonly key: string; readonly value: T; readonly revision: Revision }
  | { readonly type: 'delete'; readonly key: string; readonly revision: Revision };

/**
 * A watch yields every change under the prefix after `fromRevision` (or from now), in revision order.
 * If the store has compacted past `fromRevision` the iterator throws DatastoreError `compacted`: the
 * caller must list again and resume from the list's revision.
 */
export interface Watch<T = Json> extends AsyncIterable<WatchEvent<T>> {
  close(): void;
}

export type LeaseId = string;

/**
 * A lease: keys created with `{ lease: id }` vanish (a `delete` watch event) when it expires or is
 * revoked. Leader election = `create(key, me, { lease })` + keepAlive; `exists` means someone else leads.
 */
export interface Lease {
  readonly id: LeaseId;
  readonly ttlSeconds: number;
  /** Renews the lease once. Throws `not-found` when it has already expired. */
  keepAlive(): Promise<void>;
  /** Ends the lease now and deletes its keys. Idempotent. */
  revoke(): Promise<void>;
}

export interface CreateOptions {
  readonly lease?: LeaseId;
}

export interface Datastore {
  readonly kind: DatastoreKind;
  get<T = Json>(key: string): Promise<Versioned<T> | undefined>;
  list<T = Json>(prefix: string): Promise<ListResult<T>>;
  /** Fails with `exists` when the key is present. */
  create<T = Json>(key: string, value: T, opts?: CreateOptions): Promise<Versioned<T>>;
  /** Fails with `conflict` when the key's revision differs, `not-found` when it is absent. */
  compareAndSwap<T = Json>(key: string, revision: Revision, value: T): Promise<Versioned<T>>;
  /** Fails with `not-found` when absent, `conflict` when `revision` is given and differs. */
  delete(key: string, revision?: Revision): Promise<void>;
  watch<T = Json>(prefix: string, fromRevision?: Revision): Watch<T>;
  grantLease(ttlSeconds: number): Promise<Lease>;
  close(): Promise<void>;
}

export const DatastoreKind = { Embedded: 'embedded', Etcd: 'etcd', Kubernetes: 'kubernetes' } as const;
export type DatastoreKind = (typeof DatastoreKind)[keyof typeof DatastoreKind];

export const DatastoreErrorCode = {
  /** compareAndSwap/delete saw a different revision: re-read and retry. */
  Conflict: 'conflict',
  NotFound: 'not-found',
  Exists: 'exists',
  /** The store cannot be reached or is busy; retryable (CNI error code 11, "try again later"). */
  Unavailable: 'unavailable',
  /** A bounded deadline passed; the write may or may not have happened — re-read before retrying. */
  Timeout: 'timeout',
  /** A watch asked for a revision the store no longer keeps (etcd compaction, Kubernetes 410 Gone). */
  Compacted: 'compacted',
} as const;
export type DatastoreErrorCode = (typeof DatastoreErrorCode)[keyof typeof DatastoreErrorCode];

export class DatastoreError extends UplinkError {
  declare readonly code: DatastoreErrorCode;
  readonly key: string | undefined;

  constructor(code: DatastoreErrorCode, message: string, options?: { cause?: unknown; key?: string }) {
    super(code, message, options);
    this.key = options?.key;
  }

  /** Worth retrying as-is (after a re-read for conflict). */
  get retryable(): boolean {
    return this.code === 'unavailable' || this.code === 'timeout' || this.code === 'conflict';
  }
}

export function isDatastoreError(err: unknown, code?: DatastoreErrorCode): err is DatastoreError {
  return err instanceof DatastoreError && (code === undefined || err.code === code);
}

export interface EmbeddedConfig {
  readonly kind: 'embedded';
  /** sqlite file; several processes on one host may share it. */
  readonly path: string;
  /** How long to wait for another process's write lock before `unavailable` (ms). Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Watch poll period (ms). Default 25. */
  readonly pollMs?: number;
}

export interface EtcdConfig {
  readonly kind: 'etcd';
  readonly endpoints: string[];
  /** Key prefix for everything Uplink writes, e.g. `/uplink/`. Default `/uplink/`. */
  readonly prefix?: string;
  /** Deadline per request (ms) after which the call fails with `timeout`. Default 3000. */
  readonly requestTimeoutMs?: number;
}

export interface KubernetesConfig {
  readonly kind: 'kubernetes';
  /** Path to a kubeconfig; default: $KUBECONFIG / ~/.kube/config, then in-cluster. */
  readonly kubeconfig?: string;
  /** API server URL (with `token`): overrides the kubeconfig. Used by tests against the fake server. */
  readonly server?: string;
  readonly token?: string;
  /** Namespace for Leases and namespaced objects. Default `uplink-system`. */
  readonly namespace?: string;
  readonly requestTimeoutMs?: number;
}

export type DatastoreConfig = EmbeddedConfig | EtcdConfig | KubernetesConfig;
