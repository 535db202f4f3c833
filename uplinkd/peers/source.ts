// DatastorePeerSource: keeps the current set of BGPPeer resources (`bgp/peers/`), or of ToR records
// (`tors/`, with `kind: TOR_RECORDS`), by list + watch and
// hands the whole set to a callback whenever it changes (debounced: a burst of edits is one
// reconfigure). Desired-state style (MetalLB's `Set()`): the callback always gets the full list, never
// a delta, so the caller can simply recompute and `speaker.reconfigure()`; unchanged sessions survive.
//
// Resume rules: the watch starts at the list's revision, so nothing between list and watch is lost.
// When the store has compacted past our revision (etcd compaction, Kubernetes 410 Gone -> DatastoreError
// `compacted`), or the watch fails for any other reason, we list again and resume from that list's
// revision; a failed list is retried with backoff. The list replaces the map, so deletions missed while
// disconnected are seen too.
//
// Concurrency: one loop owns `resources`; the callback runs on the event loop after the debounce and
// never overlaps itself (a change during a slow callback schedules one more call).
import { logger } from '../../lib/log.js';
import { registry } from '../../lib/metrics.js';
import { Counter, Gauge } from 'prom-client';
import { isDatastoreError, type Datastore, type Watch } from '../../ipam/datastore/types.js';
import { PEERS_PREFIX, validatePeerResource, type BgpPeerResource, type PeerProblem } from './resource.js';
import { TORS_PREFIX, validateTorRecord } from './tor.js';
import { BgpPeerError } from './errors.js';

const log = logger('peers');

const resourcesGauge = new Gauge({ name: 'uplink_bgp_peer_resources', help: 'BGPPeer resources in the datastore, by validity', labelNames: ['valid'], registers: [registry] });
const relists = new Counter({ name: 'uplink_bgp_peer_relists_total', help: 'Times the BGPPeer source listed again after a compacted or failed watch', labelNames: ['reason'], registers: [registry] });
const torGauge = new Gauge({ name: 'uplink_tor_records', help: 'ToR records (tors/) in the datastore, by validity', labelNames: ['valid'], registers: [registry] });
const torRelists = new Counter({ name: 'uplink_tor_relists_total', help: 'Times the ToR-record source listed again after a compacted or failed watch', labelNames: ['reason'], registers: [registry] });

/** What a source watches: a key prefix, how to validate one record, its name in logs, its metrics. */
export interface RecordKind {
  readonly prefix: string;
  /** Throws (a BgpPeerError naming the field) when the record is invalid. */
  readonly validate: (r: BgpPeerResource) => unknown;
  readonly what: string;
  readonly gauge: Gauge<'valid'>;
  readonly relists: Counter<'reason'>;
}

export const BGPPEER_RECORDS: RecordKind = { prefix: PEERS_PREFIX, validate: validatePeerResource, what: 'BGPPeer', gauge: resourcesGauge, relists };
export const TOR_RECORDS: RecordKind = { prefix: TORS_PREFIX, validate: validateTorRecord, what: 'ToR record', gauge: torGauge, relists: torRelists };

export interface PeerSourceOptions {
  /** Quiet time after the last change before the callback runs (ms). Default 200. */
  readonly debounceMs?: number;
  /** Backoff after a failed list (ms); doubles to 16x. Default 500. */
  readonly retryMs?: number;
  /** What to watch: BGPPeer resources (the default) or ToR records. */
  readonly kind?: RecordKind;
}

export type PeerListener = (resources: BgpPeerResource[]) => void | Promise<void>;

export class DatastorePeerSource {
  private readonly resources = new Map<string, unknown>();
  private watch: Watch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private lastSent: string | undefined;
  private delivering: Promise<void> | undefined;
  private again = false;
  private wake: (() => void) | undefined;
  private readonly debounceMs: number;
  private readonly retryMs: number;
  private readonly kind: RecordKind;
  /** Lists done (1 at start, +1 per resume): for tests and `uplinkctl status`. */
  listCount = 0;

