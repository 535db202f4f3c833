// Node deletion in the API server -> the datastore's `nodes/<name>` record removed, which is what the
// cluster GC leader (uplinkd/cluster-gc.ts) treats as "removed": it then reclaims the node's blocks.
// Idempotent, so every agent may do it (the first delete wins, the rest see not-found).
import { isDatastoreError, type Datastore } from '../../ipam/datastore/types.js';
import { NODES_PREFIX } from '../cluster-gc.js';

/** Returns true when this call removed the record. */
export async function removeNodeRecord(store: Pick<Datastore, 'delete'>, node: string): Promise<boolean> {
  try {
    await store.delete(`${NODES_PREFIX}${node}`);
    return true;
  } catch (err) {
    if (isDatastoreError(err, 'not-found')) return false;
    throw err;
  }
}
