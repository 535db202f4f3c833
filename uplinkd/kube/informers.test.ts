// Node and Pod informers: the real @kubernetes/client-node ListWatch against FakeCoreApiServer (a fake:
// no API server can run here).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kubeConfigFrom } from './client.js';
import { NodeInformer, applyNodeIdentity, nodeIdentity, type NodeIdentity } from './node-informer.js';
import { PodInformer } from './pod-informer.js';
import { FakeCoreApiServer } from './test/fake-core-api-server.js';

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('nodeIdentity (pure)', () => {
  it('reads ASN, router ID, rack and zone; reports bad annotations naming node and key', () => {
    const good = nodeIdentity({ metadata: { name: 'n1', labels: { 'uplink.dev/rack': 'r1', 'topology.kubernetes.io/zone': 'z1', role: 'w' }, annotations: { 'uplink.dev/asn': '4200000001', 'uplink.dev/router-id': '10.255.0.1' } } });
    expect(good).toEqual({ name: 'n1', asn: 4200000001, routerId: '10.255.0.1', rack: 'r1', zone: 'z1', labels: { 'uplink.dev/rack': 'r1', 'topology.kubernetes.io/zone': 'z1', role: 'w' }, problems: [] });
    const bad = nodeIdentity({ metadata: { name: 'n2', annotations: { 'uplink.dev/asn': '0', 'uplink.dev/router-id': '0.0.0.0' } } });
    expect(bad.asn).toBeUndefined();
    expect(bad.routerId).toBeUndefined();
    expect(bad.problems).toHaveLength(2);
    expect(bad.problems[0]).toContain('node n2: annotation uplink.dev/asn');
    expect(bad.problems[1]).toContain('node n2: annotation uplink.dev/router-id');
    for (const asn of ['65001x', '-1', '4294967296', '']) expect(nodeIdentity({ metadata: { name: 'x', annotations: { 'uplink.dev/asn': asn } } }).asn).toBeUndefined();
    expect(nodeIdentity({ metadata: { name: 'x', annotations: { 'uplink.dev/router-id': 'fd00::1' } } }).problems).toHaveLength(1);
  });
});

describe('applyNodeIdentity (pure)', () => {
  it('annotations override asn and routerId of the file; Node labels overlay the file labels; absent values are kept', () => {
    const id = nodeIdentity({ metadata: { name: 'n1', labels: { rack: 'r9', zone: 'z' }, annotations: { 'uplink.dev/asn': '65109' } } });
    const out = applyNodeIdentity({ asn: 65000, routerId: '10.0.0.1', peers: [] }, { rack: 'r1', extra: 'x' }, id);
    expect(out).toEqual({ bgp: { asn: 65109, routerId: '10.0.0.1', peers: [] }, nodeLabels: { rack: 'r9', zone: 'z', extra: 'x' } });
    expect(applyNodeIdentity(undefined, { a: 'b' }, undefined)).toEqual({ bgp: undefined, nodeLabels: { a: 'b' } });
  });
});

