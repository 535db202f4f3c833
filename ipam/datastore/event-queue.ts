// A push-to-pull adapter: backends push watch events (from a poll loop, an etcd watch stream or a
// Kubernetes watch) and consumers read them with `for await`. Unbounded on purpose: a watch consumer
// that falls behind should see memory grow, not silently lose events.
import type { Watch, WatchEvent } from './types.js';

export class EventQueue<V> {
  private readonly items: WatchEvent<V>[] = [];
  private waiter: { resolve: (r: IteratorResult<WatchEvent<V>>) => void; reject: (e: unknown) => void } | undefined;
  private error: unknown;
  closed = false;
  onClose: (() => void) | undefined;

  push(item: WatchEvent<V>): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  /** Ends the stream with an error, delivered after the events already queued. */
  fail(err: unknown): void {
    if (this.closed) return;
    this.error = err;
    this.closed = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(err);
    }
    this.onClose?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
    this.onClose?.();
  }

  next(): Promise<IteratorResult<WatchEvent<V>>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  asWatch(): Watch<V> {
    return {
      close: () => this.close(),
      [Symbol.asyncIterator]: () => ({
        next: () => this.next(),
        return: (): Promise<IteratorResult<WatchEvent<V>>> => {
          this.close();
          return Promise.resolve({ value: undefined, done: true });
        },
      }),
    };
  }
}
