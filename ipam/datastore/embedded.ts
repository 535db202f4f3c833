// Embedded backend: one sqlite file (better-sqlite3, WAL). Safe for several processes on one host: every
// write is a `BEGIN IMMEDIATE` transaction (takes the write lock up front, so two writers never both
// read-then-write), readers never block writers (WAL), and `busy_timeout` queues lock waiters. A crash
// mid-transaction leaves the file as of the last commit (sqlite's journal), never half an allocation.
//
// Revisions are one global counter bumped per write (like etcd's revision). Every change is appended
// to `events`, which watches poll; old events are trimmed and a watch older than the trim point fails
// `compacted`. Leases are expiry timestamps; expired leases' keys are deleted by the next writer or
// watcher poll, and hidden from reads before that.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import {
  DatastoreError,
  DatastoreKind,
  type CreateOptions,
  type Datastore,
  type EmbeddedConfig,
  type Json,
  type Lease,
  type ListResult,
  type Revision,
  type Versioned,
  type Watch,
  type WatchEvent,
} from './types.js';
import { EventQueue } from './event-queue.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, rev INTEGER NOT NULL, lease TEXT);
CREATE INDEX IF NOT EXISTS kv_lease ON kv(lease);
CREATE TABLE IF NOT EXISTS events (rev INTEGER PRIMARY KEY, key TEXT NOT NULL, type TEXT NOT NULL, value TEXT);
CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, ttl INTEGER NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (k, v) VALUES ('rev', 0), ('compacted', 0);
`;

/** Events kept for watch resume; a watcher further behind than this must relist. */
const EVENTS_KEPT = 20_000;

interface KvRow {
  key: string;
  value: string;
  rev: number;
}

export class EmbeddedDatastore implements Datastore {
  readonly kind = DatastoreKind.Embedded;
  private readonly db: Database.Database;
  private readonly pollMs: number;
  private readonly watches = new Set<() => void>();
  private readonly statements = new Map<string, Database.Statement>();
  private txn: Database.Transaction<(f: () => unknown) => unknown> | undefined;
  private closed = false;

  constructor(config: EmbeddedConfig) {
    this.db = new Database(config.path, { timeout: config.busyTimeoutMs ?? 5000 });
    this.pollMs = config.pollMs ?? 25;
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable against process crashes (the lab's agents); FULL would add
    // power-loss durability at one fsync per commit.
    this.db.pragma('synchronous = NORMAL');
    this.guard(() => this.immediate(() => this.db.exec(SCHEMA)));
  }

  async get<T = Json>(key: string): Promise<Versioned<T> | undefined> {
    return this.guard(() => {
      const row = this.st(`SELECT key, value, rev FROM kv WHERE key = ? AND ${LIVE}`)
        .get(key, Date.now()) as KvRow | undefined;
      return row ? toVersioned<T>(row) : undefined;
    });
  }

  async list<T = Json>(prefix: string): Promise<ListResult<T>> {
    return this.guard(() =>
      // A deferred read transaction gives one consistent snapshot for the rows and the revision.
      this.deferred(() => {
        const rows = this.st(`SELECT key, value, rev FROM kv WHERE key >= ? AND key < ? AND substr(key, 1, ?) = ? AND ${LIVE} ORDER BY key`)
          // A range on the primary key (the last code point bounds every key under the prefix).
          .all(prefix, prefix + '\u{10FFFF}', prefix.length, prefix, Date.now()) as KvRow[];
        return { items: rows.map((r) => toVersioned<T>(r)), revision: String(this.currentRev()) };
      }),
    );
  }

  async create<T = Json>(key: string, value: T, opts?: CreateOptions): Promise<Versioned<T>> {
    return this.write(() => {
      const existing = this.st('SELECT 1 FROM kv WHERE key = ?').get(key);
      if (existing) throw new DatastoreError('exists', `key exists: ${key}`, { key });
      if (opts?.lease !== undefined) {
        const lease = this.st('SELECT 1 FROM leases WHERE id = ?').get(opts.lease);
        if (!lease) throw new DatastoreError('not-found', `lease ${opts.lease} not found or expired`, { key });
      }
      const rev = this.bump();
      const text = JSON.stringify(value);
      this.st('INSERT INTO kv (key, value, rev, lease) VALUES (?, ?, ?, ?)').run(key, text, rev, opts?.lease ?? null);
      this.event(rev, key, 'put', text);
      return { key, value, revision: String(rev) };
    });
  }

  async compareAndSwap<T = Json>(key: string, revision: Revision, value: T): Promise<Versioned<T>> {
    return this.write(() => {
      const row = this.st('SELECT rev FROM kv WHERE key = ?').get(key) as { rev: number } | undefined;
      if (!row) throw new DatastoreError('not-found', `key not found: ${key}`, { key });
      if (String(row.rev) !== revision) {
        throw new DatastoreError('conflict', `revision of ${key} is ${row.rev}, not ${revision}`, { key });
      }
      const rev = this.bump();
      const text = JSON.stringify(value);
      this.st('UPDATE kv SET value = ?, rev = ? WHERE key = ?').run(text, rev, key);
      this.event(rev, key, 'put', text);
      return { key, value, revision: String(rev) };
    });
  }

  async delete(key: string, revision?: Revision): Promise<void> {
    this.write(() => {
      const row = this.st('SELECT rev FROM kv WHERE key = ?').get(key) as { rev: number } | undefined;
      if (!row) throw new DatastoreError('not-found', `key not found: ${key}`, { key });
      if (revision !== undefined && String(row.rev) !== revision) {
        throw new DatastoreError('conflict', `revision of ${key} is ${row.rev}, not ${revision}`, { key });
      }
      this.removeKey(key);
    });
  }

  watch<T = Json>(prefix: string, fromRevision?: Revision): Watch<T> {
    const queue = new EventQueue<T>();
    let last = fromRevision !== undefined ? Number(fromRevision) : -1;
    let timer: NodeJS.Timeout | undefined;
    const poll = (): void => {
      timer = undefined;
      let more = false;
      if (queue.closed || this.closed) return;
      try {
        this.sweepIfDue();
        if (last < 0) last = this.currentRev();
        const compacted = (this.st(`SELECT v FROM meta WHERE k = 'compacted'`).get() as { v: number }).v;
        if (last < compacted) {
          queue.fail(new DatastoreError('compacted', `revision ${last} compacted (oldest kept ${compacted})`));
          return;
        }
        const rows = this.st('SELECT rev, key, type, value FROM events WHERE rev > ? AND substr(key, 1, ?) = ? ORDER BY rev LIMIT 1000')
          .all(last, prefix.length, prefix) as { rev: number; key: string; type: string; value: string | null }[];
        for (const r of rows) {
          queue.push(
            r.type === 'put'
              ? { type: 'put', key: r.key, value: JSON.parse(r.value ?? 'null') as T, revision: String(r.rev) }
              : { type: 'delete', key: r.key, revision: String(r.rev) },
          );
        }
        // Advance past events of other prefixes too, but only as far as what we have seen committed.
        more = rows.length === 1000;
        last = more ? rows[rows.length - 1]!.rev : Math.max(last, this.currentRev());
      } catch (err) {
        queue.fail(mapSqliteError(err));
        return;
      }
      timer = setTimeout(poll, more ? 0 : this.pollMs);
    };
    const stop = (): void => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      queue.close();
      this.watches.delete(stop);
    };
    this.watches.add(stop);
    queue.onClose = stop;
    poll();
    return queue.asWatch();
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    const id = randomBytes(8).toString('hex');
    this.write(() => {
      this.st('INSERT INTO leases (id, ttl, expires) VALUES (?, ?, ?)').run(id, ttlSeconds, Date.now() + ttlSeconds * 1000);
    });
    return {
      id,
      ttlSeconds,
      keepAlive: async () => {
        this.write(() => {
          const r = this.st('UPDATE leases SET expires = ? WHERE id = ? AND expires > ?').run(Date.now() + ttlSeconds * 1000, id, Date.now());
          if (r.changes === 0) throw new DatastoreError('not-found', `lease ${id} expired`);
        });
      },
      revoke: async () => {
        this.write(() => this.dropLease(id));
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const stop of [...this.watches]) stop();
    this.closed = true;
    this.db.close();
  }

  // --- internals -------------------------------------------------------------------------------------

  /** Prepared statements, cached: preparing costs more than running most of these queries. */
  private st(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private currentRev(): number {
    return (this.st(`SELECT v FROM meta WHERE k = 'rev'`).get() as { v: number }).v;
  }

  private bump(): number {
    const rev = this.currentRev() + 1;
    this.st(`UPDATE meta SET v = ? WHERE k = 'rev'`).run(rev);
    return rev;
  }

  private event(rev: number, key: string, type: 'put' | 'delete', value: string | null): void {
    this.st('INSERT INTO events (rev, key, type, value) VALUES (?, ?, ?, ?)').run(rev, key, type, value);
    if (rev % 1000 === 0) {
      const floor = rev - EVENTS_KEPT;
      if (floor > 0) {
        this.st('DELETE FROM events WHERE rev <= ?').run(floor);
        this.st(`UPDATE meta SET v = ? WHERE k = 'compacted'`).run(floor);
      }
    }
  }

  private removeKey(key: string): void {
    const rev = this.bump();
    this.st('DELETE FROM kv WHERE key = ?').run(key);
    this.event(rev, key, 'delete', null);
  }

  private dropLease(id: string): void {
    const keys = this.st('SELECT key FROM kv WHERE lease = ?').all(id) as { key: string }[];
    for (const k of keys) this.removeKey(k.key);
    this.st('DELETE FROM leases WHERE id = ?').run(id);
  }

  /** Deletes the keys of expired leases; runs inside write transactions. */
  private sweep(): void {
    const expired = this.st('SELECT id FROM leases WHERE expires <= ?').all(Date.now()) as { id: string }[];
    for (const l of expired) this.dropLease(l.id);
  }

  private sweepIfDue(): void {
    const due = this.st('SELECT 1 FROM leases WHERE expires <= ? LIMIT 1').get(Date.now());
    if (due) this.write(() => undefined);
  }

  private deferred<R>(fn: () => R): R {
    this.txn ??= this.db.transaction((f: () => unknown) => f());
    return this.txn.deferred(fn) as R;
  }

  private immediate<R>(fn: () => R): R {
    // One transaction wrapper for all calls: better-sqlite3 prepares BEGIN/COMMIT per wrapper.
    this.txn ??= this.db.transaction((f: () => unknown) => f());
    return this.txn.immediate(fn) as R;
  }

  /** One write transaction: takes the lock, sweeps expired leases, then runs `fn`. */
  private write<R>(fn: () => R): R {
    return this.guard(() =>
      this.immediate(() => {
        this.sweep();
        return fn();
      }),
    );
  }

  private guard<R>(fn: () => R): R {
    if (this.closed) throw new DatastoreError('unavailable', 'datastore closed');
    try {
      return fn();
    } catch (err) {
      throw mapSqliteError(err);
    }
  }
}

/** A row is visible unless its lease has expired (expired keys await the next writer's sweep). */
const LIVE = '(lease IS NULL OR lease IN (SELECT id FROM leases WHERE expires > ?))';

function toVersioned<T>(row: KvRow): Versioned<T> {
  return { key: row.key, value: JSON.parse(row.value) as T, revision: String(row.rev) };
}

function mapSqliteError(err: unknown): unknown {
  if (err instanceof DatastoreError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code?.startsWith('SQLITE_BUSY')) {
    return new DatastoreError('unavailable', 'sqlite database is locked by another writer', { cause: err });
  }
  if (code?.startsWith('SQLITE_')) return new DatastoreError('unavailable', `sqlite: ${(err as Error).message}`, { cause: err });
  return err;
}
