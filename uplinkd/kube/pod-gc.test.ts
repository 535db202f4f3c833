// Pod GC: the pure decision, then the runner with a real Ipam on the embedded store and the real
// PodInformer against the fake API server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedDatastore } from '../../ipam/datastore/embedded.js';
import { Ipam } from '../../ipam/ipam.js';
import { putPool } from '../../ipam/pools.js';
import type { HandleRecord } from '../../ipam/types.js';
import { kubeConfigFrom } from './client.js';
import { PodGc, podGcDecision } from './pod-gc.js';
import { PodInformer, type LivePods } from './pod-informer.js';
import { FakeCoreApiServer } from './test/fake-core-api-server.js';

const h = (handle: string, attrs: Record<string, string>): Pick<HandleRecord, 'handle' | 'attrs'> => ({ handle, attrs });

describe('podGcDecision (pure)', () => {
  const handles = [
    h('c1.eth0', { node: 'n1', pod: 'web-1', namespace: 'default' }),
    h('c2.eth0', { node: 'n1', pod: 'web-2', namespace: 'default' }),
    h('c3.eth0', { node: 'n2', pod: 'web-3', namespace: 'default' }), // another node's
    h('c4.eth0', { node: 'n1' }), // no pod attributes (e.g. a host-level allocation)
    h('c5.eth0', { node: 'n1', pod: 'web-5' }), // no namespace: cannot be matched, never released
    h('c6.eth0', { node: 'n1', pod: 'dns', namespace: 'kube-system' }),
  ];
  const live = new Set(['default/web-1', 'kube-system/dns']);

  it('a missing pod is pending first, released only after the grace period', () => {
    const d0 = podGcDecision(handles, live, 'n1', new Map(), 1000, 60_000);
    expect(d0).toEqual({ release: [], pending: ['c2.eth0'], missingSince: new Map([['c2.eth0', 1000]]) });
    const d1 = podGcDecision(handles, live, 'n1', d0.missingSince, 60_999, 60_000);
    expect(d1.release).toEqual([]);
    expect(d1.missingSince.get('c2.eth0')).toBe(1000);
    const d2 = podGcDecision(handles, live, 'n1', d1.missingSince, 61_000, 60_000);
    expect(d2.release).toEqual(['c2.eth0']);
    expect(d2.missingSince.size).toBe(0);
  });

  it('a pod that reappears (informer lag during creation) resets its clock', () => {
    const d0 = podGcDecision(handles, live, 'n1', new Map(), 0, 10);
    const d1 = podGcDecision(handles, new Set([...live, 'default/web-2']), 'n1', d0.missingSince, 5, 10);
    expect(d1.pending).toEqual([]);
    const d2 = podGcDecision(handles, live, 'n1', d1.missingSince, 20, 10);
    expect(d2).toMatchObject({ release: [], pending: ['c2.eth0'] });
  });

  it('never touches other nodes, handles without pod and namespace, or live pods', () => {
    const d = podGcDecision(handles, new Set(), 'n1', new Map([['c3.eth0', 0], ['c4.eth0', 0], ['c5.eth0', 0]]), 1e12, 0);
    expect(d.release).toEqual(['c1.eth0', 'c2.eth0', 'c6.eth0']);
  });
});

describe('PodGc with a real Ipam (embedded store) and the pod informer (fake API server)', () => {
  it('releases the addresses of deleted pods after the grace period, keeps live and new ones, waits out an unhealthy cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-podgc-'));
    const store = new EmbeddedDatastore({ kind: 'embedded', path: join(dir, 'ds.db'), pollMs: 10 });
    const api = new FakeCoreApiServer();
    const url = await api.start();
    const pods = new PodInformer(kubeConfigFrom({ server: url }), 'n1');
    try {
      await putPool(store, { name: 'p4', cidr: '10.244.0.0/16' });
      const ipam = new Ipam(store, { node: 'n1' });
      await ipam.start();
      const other = new Ipam(store, { node: 'n2' });
      await other.start();
      api.putPod('default', 'web-1', 'n1');
      api.putPod('default', 'web-2', 'n1');
      const a1 = await ipam.allocate({ containerId: 'c1', ifname: 'eth0', pod: 'web-1', namespace: 'default' });
      const a2 = await ipam.allocate({ containerId: 'c2', ifname: 'eth0', pod: 'web-2', namespace: 'default' });
      // n2's pod: not on our node, so not in our pod set; must survive our GC.
      await other.allocate({ containerId: 'c9', ifname: 'eth0', pod: 'far', namespace: 'default' });
      await pods.start();

      let now = 1_000_000;
      const gc = new PodGc(ipam, pods, { node: 'n1', graceMs: 30_000, now: () => now });
      expect(await gc.run()).toEqual({ ran: true, released: [], pending: [], addresses: [] });

      api.deletePod('default', 'web-2');
      // A pod whose handle exists before the informer has seen the pod (creation racing the cache).
      const a3 = await ipam.allocate({ containerId: 'c3', ifname: 'eth0', pod: 'web-3', namespace: 'default' });
      const waitFor = async (cond: () => boolean): Promise<void> => {
        for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
      };
      await waitFor(() => !pods.livePods().has('default/web-2'));
      expect(await gc.run()).toMatchObject({ ran: true, released: [], pending: ['c2.eth0', 'c3.eth0'] });
      api.putPod('default', 'web-3', 'n1');
      await waitFor(() => pods.livePods().has('default/web-3'));

      now += 30_000;
      const r = await gc.run();
      expect(r).toMatchObject({ ran: true, released: ['c2.eth0'], pending: [] });
      expect(r.addresses).toEqual(a2.addresses.map((x) => x.address));

      // Read back from the store: web-2's handle and address are gone; web-1, web-3 and n2's remain.
      const handles = (await store.list<HandleRecord>('ipam/handles/')).items.map((i) => i.value.handle).sort();
      expect(handles).toEqual(['c1.eth0', 'c3.eth0', 'c9.eth0']);
      const blocks = (await store.list<{ allocations: Record<string, { handle: string }> }>('ipam/blocks/')).items;
      const held = blocks.flatMap((b) => Object.values(b.value.allocations).map((x) => x.handle)).sort();
      expect(held).toEqual(['c1.eth0', 'c3.eth0', 'c9.eth0']);
      expect(a1.addresses.length).toBe(1);
      expect(a3.addresses.length).toBe(1);

      // With the API server gone the cache is not trusted: nothing is decided, even past the grace.
      api.deletePod('default', 'web-1');
      await waitFor(() => !pods.livePods().has('default/web-1'));
      await api.stop();
      await waitFor(() => !pods.healthy);
      expect(pods.healthy).toBe(false);
      now += 3_600_000;
      expect(await gc.run()).toMatchObject({ ran: false, released: [] });
      expect((await store.list('ipam/handles/')).items.length).toBe(3);
    } finally {
      await pods.stop();
      await api.stop().catch(() => undefined);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a source that was never healthy releases nothing', async () => {
    const never: LivePods = { healthy: false, livePods: () => new Set() };
    let releases = 0;
    const gc = new PodGc({ store: { list: async () => ({ items: [{ key: 'ipam/handles/x', revision: '1', value: { handle: 'x', attrs: { node: 'n1', pod: 'p', namespace: 'd' }, addresses: [] } }], revision: '1' }) as never }, release: async () => (releases++, []) }, never, { node: 'n1', graceMs: 0 });
    expect((await gc.run()).ran).toBe(false);
    expect(releases).toBe(0);
  });
});
