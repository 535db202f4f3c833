// Block logic, pure on values (after Calico's ipam_block.go): every function takes a Block and returns a
// new one plus what changed. Callers write the result with compareAndSwap and only then believe it.
import { addressAt, parseCidr, size, ordinalOf } from './cidr.js';
import type { AllocationAttrs, Block, BlockAllocation } from './types.js';

export function newBlock(cidr: string, pool: string, node: string | null, now: number): Block {
  return { cidr, pool, affinity: node, claimedAt: now, seq: 0, cursor: 0, allocations: {} };
}

export function blockSize(block: Block): number {
  return size(parseCidr(block.cidr));
}

export function usedCount(block: Block): number {
  return Object.keys(block.allocations).length;
}

export function freeCount(block: Block): number {
  return blockSize(block) - usedCount(block);
}

export function isEmpty(block: Block): boolean {
  return usedCount(block) === 0;
}

export interface Assigned {
  readonly address: string;
  readonly ordinal: number;
  readonly seq: number;
  readonly handle: string;
}

export interface AssignRequest {
  readonly handle: string;
  readonly attrs: AllocationAttrs;
}

/**
 * Assigns one address to each request, in order, while the block has room. Searching starts at the
 * cursor (round robin) so a just-released address is not handed out again at once: a stale ARP/ND or
 * conntrack entry for the old pod would otherwise hit the new one.
 */
export function assign(block: Block, requests: readonly AssignRequest[]): { block: Block; assigned: Assigned[] } {
  const cidr = parseCidr(block.cidr);
  const n = size(cidr);
  const allocations: Record<string, BlockAllocation> = { ...block.allocations };
  const assigned: Assigned[] = [];
  let cursor = block.cursor % n;
  let seq = block.seq;
  let scanned = 0;
  for (const req of requests) {
    while (scanned < n && allocations[String(cursor)] !== undefined) {
      cursor = (cursor + 1) % n;
      scanned++;
    }
    if (scanned >= n) break;
    seq++;
    allocations[String(cursor)] = { handle: req.handle, seq, attrs: req.attrs };
    assigned.push({ address: addressAt(cidr, cursor), ordinal: cursor, seq, handle: req.handle });
    cursor = (cursor + 1) % n;
    scanned++;
  }
  return { block: { ...block, allocations, seq, cursor }, assigned };
}

export interface ReleaseSpec {
  readonly address: string;
  /** Only release if the address still belongs to this handle. */
  readonly handle?: string;
  /** Only release if the allocation's sequence number matches (it was not re-allocated since). */
  readonly seq?: number;
}

/**
 * Releases addresses. An address that is free already, or now belongs to another handle or sequence
 * number, is skipped (reported in `skipped`): releasing it would free someone else's address.
 */
export function release(block: Block, specs: readonly ReleaseSpec[]): { block: Block; released: string[]; skipped: string[] } {
  const cidr = parseCidr(block.cidr);
  const allocations: Record<string, BlockAllocation> = { ...block.allocations };
  const released: string[] = [];
  const skipped: string[] = [];
  for (const s of specs) {
    const ord = ordinalOf(cidr, s.address);
    const cur = ord === undefined ? undefined : allocations[String(ord)];
    if (ord === undefined || cur === undefined || (s.handle !== undefined && cur.handle !== s.handle) || (s.seq !== undefined && cur.seq !== s.seq)) {
      skipped.push(s.address);
      continue;
    }
    delete allocations[String(ord)];
    released.push(s.address);
  }
  return { block: { ...block, allocations }, released, skipped };
}

/** Every (address, allocation) in the block. */
export function allocationsOf(block: Block): { address: string; ordinal: number; allocation: BlockAllocation }[] {
  const cidr = parseCidr(block.cidr);
  return Object.entries(block.allocations).map(([ord, allocation]) => ({
    address: addressAt(cidr, Number(ord)),
    ordinal: Number(ord),
    allocation,
  }));
}

export function addressesOfHandle(block: Block, handle: string): ReleaseSpec[] {
  // Filter before formatting: this runs over every cached block on the allocate path.
  const out: ReleaseSpec[] = [];
  let cidr: ReturnType<typeof parseCidr> | undefined;
  for (const [ord, a] of Object.entries(block.allocations)) {
    if (a.handle !== handle) continue;
    cidr ??= parseCidr(block.cidr);
    out.push({ address: addressAt(cidr, Number(ord)), handle, seq: a.seq });
  }
  return out;
}
