// etcd v3 backend over the `etcd3` client. Every conditional write is one etcd transaction comparing
// the key's mod_revision (create: create_revision == 0), so a write either lands whole or not at all.
// Each call has a deadline (`requestTimeoutMs`): a down etcd gives `unavailable` (connection refused,
// retried by the client a few times) or `timeout` within that bound, never a hang.
import {
  Etcd3,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  EtcdLeaseInvalidError,
  GRPCNotFoundError,
  ClientClosedError,
  type IKeyValue,
  type Watcher,
} from 'etcd3';
import {
  DatastoreError,
  DatastoreKind,
  type CreateOptions,
  type Datastore,
  type EtcdConfig,
  type Json,
  type Lease,
  type ListResult,
  type Revision,
  type Versioned,
  type Watch,
} from './types.js';
import { EventQueue } from './event-queue.js';

export class EtcdDatastore implements Datastore {
  readonly kind = DatastoreKind.Etcd;
  private readonly watchers = new Set<() => void>();

  private constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {}

  static async open(config: EtcdConfig): Promise<EtcdDatastore> {
    const timeoutMs = config.requestTimeoutMs ?? 3000;
    const client = new Etcd3({
      hosts: config.endpoints,
      dialTimeout: timeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
    });
    return new EtcdDatastore(client, config.prefix ?? '/uplink/', timeoutMs);
  }

  async get<T = Json>(key: string): Promise<Versioned<T> | undefined> {
    const res = await this.call(key, () => this.client.get(this.prefix + key).exec());
    const kv = res.kvs[0];
    return kv ? this.toVersioned<T>(kv) : undefined;
  }

  async list<T = Json>(prefix: string): Promise<ListResult<T>> {
    const res = await this.call(prefix, () => this.client.getAll().prefix(this.prefix + prefix).exec());
    return { items: res.kvs.map((kv) => this.toVersioned<T>(kv)), revision: res.header.revision };
  }

  async create<T = Json>(key: string, value: T, opts?: CreateOptions): Promise<Versioned<T>> {
    const full = this.prefix + key;
    const put = this.client.put(full).value(JSON.stringify(value));
    if (opts?.lease !== undefined) put.lease(opts.lease);
    const res = await this.call(key, () => this.client.if(full, 'Create', '==', 0).then(put).commit());
    if (!res.succeeded) throw new DatastoreError('exists', `key exists: ${key}`, { key });
    return { key, value, revision: res.header.revision };
  }

  async compareAndSwap<T = Json>(key: string, revision: Revision, value: T): Promise<Versioned<T>> {
    const full = this.prefix + key;
    const res = await this.call(key, () =>
      this.client
        .if(full, 'Mod', '==', revision)
        .then(this.client.put(full).value(JSON.stringify(value)))
        .else(this.client.get(full))
        .commit(),
    );
    if (!res.succeeded) throw this.failure(key, res.responses[0]?.response_range?.kvs.length ?? 0, revision);
    return { key, value, revision: res.header.revision };
  }

  async delete(key: string, revision?: Revision): Promise<void> {
    const full = this.prefix + key;
    const res = await this.call(key, () =>
      revision === undefined
        ? this.client.if(full, 'Create', '>', 0).then(this.client.delete().key(full)).commit()
        : this.client.if(full, 'Mod', '==', revision).then(this.client.delete().key(full)).else(this.client.get(full)).commit(),
    );
    if (!res.succeeded) {
      if (revision === undefined) throw new DatastoreError('not-found', `key not found: ${key}`, { key });
      throw this.failure(key, res.responses[0]?.response_range?.kvs.length ?? 0, revision);
    }
  }

