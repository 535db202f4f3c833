// DatastorePeerSource against real backends: the embedded sqlite store (temp dir) and a real etcd.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedDatastore } from '../../ipam/datastore/embedded.js';
import { EtcdDatastore } from '../../ipam/datastore/etcd.js';
import { KubernetesDatastore } from '../../ipam/datastore/kubernetes.js';
import { FakeKubeApiServer } from '../../ipam/test/fake-kube-api-server.js';
import type { Datastore } from '../../ipam/datastore/types.js';
import { startEtcd, type EtcdHandle } from '../../test/harness/etcd.js';
import { peersForNode, type BgpPeerResource } from './resource.js';
import { DatastorePeerSource } from './source.js';
import { putPeerResource, deletePeerResource, showPeerResources } from './store.js';

/** Collects every delivery; `next(pred)` waits for a delivery matching pred. */
function recorder(): { calls: BgpPeerResource[][]; next: (pred: (r: BgpPeerResource[]) => boolean, ms?: number) => Promise<BgpPeerResource[]>; listener: (r: BgpPeerResource[]) => void } {
  const calls: BgpPeerResource[][] = [];
  const waiters: Array<{ pred: (r: BgpPeerResource[]) => boolean; resolve: (r: BgpPeerResource[]) => void }> = [];
  return {
    calls,
    listener: (r) => {
      calls.push(r);
      for (const w of [...waiters]) if (w.pred(r)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(r);
      }
    },
    next: (pred, ms = 5000) =>
      new Promise((resolve, reject) => {
        const last = calls.at(-1);
        if (last && pred(last)) return resolve(last);
        const t = setTimeout(() => reject(new Error(`no matching delivery in ${ms} ms; got ${JSON.stringify(calls.map((c) => c.map((x) => x.name)))}`)), ms);
        waiters.push({ pred, resolve: (r) => (clearTimeout(t), resolve(r)) });
      }),
  };
}

const names = (r: BgpPeerResource[]): string => r.map((x) => x.name).join(',');

/** The same scenario on every backend. */
async function scenario(store: Datastore): Promise<void> {
  await putPeerResource(store, 'tor-a', { peerIP: '10.0.0.1', asNumber: 65001, nodeSelector: 'rack == "a"' });
  const rec = recorder();
  // The burst below must land within one debounce window even on a loaded CI machine (three writes over
  // HTTP to the fake API server took >50 ms under load): 300 ms is still a fraction of a second.
  const src = new DatastorePeerSource(store, rec.listener, { debounceMs: 300 });
  try {
    await src.start();
    // The initial set is delivered before start() resolves.
    expect(rec.calls.map(names)).toEqual(['tor-a']);

    // A burst of writes is one delivery (debounced), with the full set.
    const before = rec.calls.length;
    await putPeerResource(store, 'tor-b', { peerIP: '10.0.0.2', asNumber: 65002, nodeSelector: 'rack == "b"' });
    await putPeerResource(store, 'rr', { peerIP: '10.0.0.3', asNumber: 65000, routeReflectorClient: true });
    await putPeerResource(store, 'tor-a', { peerIP: '10.0.0.1', asNumber: 65011, nodeSelector: 'rack == "a"' });
    const after = await rec.next((r) => names(r) === 'rr,tor-a,tor-b' && (r[1]!.value as { asNumber: number }).asNumber === 65011);
    expect(rec.calls.length - before).toBe(1);
    expect(peersForNode(after, 'n1', { rack: 'a' }).map((p) => `${p.name}:${p.asn}`)).toEqual(['bgppeer/rr:65000', 'bgppeer/tor-a:65011']);

    // An invalid resource written behind the validator's back is delivered (the caller skips it) and
    // does not stop the watch.
    await store.create('bgp/peers/broken', { peerIP: 'nope', asNumber: 1 });
    await rec.next((r) => names(r) === 'broken,rr,tor-a,tor-b');
    expect(peersForNode(src.current(), 'n1', { rack: 'b' }).map((p) => p.name)).toEqual(['bgppeer/rr', 'bgppeer/tor-b']);

    await deletePeerResource(store, 'tor-b');
    await deletePeerResource(store, 'broken');
    await rec.next((r) => names(r) === 'rr,tor-a');

    // A write that changes nothing delivers nothing.
    const n = rec.calls.length;
    await putPeerResource(store, 'rr', { peerIP: '10.0.0.3', asNumber: 65000, routeReflectorClient: true });
    await new Promise((r) => setTimeout(r, 300));
    expect(rec.calls.length).toBe(n);

    await store.create('nodes/n1', { node: 'n1', registeredAt: '', labels: { rack: 'a' } });
    await store.create('nodes/n2', { node: 'n2', registeredAt: '', labels: { rack: 'b' } });
    expect((await showPeerResources(store)).map((v) => `${v.name}:${v.nodes.join('+')}`)).toEqual(['rr:n1+n2', 'tor-a:n1']);
  } finally {
    await src.stop();
  }
}

