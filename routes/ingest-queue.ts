// Delta batches taken into the FIB table one slice per event-loop turn.
//
// Why: the speaker hands over a whole Loc-RIB batch at once (100k routes after a peer comes up).
// Normalizing all of it before the first netlink message leaves the kernel idle for that long; with
// slices the first one is queued on the socket (thread pool) at once and the kernel installs it while
// the next slice is normalized. setImmediate between slices lets the acks of earlier chunks be handled
// in between. Batches stay in call order: a later batch waits behind an earlier one's slices, and
// `flush()` takes everything queued at once, for the callers whose meaning depends on the table being
// complete (whole-set updates, full passes, stop).
import type { Route } from './netlink/types.js';

/** Upserts per slice: the reconciler's largest netlink chunk, so one slice feeds one chunk. */
export const INGEST_SLICE = 8192;

export interface DeltaBatch {
  readonly source: string;
  readonly upserts: readonly Route[];
  readonly removals: readonly Route[];
}

/** What the queue needs of a batch: how many upserts to slice. */
export interface Sliceable {
  readonly upserts: { readonly length: number };
}

/**
 * Takes removals (when `from` is 0, before any upsert of the batch) and upserts[from, to) into the
 * table and requests a pass; resolves when the kernel acked it. May throw on a malformed route.
 */
export type SliceApplier<B extends Sliceable = DeltaBatch> = (batch: B, from: number, to: number) => Promise<void>;

interface Job<B> {
  batch: B;
  at: number;
  /** Upserts in the next slice. */
  size: number;
  acks: Array<Promise<void>>;
  resolve: (p: Promise<void>) => void;
  reject: (err: unknown) => void;
}

export class IngestQueue<B extends Sliceable = DeltaBatch> {
  private readonly jobs: Job<B>[] = [];
  private timer: NodeJS.Immediate | undefined;

  /**
   * `first`: the first slice of a batch, doubling up to `slice` on later turns. A small first slice
   * puts the kernel to work within a millisecond of the call instead of after a whole slice.
   */
  constructor(
    private readonly apply: SliceApplier<B>,
    private readonly slice = INGEST_SLICE,
    private readonly first = slice,
  ) {}

  /** Resolves when every slice of `batch` was acked. The first slice is taken now. */
  push(batch: B): Promise<void> {
    // The common case (a small batch, nothing queued) stays synchronous: no promise wrapper, and a
    // malformed route throws to the caller as before.
    if (!this.jobs.length && batch.upserts.length <= this.first) return this.apply(batch, 0, batch.upserts.length);
    const done = new Promise<void>((resolve, reject) => this.jobs.push({ batch, at: 0, size: this.first, acks: [], resolve, reject }));
    if (this.jobs.length === 1) this.step();
    this.schedule();
    return done;
  }

  /** Takes every queued slice now, in order. */
  flush(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = undefined;
    while (this.jobs.length) this.step();
  }

  get size(): number {
    return this.jobs.length;
  }

  private schedule(): void {
    if (this.timer || !this.jobs.length) return;
    this.timer = setImmediate(() => {
      this.timer = undefined;
      this.step();
      this.schedule();
    });
  }

  private step(): void {
    const job = this.jobs[0];
    if (!job) return;
    const n = job.batch.upserts.length;
    const to = Math.min(job.at + job.size, n);
    job.size = Math.min(job.size * 2, this.slice);
    try {
      job.acks.push(this.apply(job.batch, job.at, to));
    } catch (err) {
      // Slices already taken stay (as a synchronous throw mid-batch left them before slicing).
      this.jobs.shift();
      job.reject(err);
      return;
    }
    job.at = to;
    if (to < n) return;
    this.jobs.shift();
    job.resolve(Promise.all(job.acks).then(() => undefined));
  }
}
