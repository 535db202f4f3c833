// IP pools: stored under ipam/pools/<name>; validated on write. Node selection is Calico's syntax,
// reduced to what Uplink needs: `all()` or `key == "value"` terms joined by `&&`.
import type { Datastore } from './datastore/types.js';
import { isDatastoreError } from './datastore/types.js';
import { parseCidr } from './cidr.js';
import { IpamError, type Family, type IpPool } from './types.js';

export const POOLS_PREFIX = 'ipam/pools/';

export function defaultBlockSize(family: Family): number {
  return family === 'ipv4' ? 26 : 122;
}

export interface ResolvedPool extends IpPool {
  readonly family: Family;
  readonly blockSize: number;
}

export function resolvePool(pool: IpPool): ResolvedPool {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(pool.name)) {
    throw new IpamError('invalid-pool', `pool name ${JSON.stringify(pool.name)} is not a DNS label`);
  }
  let cidr;
  try {
    cidr = parseCidr(pool.cidr);
  } catch (err) {
    throw new IpamError('invalid-pool', `pool ${pool.name}: ${(err as Error).message}`, { cause: err });
  }
  const blockSize = pool.blockSize ?? defaultBlockSize(cidr.family);
  if (blockSize < cidr.prefix || blockSize > cidr.bits) {
    throw new IpamError('invalid-pool', `pool ${pool.name}: block size /${blockSize} does not fit ${pool.cidr}`);
  }
  // A block's allocations are one JSON document: keep it small enough to rewrite on every allocation.
  if (cidr.bits - blockSize > 10) {
    throw new IpamError('invalid-pool', `pool ${pool.name}: blocks larger than 1024 addresses are not supported`);
  }
  parseSelector(pool.nodeSelector ?? 'all()');
  return { ...pool, family: cidr.family, blockSize };
}

type Term = { key: string; op: '==' | '!='; value: string };

export function parseSelector(sel: string): Term[] {
  const s = sel.trim();
  if (s === '' || s === 'all()') return [];
  return s.split('&&').map((part) => {
    const m = /^\s*([A-Za-z0-9_./-]+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)')\s*$/.exec(part);
    if (!m) throw new IpamError('invalid-pool', `unsupported node selector term: ${part.trim()}`);
    return { key: m[1]!, op: m[2] as '==' | '!=', value: m[3] ?? m[4] ?? '' };
  });
}

export function selects(sel: string | undefined, labels: Readonly<Record<string, string>>): boolean {
  return parseSelector(sel ?? 'all()').every((t) => (t.op === '==' ? labels[t.key] === t.value : labels[t.key] !== t.value));
}

export async function putPool(store: Datastore, pool: IpPool): Promise<void> {
  resolvePool(pool);
  const key = POOLS_PREFIX + pool.name;
  for (;;) {
    const cur = await store.get<IpPool>(key);
    try {
      if (cur) await store.compareAndSwap(key, cur.revision, pool);
      else await store.create(key, pool);
      return;
    } catch (err) {
      if (isDatastoreError(err, 'conflict') || isDatastoreError(err, 'exists')) continue;
      throw err;
    }
  }
}

export async function deletePool(store: Datastore, name: string): Promise<void> {
  try {
    await store.delete(POOLS_PREFIX + name);
  } catch (err) {
    if (!isDatastoreError(err, 'not-found')) throw err;
  }
}

export async function listPools(store: Datastore): Promise<IpPool[]> {
  return (await store.list<IpPool>(POOLS_PREFIX)).items.map((i) => i.value);
}
