// Reading and writing BGPPeer resources for `uplinkctl` (and tests): validated on write, so a bad
// resource is refused at the CLI instead of being skipped by every agent.
import { isDatastoreError, type Datastore } from '../../ipam/datastore/types.js';
import { NODES_PREFIX, type NodeRecord } from '../cluster-gc.js';
import { PEERS_PREFIX, describePeers, validatePeerResource, type BgpPeerResource, type BgpPeerSpec, type PeerResourceView } from './resource.js';
import { TORS_PREFIX, validateTorRecord, type TorSpec } from './tor.js';

export async function listPeerResources(store: Datastore): Promise<BgpPeerResource[]> {
  const l = await store.list(PEERS_PREFIX);
  return l.items.map((i) => ({ name: i.key.slice(PEERS_PREFIX.length), value: i.value as unknown })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Creates or replaces `bgp/peers/<name>` after validating it (throws BgpPeerError `invalid-bgp-peer`). */
export async function putPeerResource(store: Datastore, name: string, value: unknown): Promise<BgpPeerSpec> {
  const spec = validatePeerResource({ name, value });
  await putRecord(store, PEERS_PREFIX + name, spec);
  return spec;
}

/**
 * Creates or replaces `tors/<name>` after validating it (throws BgpPeerError `invalid-tor`): what the
 * kubernetes datastore gets from `uplink-topology kube | kubectl apply`, for the other backends.
 */
export async function putTorRecord(store: Datastore, name: string, value: unknown): Promise<TorSpec> {
  const spec = validateTorRecord({ name, value });
  await putRecord(store, TORS_PREFIX + name, value);
  return spec;
}

/** Idempotent. */
export async function deleteTorRecord(store: Datastore, name: string): Promise<void> {
  try {
    await store.delete(TORS_PREFIX + name);
  } catch (err) {
    if (!isDatastoreError(err, 'not-found')) throw err;
  }
}

export async function listTorRecords(store: Datastore): Promise<BgpPeerResource[]> {
  const l = await store.list(TORS_PREFIX);
  return l.items.map((i) => ({ name: i.key.slice(TORS_PREFIX.length), value: i.value as unknown })).sort((a, b) => a.name.localeCompare(b.name));
}

async function putRecord(store: Datastore, key: string, spec: unknown): Promise<void> {
  for (;;) {
    const cur = await store.get(key);
    try {
      if (cur) await store.compareAndSwap(key, cur.revision, spec as never);
      else await store.create(key, spec as never);
      return;
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
