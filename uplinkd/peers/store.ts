// Reading and writing BGPPeer resources for `uplinkctl` (and tests): validated on write, so a bad
// resource is refused at the CLI instead of being skipped by every agent.
import { isDatastoreError, type Datastore } from '../../ipam/datastore/types.js';
import { NODES_PREFIX, type NodeRecord } from '../cluster-gc.js';
import { PEERS_PREFIX, describePeers, validatePeerResource, type BgpPeerResource, type BgpPeerSpec, type PeerResourceView } from './resource.js';

export async function listPeerResources(store: Datastore): Promise<BgpPeerResource[]> {
  const l = await store.list(PEERS_PREFIX);
  return l.items.map((i) => ({ name: i.key.slice(PEERS_PREFIX.length), value: i.value as unknown })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Creates or replaces `bgp/peers/<name>` after validating it (throws BgpPeerError `invalid-bgp-peer`). */
export async function putPeerResource(store: Datastore, name: string, value: unknown): Promise<BgpPeerSpec> {
  const spec = validatePeerResource({ name, value });
  const key = PEERS_PREFIX + name;
  for (;;) {
    const cur = await store.get(key);
    try {
      if (cur) await store.compareAndSwap(key, cur.revision, spec as never);
      else await store.create(key, spec as never);
      return spec;
    } catch (err) {
      if (isDatastoreError(err, 'conflict') || isDatastoreError(err, 'exists') || isDatastoreError(err, 'not-found')) continue;
      throw err;
    }
  }
}

/** Idempotent. */
export async function deletePeerResource(store: Datastore, name: string): Promise<void> {
  try {
    await store.delete(PEERS_PREFIX + name);
  } catch (err) {
    if (!isDatastoreError(err, 'not-found')) throw err;
  }
}

/** Every resource with the registered nodes (`nodes/<name>` records) it selects: `uplinkctl get bgppeers`. */
export async function showPeerResources(store: Datastore): Promise<PeerResourceView[]> {
  const nodes = (await store.list<NodeRecord>(NODES_PREFIX)).items.map((i) => ({ name: i.value.node, labels: i.value.labels ?? {} }));
  return describePeers(await listPeerResources(store), nodes);
}