  constructor(
    private readonly store: Datastore,
    private readonly listener: PeerListener,
    opts: PeerSourceOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 200;
    this.retryMs = opts.retryMs ?? 500;
    this.kind = opts.kind ?? BGPPEER_RECORDS;
  }

  /** Lists once (the callback runs with the initial set before this resolves), then watches in the background. */
  async start(): Promise<void> {
    const rev = await this.list();
    this.lastSent = undefined;
    await this.deliver();
    this.loop = this.run(rev);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    this.watch?.close();
    await this.loop;
    await this.delivering;
  }

  /** The current resources (valid or not), sorted by name. */
  current(): BgpPeerResource[] {
    return [...this.resources].map(([name, value]) => ({ name, value })).sort((a, b) => a.name.localeCompare(b.name));
  }

  private async list(): Promise<string> {
    const prefix = this.kind.prefix;
    const l = await this.store.list(prefix);
    this.listCount++;
    this.resources.clear();
    for (const it of l.items) this.resources.set(it.key.slice(prefix.length), it.value);
    return l.revision;
  }

  private async run(fromRevision: string): Promise<void> {
    let rev: string | undefined = fromRevision;
    let backoff = this.retryMs;
    while (!this.stopped) {
      try {
        if (rev === undefined) {
          rev = await this.list();
          backoff = this.retryMs;
          this.schedule();
        }
        this.watch = this.store.watch(this.kind.prefix, rev);
        for await (const ev of this.watch) {
          const name = ev.key.slice(this.kind.prefix.length);
          if (ev.type === 'put') this.resources.set(name, ev.value);
          else this.resources.delete(name);
          rev = ev.revision;
          this.schedule();
        }
        // The iterator ended without an error: closed by stop(), or the backend ended it (a closed
        // store ends every watch at once: pause so that cannot become a busy loop); re-watch from rev.
        if (!this.stopped) await this.sleep(this.retryMs);
      } catch (err) {
        if (this.stopped) break;
        const compacted = isDatastoreError(err, 'compacted');
        this.kind.relists.inc({ reason: compacted ? 'compacted' : 'error' });
        if (compacted) log.info({ rev }, `${this.kind.what} watch compacted: listing again`);
        else {
          log.warn({ err, rev }, `${this.kind.what} watch or list failed: listing again after backoff`);
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, this.retryMs * 16);
        }
        rev = undefined;
      } finally {
        this.watch?.close();
        this.watch = undefined;
      }
    }
  }

  /** A backoff that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.deliver();
    }, this.debounceMs);
  }

  /** Calls the listener with the full set if it differs from what it last got; never overlaps itself. */
  private async deliver(): Promise<void> {
    if (this.delivering) {
      this.again = true;
      return this.delivering;
    }
    const snapshot = this.current();
    const text = JSON.stringify(snapshot);
    if (text === this.lastSent) return;
    this.lastSent = text;
    reportValidity(this.kind, snapshot);
    this.delivering = (async () => {
      try {
        await this.listener(snapshot);
      } catch (err) {
        // The listener's failure (e.g. a reconfigure that threw) must not stop the watch.
        log.error({ err }, `${this.kind.what} listener failed`);
      }
    })();
    await this.delivering;
    this.delivering = undefined;
    if (this.again && !this.stopped) {
      this.again = false;
      await this.deliver();
    }
  }
}

/** Logs each invalid record once per delivery (record + field) and updates the gauge. */
function reportValidity(kind: RecordKind, resources: readonly BgpPeerResource[]): PeerProblem[] {
  const problems: PeerProblem[] = [];
  for (const r of resources) {
    try {
      kind.validate(r);
    } catch (err) {
      const p = err instanceof BgpPeerError ? { resource: r.name, field: err.field, message: err.message } : { resource: r.name, field: '(value)', message: String(err) };
      problems.push(p);
      log.error(p, `invalid ${kind.what} skipped`);
    }
  }
  kind.gauge.set({ valid: 'true' }, resources.length - problems.length);
  kind.gauge.set({ valid: 'false' }, problems.length);
  return problems;
}

