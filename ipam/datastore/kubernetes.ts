// Kubernetes backend: each key is one custom object (see kube-mapping.ts), revisions are
// resourceVersions, compareAndSwap is a PUT carrying metadata.resourceVersion (the API server answers
// 409 Conflict when it is stale), delete uses preconditions.resourceVersion, watches are API watches
// resumed by resourceVersion (410 Gone -> `compacted`).
//
// Leases are coordination.k8s.io/v1 Lease objects. Kubernetes has no TTL on objects, so "keys vanish
// when the lease expires" is implemented here: keys carry the label uplink.dev/lease=<lease>; reads
// treat keys of an expired or missing lease as absent, `create` replaces such a key, and every open
// backend with leases or watches sweeps expired leases (deletes their keys, then the Lease) each second.
//
// Assumption: resourceVersions are the API server's etcd revisions (true of kube-apiserver, though the
// API calls them opaque), so one number orders events across kinds and a list's version can start a
// watch on several kinds.
import { hostname } from 'node:os';
import { ApiException, CoordinationV1Api, CustomObjectsApi, KubeConfig, Watch as KubeWatch, type V1Lease } from '@kubernetes/client-node';
import {
  DatastoreError,
  DatastoreKind,
  type CreateOptions,
  type Datastore,
  type Json,
  type KubernetesConfig,
  type Lease,
  type ListResult,
  type Revision,
  type Versioned,
  type Watch,
} from './types.js';
import { EventQueue } from './event-queue.js';
import { GROUP, KEY_ANNOTATION, KINDS, FALLBACK, LEASE_LABEL, MANAGED_BY, VERSION, kindFor, kindsFor, objectName, type KindMapping } from './kube-mapping.js';
import { randomBytes } from 'node:crypto';

interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: { value?: Json };
}

interface KubeList {
  metadata?: { resourceVersion?: string };
  items: KubeObject[];
}

export class KubernetesDatastore implements Datastore {
  readonly kind = DatastoreKind.Kubernetes;
  private readonly custom: CustomObjectsApi;
  private readonly coord: CoordinationV1Api;
  private readonly namespace: string;
  private readonly timeoutMs: number;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly watches = new Set<() => void>();
  private closed = false;

  private constructor(
    private readonly kc: KubeConfig,
    config: KubernetesConfig,
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.coord = kc.makeApiClient(CoordinationV1Api);
    this.namespace = config.namespace ?? 'uplink-system';
    this.timeoutMs = config.requestTimeoutMs ?? 5000;
  }

  static async open(config: KubernetesConfig): Promise<KubernetesDatastore> {
    const kc = new KubeConfig();
    if (config.server) {
      kc.loadFromClusterAndUser({ name: 'uplink', server: config.server, skipTLSVerify: config.server.startsWith('http://') }, { name: 'uplink', ...(config.token ? { token: config.token } : {}) });
    } else if (config.kubeconfig) {
      kc.loadFromFile(config.kubeconfig);
    } else {
      kc.loadFromDefault();
    }
    return new KubernetesDatastore(kc, config);
  }

  async get<T = Json>(key: string): Promise<Versioned<T> | undefined> {
    const obj = await this.getObject(key);
    if (!obj || !(await this.leaseLive(obj))) return undefined;
    return toVersioned<T>(key, obj);
  }

  async list<T = Json>(prefix: string): Promise<ListResult<T>> {
    const { items, revision } = await this.listObjects(prefix);
    const out: Versioned<T>[] = [];
    const leaseCache = new Map<string, boolean>();
    for (const o of items) {
      if (!(await this.leaseLive(o, leaseCache))) continue;
      out.push(toVersioned<T>(o.metadata.annotations![KEY_ANNOTATION]!, o));
    }
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { items: out, revision };
  }

  async create<T = Json>(key: string, value: T, opts?: CreateOptions): Promise<Versioned<T>> {
    const k = kindFor(key);
    if (opts?.lease !== undefined && !(await this.readLease(opts.lease))) {
      throw new DatastoreError('not-found', `lease ${opts.lease} not found or expired`, { key });
    }
    const body = this.objectFor(k, key, value, opts?.lease);
    for (let attempt = 0; ; attempt++) {
      try {
        const created = (await this.call(key, () => this.custom.createClusterCustomObject({ group: GROUP, version: VERSION, plural: k.plural, body }))) as KubeObject;
        return { key, value, revision: created.metadata.resourceVersion! };
      } catch (err) {
        if (!(err instanceof DatastoreError && err.code === 'conflict')) throw err;
        // 409 on create is AlreadyExists. A key whose lease expired is gone in our semantics: remove it
        // (only at the version we judged dead) and create again.
        const cur = await this.getObject(key);
        if (cur && (attempt > 2 || (await this.leaseLive(cur)))) throw new DatastoreError('exists', `key exists: ${key}`, { key });
        if (cur) await this.deleteObject(key, cur.metadata.resourceVersion).catch(() => undefined);
      }
    }
  }