describe('informers against the fake API server', () => {
  let api: FakeCoreApiServer;
  let url: string;
  const stops: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    api = new FakeCoreApiServer();
    url = await api.start();
  });
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
    await api.stop();
  });

  it('Node informer: identity of this node, its changes, the node set, and nodeDeleted on a watch event', async () => {
    api.putNode('n1', { labels: { 'uplink.dev/rack': 'r1' }, annotations: { 'uplink.dev/asn': '65101', 'uplink.dev/router-id': '10.255.0.1' } });
    api.putNode('n2');
    const selves: NodeIdentity[] = [];
    const deleted: string[] = [];
    const inf = new NodeInformer(kubeConfigFrom({ server: url }), 'n1', { self: (id) => selves.push(id), nodeDeleted: (n) => deleted.push(n) });
    stops.push(() => inf.stop());
    await inf.start();
    expect(inf.healthy).toBe(true);
    expect(selves.map((s) => [s.asn, s.routerId, s.rack])).toEqual([[65101, '10.255.0.1', 'r1']]);
    expect([...inf.nodeNames()].sort()).toEqual(['n1', 'n2']);

    // A heartbeat-like update with nothing new is not reported; a relabel is.
    api.putNode('n1', { labels: { 'uplink.dev/rack': 'r1' }, annotations: { 'uplink.dev/asn': '65101', 'uplink.dev/router-id': '10.255.0.1' } });
    api.putNode('n1', { labels: { 'uplink.dev/rack': 'r2' }, annotations: { 'uplink.dev/asn': '65102', 'uplink.dev/router-id': '10.255.0.1' } });
    await until(() => selves.length === 2, 'relabel');
    expect(inf.self()).toMatchObject({ rack: 'r2', asn: 65102 });

    api.putNode('n3');
    await until(() => inf.nodeNames().has('n3'), 'n3 added');
    api.deleteNode('n2');
    await until(() => deleted.length === 1, 'nodeDeleted');
    expect(deleted).toEqual(['n2']);
    expect([...inf.nodeNames()].sort()).toEqual(['n1', 'n3']);
    expect(inf.lists).toBe(1);
  });

  it('a watch resumed after a clean disconnect continues from its resourceVersion without listing', async () => {
    api.putNode('n1');
    const deleted: string[] = [];
    const inf = new NodeInformer(kubeConfigFrom({ server: url }), 'n1', { nodeDeleted: (n) => deleted.push(n) });
    stops.push(() => inf.stop());
    await inf.start();
    api.putNode('n2');
    await until(() => inf.nodeNames().has('n2'), 'n2');
    api.holdWatches();
    api.dropWatches();
    api.deleteNode('n2'); // while nobody watches: only the kept event log has it
    await until(() => api.count('watch nodes') === 2, 'the informer to watch again');
    api.releaseWatches();
    await until(() => deleted.length === 1, 'nodeDeleted from the replayed log');
    expect(deleted).toEqual(['n2']);
    expect(inf.lists).toBe(1);
    expect(api.count('list nodes')).toBe(1);
  });

  it('410 Gone on resume: the informer lists again, and a node deleted meanwhile yields nodeDeleted', async () => {
    api.putNode('n1');
    api.putNode('n2');
    const deleted: string[] = [];
    const inf = new NodeInformer(kubeConfigFrom({ server: url }), 'n1', { nodeDeleted: (n) => deleted.push(n) });
    stops.push(() => inf.stop());
    await inf.start();
    api.holdWatches();
    api.dropWatches();
    api.deleteNode('n2');
    api.putNode('n4');
    api.compact(); // the deletion is now only visible by listing
    await until(() => api.count('watch nodes') === 2, 'the informer to watch again');
    api.releaseWatches();
    await until(() => deleted.length === 1 && inf.nodeNames().has('n4'), 'relist');
    expect(deleted).toEqual(['n2']);
    expect(inf.lists).toBe(2);
    expect(api.count('list nodes')).toBe(2);
    expect(inf.healthy).toBe(true);
    // And it watches on from the new list.
    api.deleteNode('n4');
    await until(() => deleted.length === 2, 'n4 deleted');
  });

  it('an API server that goes away: unhealthy, then restarted with backoff and healthy again', async () => {
    api.putNode('n1');
    const inf = new NodeInformer(kubeConfigFrom({ server: url }), 'n1', {}, { retryMs: 50 });
    stops.push(() => inf.stop());
    await inf.start();
    const port = new URL(url).port;
    await api.stop();
    await until(() => !inf.healthy, 'unhealthy after the server left');
    // A new server on the same port with a newer state (and no event log for the old versions).
    api = new FakeCoreApiServer();
    await api.start(Number(port));
    api.putNode('n1');
    api.putNode('n9');
    api.compact();
    await until(() => inf.healthy && inf.nodeNames().has('n9'), 'recovered', 10_000);
  });

  it('start() rejects with not-synced when no API server answers in time', async () => {
    const port = new URL(url).port;
    await api.stop();
    api = new FakeCoreApiServer();
    await api.start(); // a fresh one elsewhere, only so afterEach can stop it
    const inf = new NodeInformer(kubeConfigFrom({ server: `http://127.0.0.1:${port}` }), 'n1', {}, { retryMs: 50 });
    stops.push(() => inf.stop());
    await expect(inf.start(400)).rejects.toMatchObject({ code: 'not-synced' });
    expect(inf.healthy).toBe(false);
  });

  it('Pod informer: pods of this node only; deletions; relist after 410', async () => {
    api.putPod('default', 'web-1', 'n1');
    api.putPod('default', 'web-2', 'n2');
    api.putPod('kube-system', 'dns', 'n1');
    const inf = new PodInformer(kubeConfigFrom({ server: url }), 'n1');
    stops.push(() => inf.stop());
    await inf.start();
    expect([...inf.livePods()].sort()).toEqual(['default/web-1', 'kube-system/dns']);
    api.putPod('default', 'web-3', 'n1');
    api.deletePod('default', 'web-1');
    api.putPod('default', 'web-4', 'n2');
    await until(() => inf.livePods().has('default/web-3') && !inf.livePods().has('default/web-1'), 'pod changes');
    expect([...inf.livePods()].sort()).toEqual(['default/web-3', 'kube-system/dns']);

    api.holdWatches();
    api.dropWatches();
    api.deletePod('kube-system', 'dns');
    api.compact();
    await until(() => api.count('watch pods') === 2, 're-watch');
    api.releaseWatches();
    await until(() => inf.lists === 2, 'relist');
    expect([...inf.livePods()].sort()).toEqual(['default/web-3']);
  });
});

