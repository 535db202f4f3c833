// Block claim in two phases (Calico design/ipam/ipam-core-library.md, "claimAffineBlock"):
//   1. create the affinity `ipam/affinities/<node>/<block>` as `pending`;
//   2. create the block with `affinity: node` — `exists` means another node won the race: drop our
//      pending affinity and try the next free block;
//   3. mark the affinity `confirmed`.
// A crash after 1 leaves a pending affinity with no block: `Ipam.start` and readers ignore pending
// affinities, and the next claim of that block by anyone still works (the block key is the arbiter).
import { isDatastoreError, type Datastore, type Versioned } from './datastore/types.js';
import { blockAt, blockCount, formatCidr, parseCidr, size } from './cidr.js';
import { newBlock, usedCount } from './block.js';
import { AFFINITIES, affinityKey, blockKey } from './keys.js';
import type { ResolvedPool } from './pools.js';
import type { Block, BlockAffinity } from './types.js';
import { createHash } from 'node:crypto';

/** A node's starting point in the pool, so nodes claiming at once do not all race for block 0. */
function startIndex(node: string, count: bigint): bigint {
  const h = BigInt('0x' + createHash('sha256').update(node).digest('hex').slice(0, 15));
  return h % count;
}

/**
 * Claims a free block of `pool` for `node`; undefined when the pool has no free block left. Candidates
 * come from the affinity list (small records) rather than the blocks (which carry every allocation);
 * a block without affinity (orphaned after its node was deleted) is found by the `exists` of phase 2.
 */
export async function claimBlock(store: Datastore, pool: ResolvedPool, node: string, now: number): Promise<Versioned<Block> | undefined> {
  const poolCidr = parseCidr(pool.cidr);
  const count = blockCount(poolCidr, pool.blockSize);
  const taken = new Set((await store.list<BlockAffinity>(AFFINITIES)).items.map((a) => a.value.cidr));
  const start = startIndex(node, count);
  for (let i = 0n; i < count; i++) {
    const candidate = formatCidr(blockAt(poolCidr, pool.blockSize, (start + i) % count));
    if (taken.has(candidate)) continue;
    const akey = affinityKey(node, candidate);
    const affinity: BlockAffinity = { node, cidr: candidate, pool: pool.name, state: 'pending' };
    try {
      await store.create(akey, affinity);
    } catch (err) {
      if (!isDatastoreError(err, 'exists')) throw err;
    }
    let block: Versioned<Block>;
    try {
      block = await store.create(blockKey(candidate), newBlock(candidate, pool.name, node, now));
    } catch (err) {
      if (!isDatastoreError(err, 'exists')) throw err;
      await deleteQuietly(store, akey);
      continue;
    }
    const pending = await store.get<BlockAffinity>(akey);
    if (pending) await store.compareAndSwap(akey, pending.revision, { ...affinity, state: 'confirmed' });
    else await store.create(akey, { ...affinity, state: 'confirmed' });
    return block;
  }
  return undefined;
}

async function deleteQuietly(store: Datastore, key: string): Promise<void> {
  try {
    await store.delete(key);
  } catch (err) {
    if (!isDatastoreError(err, 'not-found')) throw err;
  }
}

export interface PoolUsage {
  readonly size: number;
  readonly used: number;
  readonly free: number;
  readonly blocks: number;
}

export function usageOf(pool: ResolvedPool, blocks: readonly Block[]): PoolUsage {
  const mine = blocks.filter((b) => b.pool === pool.name);
  const used = mine.reduce((n, b) => n + usedCount(b), 0);
  const total = size(parseCidr(pool.cidr));
  return { size: total, used, free: mine.reduce((n, b) => n + size(parseCidr(b.cidr)), 0) - used, blocks: mine.length };
}
