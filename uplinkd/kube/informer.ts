// A client-node ListWatch (the informer behind `makeInformer`) made resilient, plus the state the agent
// needs to trust its cache.
//
// What ListWatch does itself: list, then watch from the list's resourceVersion; when a watch stream
// ends cleanly it watches again from the last resourceVersion it saw (resume); a 410 Gone (ERROR event
// with code 410, or an HTTP 410) clears the version so the next round lists again (relist), and a
// relist fires `delete` for every cached object that is no longer listed — deletions that happened
// while we were not watching are not lost.
// What it does not do, and we add: after any other failure (API server down, list error) it stops for
// good; we start it again with backoff. It also cannot tell a caller whether its cache is current:
// `healthy` is true only after a successful list and until the next failure, so a garbage collector
// never acts on a cache that may be missing objects created during an outage.
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';
import { KubeError, KubeErrorCode } from './errors.js';

export interface InformerOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** First backoff after a failure (ms); doubles up to 32x. Default 500. */
  readonly retryMs?: number;
}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private backoff: number;
  private readonly retryMs: number;
  private syncWaiters: Array<() => void> = [];
  /** Successful lists so far: 1 after start, +1 per relist (410 Gone or restart after failure). */
  lists = 0;
  private isHealthy = false;
  private failures = 0;

  constructor(
    kc: KubeConfig,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    private readonly log: Logger,
    opts: InformerOptions = {},
  ) {
    this.retryMs = opts.retryMs ?? 500;
    this.backoff = this.retryMs;
    const counted = async (): Promise<KubernetesListObject<T>> => {
      const l = await list();
      this.lists++;
      this.isHealthy = true;
      this.backoff = this.retryMs;
      for (const w of this.syncWaiters.splice(0)) w();
      return l;
    };
    // autoStart=false: start() is ours. Same as makeInformer(), plus the field selector it lacks.
    this.lw = new ListWatch<T>(path, new Watch(kc), counted, false, opts.labelSelector, opts.fieldSelector);
    this.lw.on('error', (err: unknown) => this.failed(err));
  }

  /** The cache is complete as of the last list and the watch has not failed since. */
  get healthy(): boolean {
    return this.isHealthy && !this.stopped;
  }

  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void {
    this.lw.on(verb, cb);
  }

  list(): readonly T[] {
    return this.lw.list();
  }

  /** Starts listing and watching; resolves after the first successful list (retrying failures meanwhile). */
  async start(timeoutMs = 30_000): Promise<void> {
    this.stopped = false;
    const synced = new Promise<void>((resolve, reject) => {
      if (this.lists > 0) return resolve();
      const t = setTimeout(() => reject(new KubeError(KubeErrorCode.NotSynced, `informer did not list within ${timeoutMs} ms`)), timeoutMs);
      t.unref();
      this.syncWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
    await this.lw.start();
    await synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.lw.stop();
  }

  private failed(err: unknown): void {
    if (this.stopped) return; // stop() aborts the watch request, which reports as an error
    this.isHealthy = false;
    this.failures++;
    this.log.warn({ err, retryInMs: this.backoff }, 'informer failed: restarting');
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.stopped) return;
      // Resumes from the last resourceVersion (ListWatch lists again if the server answers 410). A
      // resume that connects without failing is as complete as a list: the server replays every event
      // after our version. A 410 arriving later in the stream only triggers a relist.
      const failuresBefore = this.failures;
      void this.lw.start().then(
        () => {
          if (this.failures !== failuresBefore || this.stopped) return;
          this.isHealthy = true;
          this.backoff = this.retryMs;
        },
        (e: unknown) => this.failed(e),
      );
    }, this.backoff);
    this.retry.unref();
    this.backoff = Math.min(this.backoff * 2, this.retryMs * 32);
  }
}
