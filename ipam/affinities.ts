// Routing info from the affinities: which blocks a node owns, as a list and as a stream of changes
// (the agent advertises its blocks over BGP and installs blackholes for them).
import { isDatastoreError, type Datastore } from './datastore/types.js';
import { AFFINITIES, parseAffinityKey } from './keys.js';
import type { BlockAffinity } from './types.js';

export type AffinityEvent = { readonly type: 'add' | 'remove'; readonly node: string; readonly cidr: string };

/** CIDRs of the blocks affine to `node` (default: this node), for advertisement and blackholes. */
export async function blocksOf(store: Datastore, node: string): Promise<string[]> {
  const affs = await store.list<BlockAffinity>(`${AFFINITIES}${node}/`);
  return affs.items.filter((a) => a.value.state !== 'pending').map((a) => a.value.cidr).sort();
}

/**
 * Affinity changes for `node` (all nodes when undefined): first an `add` per current block, then
 * changes as they happen. Re-lists by itself when the store compacted past its position.
 */
export async function* watchAffinities(store: Datastore, node?: string, signal?: AbortSignal): AsyncGenerator<AffinityEvent> {
  const prefix = node === undefined ? AFFINITIES : `${AFFINITIES}${node}/`;
  let known = new Map<string, AffinityEvent>();
  while (!signal?.aborted) {
    const list = await store.list<BlockAffinity>(prefix);
    const now = new Map<string, AffinityEvent>();
    for (const a of list.items) if (a.value.state !== 'pending') now.set(a.key, { type: 'add', node: a.value.node, cidr: a.value.cidr });
    for (const [k, e] of known) if (!now.has(k)) yield { ...e, type: 'remove' };
    for (const [k, e] of now) if (!known.has(k)) yield e;
    known = now;
    const w = store.watch<BlockAffinity>(prefix, list.revision);
    const onAbort = (): void => w.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const ev of w) {
        const parsed = parseAffinityKey(ev.key);
        if (!parsed) continue;
        if (ev.type === 'put' && ev.value.state !== 'pending') {
          if (!known.has(ev.key)) {
            known.set(ev.key, { type: 'add', ...parsed });
            yield { type: 'add', ...parsed };
          }
        } else if (known.has(ev.key)) {
          known.delete(ev.key);
          yield { type: 'remove', ...parsed };
        }
      }
      return;
    } catch (err) {
      if (!isDatastoreError(err, 'compacted')) throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      w.close();
    }
  }
}