  watch<T = Json>(prefix: string, fromRevision?: Revision): Watch<T> {
    const queue = new EventQueue<T>();
    let watcher: Watcher | undefined;
    const builder = this.client.watch().prefix(this.prefix + prefix);
    // Our revisions mean "seen up to"; etcd's start revision is inclusive.
    if (fromRevision !== undefined) builder.startRevision(String(BigInt(fromRevision) + 1n));
    const stop = (): void => {
      this.watchers.delete(stop);
      void watcher?.cancel().catch(() => undefined);
    };
    queue.onClose = stop;
    this.watchers.add(stop);
    builder
      .create()
      .then((w) => {
        watcher = w;
        if (queue.closed) return void w.cancel().catch(() => undefined);
        w.on('data', (res) => {
          if (res.compact_revision && res.compact_revision !== '0') {
            queue.fail(new DatastoreError('compacted', `etcd compacted to ${res.compact_revision}`));
            return;
          }
          for (const ev of res.events) {
            const key = ev.kv.key.toString().slice(this.prefix.length);
            if (ev.type === 'Put') {
              queue.push({ type: 'put', key, value: JSON.parse(ev.kv.value.toString()) as T, revision: ev.kv.mod_revision });
            } else {
              queue.push({ type: 'delete', key, revision: ev.kv.mod_revision });
            }
          }
        });
        w.on('error', (err) => queue.fail(mapError(err, prefix)));
      })
      .catch((err: unknown) => queue.fail(mapError(err, prefix)));
    return queue.asWatch();
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: false });
    const id = await this.call('lease', () => lease.grant());
    return {
      id,
      ttlSeconds,
      keepAlive: async () => {
        const res = await this.call('lease', () => lease.keepaliveOnce());
        if (res.TTL === '0' || Number(res.TTL) <= 0) throw new DatastoreError('not-found', `lease ${id} expired`);
      },
      revoke: async () => {
        try {
          await this.call('lease', () => lease.revoke());
        } catch (err) {
          if (!(err instanceof DatastoreError && err.code === 'not-found')) throw err;
        }
      },
    };
  }

  async close(): Promise<void> {
    for (const stop of [...this.watchers]) stop();
    this.client.close();
  }

  private failure(key: string, present: number, revision: Revision): DatastoreError {
    return present === 0
      ? new DatastoreError('not-found', `key not found: ${key}`, { key })
      : new DatastoreError('conflict', `revision of ${key} is not ${revision}`, { key });
  }

  private toVersioned<T>(kv: IKeyValue): Versioned<T> {
    return { key: kv.key.toString().slice(this.prefix.length), value: JSON.parse(kv.value.toString()) as T, revision: kv.mod_revision };
  }

  /** Runs one request under the deadline, mapping client errors to DatastoreError. */
  private async call<R>(key: string, fn: () => Promise<R>): Promise<R> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DatastoreError('timeout', `etcd request for ${key} exceeded ${this.timeoutMs} ms`, { key })), this.timeoutMs);
    });
    try {
      return await Promise.race([fn(), deadline]);
    } catch (err) {
      throw mapError(err, key);
    } finally {
      clearTimeout(timer);
    }
  }
}

function mapError(err: unknown, key: string): unknown {
  if (err instanceof DatastoreError) return err;
  if (err instanceof GRPCDeadlineExceededError) return new DatastoreError('timeout', `etcd deadline exceeded (${key})`, { cause: err, key });
  if (err instanceof EtcdLeaseInvalidError || err instanceof GRPCNotFoundError) return new DatastoreError('not-found', `etcd: ${(err as Error).message}`, { cause: err, key });
  if (err instanceof GRPCUnavailableError || err instanceof ClientClosedError) return new DatastoreError('unavailable', `etcd unavailable: ${(err as Error).message}`, { cause: err, key });
  const name = (err as { name?: string }).name ?? '';
  if (/BrokenCircuit|Isolated|GRPC/.test(name) || /circuit|unavailable|ECONNREFUSED/i.test((err as Error).message ?? '')) {
    return new DatastoreError('unavailable', `etcd unavailable: ${(err as Error).message}`, { cause: err, key });
  }
  return err;
}
