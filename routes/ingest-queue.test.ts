// IngestQueue ordering and slicing, with a recording applier (the queue's own logic; the reconciler's
// use of it against a real kernel is covered by reconciler-pipeline.test.ts).
import { expect, it } from 'vitest';
import { IngestQueue, type DeltaBatch } from './ingest-queue.js';
import type { Route } from './netlink/types.js';

const routes = (n: number, tag: string): Route[] => Array.from({ length: n }, (_, i) => ({ dst: `10.${tag}.${i >> 8}.${i & 255}/32` }));

it('slices a large batch across event-loop turns, keeps call order, and flush() takes the rest at once', async () => {
  const log: string[] = [];
  const q = new IngestQueue((b: DeltaBatch, from, to) => {
    log.push(`${b.source}:${from}-${to}`);
    return Promise.resolve();
  }, 100);
  const a = q.push({ source: 'a', upserts: routes(250, '1'), removals: [] });
  // First slice taken synchronously: the kernel can start at once.
  expect(log).toEqual(['a:0-100']);
  const b = q.push({ source: 'b', upserts: routes(10, '2'), removals: [{ dst: '10.9.0.0/24' }] });
  expect(log).toEqual(['a:0-100']); // b waits behind a
  await new Promise((r) => setImmediate(r));
  expect(log).toEqual(['a:0-100', 'a:100-200']);
  await a;
  await b;
  expect(log).toEqual(['a:0-100', 'a:100-200', 'a:200-250', 'b:0-10']);
  expect(q.size).toBe(0);

  log.length = 0;
  const c = q.push({ source: 'c', upserts: routes(300, '3'), removals: [] });
  q.flush();
  expect(log).toEqual(['c:0-100', 'c:100-200', 'c:200-300']);
  await c;
});

it('a small batch with nothing queued is taken synchronously; a throwing slice rejects only its batch', async () => {
  const log: string[] = [];
  const q = new IngestQueue((b: DeltaBatch, from, to) => {
    if (b.source === 'bad' && from > 0) throw new Error('malformed');
    log.push(`${b.source}:${from}-${to}`);
    return Promise.resolve();
  }, 100);
  void q.push({ source: 's', upserts: routes(5, '1'), removals: [] });
  expect(log).toEqual(['s:0-5']);
  const bad = q.push({ source: 'bad', upserts: routes(150, '2'), removals: [] });
  const next = q.push({ source: 'n', upserts: routes(1, '3'), removals: [] });
  await expect(bad).rejects.toThrow('malformed');
  await next;
  expect(log).toEqual(['s:0-5', 'bad:0-100', 'n:0-1']);
});
