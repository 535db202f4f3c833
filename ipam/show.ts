// Data for `uplinkctl ipam show`: pure on a snapshot of the store, so the CLI, tests and the agent's
// debug endpoint all print the same thing. `readSnapshot` is the only part that touches the store.
import type { Datastore } from './datastore/types.js';
import { freeCount, usedCount, blockSize } from './block.js';
import { parseAffinityKey, AFFINITIES, BLOCKS, HANDLES } from './keys.js';
import { POOLS_PREFIX, resolvePool } from './pools.js';
import { parseCidr, size } from './cidr.js';
import type { Block, BlockAffinity, HandleRecord, IpPool } from './types.js';

export interface IpamSnapshot {
  readonly pools: IpPool[];
  readonly blocks: Block[];
  readonly affinities: BlockAffinity[];
  readonly handles: HandleRecord[];
}

export async function readSnapshot(store: Datastore): Promise<IpamSnapshot> {
  const [pools, blocks, affinities, handles] = await Promise.all([
    store.list<IpPool>(POOLS_PREFIX),
    store.list<Block>(BLOCKS),
    store.list<BlockAffinity>(AFFINITIES),
    store.list<HandleRecord>(HANDLES),
  ]);
  return {
    pools: pools.items.map((i) => i.value),
    blocks: blocks.items.map((i) => i.value),
    affinities: affinities.items.filter((i) => parseAffinityKey(i.key)).map((i) => i.value),
    handles: handles.items.map((i) => i.value),
  };
}

export interface IpamShow {
  readonly pools: { name: string; cidr: string; family: string; blockSize: number; disabled: boolean; strictAffinity: boolean; nodeSelector: string; size: number; used: number; blocks: number }[];
  readonly blocks: { cidr: string; pool: string; affinity: string | null; state: string; size: number; used: number; free: number }[];
  readonly nodes: { node: string; blocks: string[]; used: number }[];
}

export function showIpam(s: IpamSnapshot): IpamShow {
  const affState = new Map(s.affinities.map((a) => [`${a.node} ${a.cidr}`, a.state]));
  const blocks = s.blocks
    .map((b) => ({
      cidr: b.cidr,
      pool: b.pool,
      affinity: b.affinity,
      state: b.affinity === null ? 'orphaned' : (affState.get(`${b.affinity} ${b.cidr}`) ?? 'no-affinity'),
      size: blockSize(b),
      used: usedCount(b),
      free: freeCount(b),
    }))
    .sort((a, b) => a.cidr.localeCompare(b.cidr));
  const pools = s.pools.map((p) => {
    const r = resolvePool(p);
    const mine = blocks.filter((b) => b.pool === p.name);
    return {
      name: p.name,
      cidr: p.cidr,
      family: parseCidr(p.cidr).family,
      blockSize: r.blockSize,
      disabled: p.disabled === true,
      strictAffinity: p.strictAffinity === true,
      nodeSelector: p.nodeSelector ?? 'all()',
      size: size(parseCidr(p.cidr)),
      used: mine.reduce((n, b) => n + b.used, 0),
      blocks: mine.length,
    };
  });
  const byNode = new Map<string, { node: string; blocks: string[]; used: number }>();
  for (const b of blocks) {
    if (b.affinity === null) continue;
    const n = byNode.get(b.affinity) ?? { node: b.affinity, blocks: [], used: 0 };
    n.blocks.push(b.cidr);
    byNode.set(b.affinity, n);
  }
  for (const b of s.blocks) for (const a of Object.values(b.allocations)) if (a.attrs.node) {
    const n = byNode.get(a.attrs.node) ?? { node: a.attrs.node, blocks: [], used: 0 };
    n.used++;
    byNode.set(a.attrs.node, n);
  }
  return { pools, blocks, nodes: [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node)) };
}