  async compareAndSwap<T = Json>(key: string, revision: Revision, value: T): Promise<Versioned<T>> {
    const k = kindFor(key);
    // Read first to carry the lease label over (a PUT replaces labels too) and to answer not-found.
    const cur = await this.getObject(key);
    if (!cur || !(await this.leaseLive(cur))) throw new DatastoreError('not-found', `key not found: ${key}`, { key });
    if (cur.metadata.resourceVersion !== revision) throw new DatastoreError('conflict', `revision of ${key} is ${cur.metadata.resourceVersion}, not ${revision}`, { key });
    const body = this.objectFor(k, key, value, cur.metadata.labels?.[LEASE_LABEL]);
    body.metadata.resourceVersion = revision;
    const out = (await this.call(key, () =>
      this.custom.replaceClusterCustomObject({ group: GROUP, version: VERSION, plural: k.plural, name: body.metadata.name, body }),
    )) as KubeObject;
    return { key, value, revision: out.metadata.resourceVersion! };
  }

  async delete(key: string, revision?: Revision): Promise<void> {
    if (revision === undefined) {
      const cur = await this.getObject(key);
      if (!cur || !(await this.leaseLive(cur))) throw new DatastoreError('not-found', `key not found: ${key}`, { key });
    }
    await this.deleteObject(key, revision);
  }