describe('DatastorePeerSource on the embedded (sqlite) backend', () => {
  it('lists, watches, debounces, tolerates invalid resources', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-peers-'));
    const store = new EmbeddedDatastore({ kind: 'embedded', path: join(dir, 'ds.db'), pollMs: 10 });
    try {
      await scenario(store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a listener that throws does not stop the watch; stop() is prompt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-peers-'));
    const store = new EmbeddedDatastore({ kind: 'embedded', path: join(dir, 'ds.db'), pollMs: 10 });
    const rec = recorder();
    const src = new DatastorePeerSource(store, (r) => {
      rec.listener(r);
      if (r.length === 0) throw new Error('reconfigure failed');
    }, { debounceMs: 20 });
    try {
      await src.start();
      await putPeerResource(store, 'a', { peerIP: '10.0.0.1', asNumber: 65001 });
      await rec.next((r) => names(r) === 'a');
      expect(rec.calls.map(names)).toEqual(['', 'a']);
    } finally {
      const t0 = Date.now();
      await src.stop();
      expect(Date.now() - t0).toBeLessThan(500);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resumes after compaction by listing again, and sees changes it never got as events', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-peers-'));
    const path = join(dir, 'ds.db');
    const store = new EmbeddedDatastore({ kind: 'embedded', path, pollMs: 10 });
    const rec = recorder();
    const src = new DatastorePeerSource(store, rec.listener, { debounceMs: 30 });
    const raw = new Database(path);
    try {
      await putPeerResource(store, 'tor-a', { peerIP: '10.0.0.1', asNumber: 65001 });
      await src.start();
      expect(src.listCount).toBe(1);
      // Behind the store's back (another process sharing the file, then an event trim): a peer appears
      // with no event and the event log is compacted past the watcher's revision.
      raw.transaction(() => {
        const rev = (raw.prepare(`SELECT v FROM meta WHERE k = 'rev'`).get() as { v: number }).v + 10;
        raw.prepare('INSERT INTO kv (key, value, rev, lease) VALUES (?, ?, ?, NULL)').run('bgp/peers/tor-z', JSON.stringify({ peerIP: '10.0.0.26', asNumber: 65026 }), rev);
        raw.prepare('DELETE FROM kv WHERE key = ?').run('bgp/peers/tor-a');
        raw.prepare(`UPDATE meta SET v = ? WHERE k = 'rev'`).run(rev);
        raw.prepare(`UPDATE meta SET v = ? WHERE k = 'compacted'`).run(rev);
        raw.prepare('DELETE FROM events').run();
      })();
      const got = await rec.next((r) => names(r) === 'tor-z');
      expect(got[0]!.value).toEqual({ peerIP: '10.0.0.26', asNumber: 65026 });
      expect(src.listCount).toBeGreaterThanOrEqual(2);
      // And it keeps watching from the new list's revision.
      await putPeerResource(store, 'tor-y', { peerIP: '10.0.0.25', asNumber: 65025 });
      await rec.next((r) => names(r) === 'tor-y,tor-z');
    } finally {
      await src.stop();
      raw.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DatastorePeerSource on a real etcd', () => {
  let etcd: EtcdHandle;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('lists, watches, debounces, tolerates invalid resources', async () => {
    const store = await EtcdDatastore.open({ kind: 'etcd', endpoints: [etcd.endpoint], prefix: `/t-${randomBytes(4).toString('hex')}/` });
    try {
      await scenario(store);
    } finally {
      await store.close();
    }
  });

  it('a watch from a compacted revision (etcd compaction) is resumed by listing again', async () => {
    const store = await EtcdDatastore.open({ kind: 'etcd', endpoints: [etcd.endpoint], prefix: `/t-${randomBytes(4).toString('hex')}/`, requestTimeoutMs: 1000 });
    const rec = recorder();
    let first = true;
    // start() lists, delivers, then watches from the list's revision: the first delivery is the window
    // in which we change a peer and compact etcd past that revision, so the watch must fail `compacted`.
    const src = new DatastorePeerSource(store, async (r) => {
      rec.listener(r);
      if (!first) return;
      first = false;
      await putPeerResource(store, 'b', { peerIP: '10.0.0.2', asNumber: 65002 });
      // etcd keeps the compaction revision itself: one more write so the compaction covers b's revision.
      await store.create('unrelated/x', 1);
      const head = (await (await fetch(`${etcd.endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })).json()) as { header: { revision: string } };
      const res = await fetch(`${etcd.endpoint}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: head.header.revision, physical: true }) });
      expect(res.ok).toBe(true);
    }, { debounceMs: 30, retryMs: 100 });
    try {
      await putPeerResource(store, 'a', { peerIP: '10.0.0.1', asNumber: 65001 });
      await src.start();
      expect(rec.calls.map(names)).toEqual(['a']);
      await rec.next((r) => names(r) === 'a,b');
      expect(src.listCount).toBe(2);
      // Watching again from the new list's revision.
      await deletePeerResource(store, 'a');
      await rec.next((r) => names(r) === 'b');
    } finally {
      await src.stop();
      await store.close();
    }
  });
});

describe('DatastorePeerSource on the kubernetes backend (FakeKubeApiServer: a fake, no API server runs here)', () => {
  it('BGPPeer objects: lists, watches, debounces, tolerates invalid resources', async () => {
    const fake = new FakeKubeApiServer();
    const store = await KubernetesDatastore.open({ kind: 'kubernetes', server: await fake.start(), token: 'fake' });
    try {
      await scenario(store);
      // The records are BGPPeer custom objects (kube-mapping.ts), value in spec.value.
      const res = await fetch(`http://127.0.0.1:${fake.port}/apis/uplink.dev/v1alpha1/bgppeers`);
      const list = (await res.json()) as { items: Array<{ metadata: { annotations: Record<string, string> }; spec: { value: { asNumber: number } } }> };
      expect(list.items.map((o) => o.metadata.annotations['uplink.dev/key']).sort()).toEqual(['bgp/peers/rr', 'bgp/peers/tor-a']);
      expect(list.items.map((o) => o.spec.value.asNumber).sort()).toEqual([65000, 65011]);
    } finally {
      await store.close();
      await fake.stop();
    }
  });

  it('410 Gone on the watch: lists again and resumes', async () => {
    const fake = new FakeKubeApiServer();
    const store = await KubernetesDatastore.open({ kind: 'kubernetes', server: await fake.start(), token: 'fake' });
    const rec = recorder();
    let first = true;
    const src = new DatastorePeerSource(store, async (r) => {
      rec.listener(r);
      if (!first) return;
      first = false;
      // Between list and watch: a change, then the server forgets its event log.
      await putPeerResource(store, 'b', { peerIP: '10.0.0.2', asNumber: 65002 });
      fake.compact();
    }, { debounceMs: 30, retryMs: 100 });
    try {
      await putPeerResource(store, 'a', { peerIP: '10.0.0.1', asNumber: 65001 });
      await src.start();
      await rec.next((r) => names(r) === 'a,b');
      expect(src.listCount).toBe(2);
      await deletePeerResource(store, 'a');
      await rec.next((r) => names(r) === 'b');
    } finally {
      await src.stop();
      await store.close();
      await fake.stop();
    }
  });
});
