// Node deleted in the API server -> nodeDeleted -> removeNodeRecord -> the cluster GC leader reclaims the
// node's blocks. Real Ipam and ClusterGc on the embedded store; the Node informer against the fake API
// server (a fake: no API server can run here).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedDatastore } from '../../ipam/datastore/embedded.js';
import { Ipam } from '../../ipam/ipam.js';
import { putPool } from '../../ipam/pools.js';
import { ClusterGc, registerNode } from '../cluster-gc.js';
import { EventJournal } from '../events.js';
import { kubeConfigFrom } from './client.js';
import { NodeInformer } from './node-informer.js';
import { removeNodeRecord } from './node-records.js';
import { FakeCoreApiServer } from './test/fake-core-api-server.js';

describe('node deletion reaches the cluster GC', () => {
  it("a deleted Node's record is removed and its blocks reclaimed; other nodes keep theirs", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uplink-nodegc-'));
    const store = new EmbeddedDatastore({ kind: 'embedded', path: join(dir, 'ds.db'), pollMs: 10 });
    const api = new FakeCoreApiServer();
    const url = await api.start();
    const removals: Array<Promise<boolean>> = [];
    const inf = new NodeInformer(kubeConfigFrom({ server: url }), 'n1', { nodeDeleted: (n) => removals.push(removeNodeRecord(store, n)) });
    const gc = new ClusterGc(store, new Ipam(store, { node: 'n1' }), 'n1', new EventJournal(), 200);
    try {
      await putPool(store, { name: 'p4', cidr: '10.244.0.0/16' });
      for (const n of ['n1', 'n2']) {
        api.putNode(n);
        await registerNode(store, n, {});
        const ipam = new Ipam(store, { node: n });
        await ipam.start();
        await ipam.allocate({ containerId: `c-${n}`, ifname: 'eth0', pod: `p-${n}`, namespace: 'default' });
      }
      await inf.start();
      gc.start();
      const waitFor = async (cond: () => boolean | Promise<boolean>, what: string): Promise<void> => {
        for (let i = 0; i < 1000; i++) {
          if (await cond()) return;
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`timed out waiting for ${what}`);
      };
      await waitFor(() => gc.isLeader, 'GC leadership');
      const affinityOwners = async (): Promise<string[]> => (await store.list<{ node: string }>('ipam/affinities/')).items.map((a) => a.value.node).sort();
      await new Promise((r) => setTimeout(r, 500)); // a few leader rounds: nothing is reclaimed while every node is registered
      expect(await affinityOwners()).toEqual(['n1', 'n2']);

      api.deleteNode('n2');
      await waitFor(() => removals.length > 0, 'nodeDeleted');
      expect(await Promise.all(removals)).toEqual([true]);
      expect(await removeNodeRecord(store, 'n2')).toBe(false); // idempotent: another agent got there first

      await waitFor(async () => (await affinityOwners()).join() === 'n1', 'n2 reclaimed by the GC leader');
      const owners = (await store.list<{ affinity: string | null }>('ipam/blocks/')).items.map((b) => b.value.affinity);
      expect(owners).toEqual(['n1']);
      expect((await store.list('nodes/')).items.map((i) => i.key)).toEqual(['nodes/n1']);
    } finally {
      await inf.stop();
      await gc.stop();
      await api.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