  watch<T = Json>(prefix: string, fromRevision?: Revision): Watch<T> {
    const queue = new EventQueue<T>();
    const aborts: AbortController[] = [];
    const stop = (): void => {
      this.watches.delete(stop);
      for (const a of aborts) a.abort();
    };
    queue.onClose = stop;
    this.watches.add(stop);
    this.startSweeper();
    const watcher = new KubeWatch(this.kc);
    const start = async (): Promise<void> => {
      const from = fromRevision ?? (await this.listObjects(prefix)).revision;
      for (const k of kindsFor(prefix)) {
        let last = from;
        const open = async (): Promise<void> => {
          if (queue.closed) return;
          const ac = await watcher.watch(
            `/apis/${GROUP}/${VERSION}/${k.plural}`,
            { resourceVersion: last, allowWatchBookmarks: false },
            (phase: string, obj: unknown) => {
              if (phase === 'ERROR') {
                const st = obj as { code?: number; message?: string };
                queue.fail(st.code === 410 ? new DatastoreError('compacted', `watch ${k.plural}: ${st.message ?? '410 Gone'}`) : new DatastoreError('unavailable', `watch ${k.plural}: ${st.message ?? 'error'}`));
                return;
              }
              const o = obj as KubeObject;
              const key = o.metadata.annotations?.[KEY_ANNOTATION];
              last = o.metadata.resourceVersion ?? last;
              if (key === undefined || !key.startsWith(prefix)) return;
              if (phase === 'DELETED') queue.push({ type: 'delete', key, revision: o.metadata.resourceVersion! });
              else if (phase === 'ADDED' || phase === 'MODIFIED') queue.push({ type: 'put', key, value: (o.spec?.value ?? null) as T, revision: o.metadata.resourceVersion! });
            },
            (err: unknown) => {
              if (queue.closed) return;
              if (err && (err as { name?: string }).name !== 'AbortError') {
                queue.fail(mapError(err, prefix));
                return;
              }
              // The server ends watches after a timeout: resume from the last version seen.
              void open().catch((e: unknown) => queue.fail(mapError(e, prefix)));
            },
          );
          aborts.push(ac);
          if (queue.closed) ac.abort();
        };
        await open();
      }
    };
    start().catch((err: unknown) => queue.fail(mapError(err, prefix)));
    return queue.asWatch();
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    const name = `uplink-lease-${randomBytes(6).toString('hex')}`;
    const now = new Date();
    await this.call(name, () =>
      this.coord.createNamespacedLease({
        namespace: this.namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, labels: { ...MANAGED_BY } },
          spec: { holderIdentity: `${hostname()}-${process.pid}`, leaseDurationSeconds: ttlSeconds, acquireTime: now, renewTime: now },
        },
      }),
    );
    this.startSweeper();
    return {
      id: name,
      ttlSeconds,
      keepAlive: async () => {
        const cur = await this.readLease(name);
        if (!cur) throw new DatastoreError('not-found', `lease ${name} expired`);
        cur.spec = { ...cur.spec, renewTime: new Date() };
        await this.call(name, () => this.coord.replaceNamespacedLease({ name, namespace: this.namespace, body: cur }));
      },
      revoke: () => this.revokeLease(name),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const stop of [...this.watches]) stop();
  }

  // --- internals -------------------------------------------------------------------------------------

  private objectFor(k: KindMapping, key: string, value: unknown, lease: string | undefined): KubeObject {
    return {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: k.kind,
      metadata: { name: objectName(key), annotations: { [KEY_ANNOTATION]: key }, labels: { ...MANAGED_BY, ...(lease ? { [LEASE_LABEL]: lease } : {}) } },
      spec: { value: value as Json },
    };
  }

  private async getObject(key: string): Promise<KubeObject | undefined> {
    const k = kindFor(key);
    try {
      const o = (await this.call(key, () => this.custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: k.plural, name: objectName(key) }))) as KubeObject;
      // A hash collision would show a different key: treat as absent rather than return a stranger.
      return o.metadata.annotations?.[KEY_ANNOTATION] === key ? o : undefined;
    } catch (err) {
      if (err instanceof DatastoreError && err.code === 'not-found') return undefined;
      throw err;
    }
  }

  private async listObjects(prefix: string, labelSelector?: string): Promise<{ items: KubeObject[]; revision: string }> {
    const items: KubeObject[] = [];
    let revision: bigint | undefined;
    for (const k of kindsFor(prefix)) {
      const l = (await this.call(prefix, () =>
        this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: k.plural, ...(labelSelector ? { labelSelector } : {}) }),
      )) as KubeList;
      const rv = BigInt(l.metadata?.resourceVersion ?? '0');
      // The smallest list version: a watch from it may repeat a change, never miss one.
      if (revision === undefined || rv < revision) revision = rv;
      for (const o of l.items) if (o.metadata.annotations?.[KEY_ANNOTATION]?.startsWith(prefix)) items.push(o);
    }
    return { items, revision: String(revision ?? 0n) };
  }

  private async deleteObject(key: string, revision?: Revision): Promise<void> {
    const k = kindFor(key);
    await this.call(key, () =>
      this.custom.deleteClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: k.plural,
        name: objectName(key),
        ...(revision !== undefined ? { body: { preconditions: { resourceVersion: revision } } } : {}),
      }),
    );
  }

  private async readLease(name: string): Promise<V1Lease | undefined> {
    try {
      const l = await this.call(name, () => this.coord.readNamespacedLease({ name, namespace: this.namespace }));
      return leaseExpired(l) ? undefined : l;
    } catch (err) {
      if (err instanceof DatastoreError && err.code === 'not-found') return undefined;
      throw err;
    }
  }

  private async leaseLive(o: KubeObject, cache?: Map<string, boolean>): Promise<boolean> {
    const lease = o.metadata.labels?.[LEASE_LABEL];
    if (lease === undefined) return true;
    const known = cache?.get(lease);
    if (known !== undefined) return known;
    const live = (await this.readLease(lease)) !== undefined;
    cache?.set(lease, live);
    return live;
  }

  private async revokeLease(name: string): Promise<void> {
    for (const k of [...KINDS, FALLBACK]) {
      const l = (await this.call(name, () =>
        this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: k.plural, labelSelector: `${LEASE_LABEL}=${name}` }),
      )) as KubeList;
      for (const o of l.items) {
        await this.call(name, () => this.custom.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: k.plural, name: o.metadata.name })).catch(ignoreNotFound);
      }
    }
    await this.call(name, () => this.coord.deleteNamespacedLease({ name, namespace: this.namespace })).catch(ignoreNotFound);
  }

  private startSweeper(): void {
    if (this.sweeper || this.closed) return;
    this.sweeper = setInterval(() => {
      void this.sweep().catch(() => undefined);
    }, 1000);
    this.sweeper.unref();
  }

  private async sweep(): Promise<void> {
    const leases = await this.call('leases', () => this.coord.listNamespacedLease({ namespace: this.namespace, labelSelector: 'app.kubernetes.io/managed-by=uplink' }));
    for (const l of leases.items) if (leaseExpired(l) && l.metadata?.name) await this.revokeLease(l.metadata.name);
  }

  private async call<R>(what: string, fn: () => Promise<R>): Promise<R> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DatastoreError('timeout', `kubernetes request for ${what} exceeded ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([fn(), deadline]);
    } catch (err) {
      throw mapError(err, what);
    } finally {
      clearTimeout(timer);
    }
  }
}

function leaseExpired(l: V1Lease): boolean {
  const renew = l.spec?.renewTime ? new Date(l.spec.renewTime).getTime() : 0;
  return renew + (l.spec?.leaseDurationSeconds ?? 0) * 1000 <= Date.now();
}

function toVersioned<T>(key: string, o: KubeObject): Versioned<T> {
  return { key, value: (o.spec?.value ?? null) as T, revision: o.metadata.resourceVersion! };
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof DatastoreError && err.code === 'not-found')) throw err;
}

function mapError(err: unknown, what: string): unknown {
  if (err instanceof DatastoreError) return err;
  if (err instanceof ApiException) {
    const code = err.code;
    if (code === 404) return new DatastoreError('not-found', `not found: ${what}`, { cause: err });
    // 409 is both AlreadyExists (create) and Conflict (update/delete precondition): callers tell apart.
    if (code === 409) return new DatastoreError('conflict', `conflict on ${what}`, { cause: err });
    if (code === 410) return new DatastoreError('compacted', `gone: ${what}`, { cause: err });
    if (code === 429 || code >= 500) return new DatastoreError('unavailable', `kubernetes API ${code} on ${what}`, { cause: err });
    return err;
  }
  const msg = (err as Error)?.message ?? String(err);
  if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENOTFOUND|socket hang up|fetch failed|network/i.test(msg)) {
    return new DatastoreError('unavailable', `kubernetes API unreachable (${what}): ${msg}`, { cause: err });
  }
  return err;
}
