// Data for `uplinkctl ipam check`: pure consistency checks on a snapshot.
//   leaks            allocations whose handle has no record, or (when `live` is given) is not live
//   duplicates       one address held twice (overlapping blocks, or two handle records)
//   orphanedHandles  handle records pointing at addresses their handle no longer holds
//   unknownNodeBlocks blocks affine to nodes not in `nodes` (when given): reclaimNode candidates
import { allocationsOf } from './block.js';
import type { IpamSnapshot } from './show.js';

export interface IpamCheckReport {
  readonly ok: boolean;
  readonly leaks: { address: string; block: string; handle: string; reason: 'no-handle-record' | 'not-live'; node?: string }[];
  readonly duplicates: { address: string; holders: string[] }[];
  readonly orphanedHandles: { handle: string; address: string; reason: string }[];
  readonly unknownNodeBlocks: { block: string; node: string }[];
}

export function checkIpam(s: IpamSnapshot, opts: { live?: Iterable<string>; nodes?: Iterable<string> } = {}): IpamCheckReport {
  const live = opts.live ? new Set(opts.live) : undefined;
  const nodes = opts.nodes ? new Set(opts.nodes) : undefined;
  const records = new Map(s.handles.map((h) => [h.handle, h]));
  const leaks: IpamCheckReport['leaks'][number][] = [];
  const holders = new Map<string, string[]>();
  const held = new Map<string, { handle: string; seq: number }>();
  for (const b of s.blocks) {
    for (const { address, allocation } of allocationsOf(b)) {
      const list = holders.get(address) ?? [];
      list.push(`${allocation.handle}@${b.cidr}`);
      holders.set(address, list);
      held.set(address, { handle: allocation.handle, seq: allocation.seq });
      const node = allocation.attrs.node;
      if (!records.has(allocation.handle)) leaks.push({ address, block: b.cidr, handle: allocation.handle, reason: 'no-handle-record', ...(node ? { node } : {}) });
      else if (live && !live.has(allocation.handle)) leaks.push({ address, block: b.cidr, handle: allocation.handle, reason: 'not-live', ...(node ? { node } : {}) });
    }
  }
  const claimedBy = new Map<string, string[]>();
  const orphanedHandles: IpamCheckReport['orphanedHandles'][number][] = [];
  for (const h of s.handles) {
    for (const a of h.addresses) {
      const list = claimedBy.get(a.address) ?? [];
      list.push(h.handle);
      claimedBy.set(a.address, list);
      const cur = held.get(a.address);
      if (!cur) orphanedHandles.push({ handle: h.handle, address: a.address, reason: 'address not allocated' });
      else if (cur.handle !== h.handle || cur.seq !== a.seq) orphanedHandles.push({ handle: h.handle, address: a.address, reason: `address held by ${cur.handle} seq ${cur.seq}` });
    }
  }
  const duplicates: IpamCheckReport['duplicates'][number][] = [];
  for (const [address, hs] of holders) if (hs.length > 1) duplicates.push({ address, holders: hs });
  for (const [address, hs] of claimedBy) if (hs.length > 1) duplicates.push({ address, holders: hs.map((h) => `record ${h}`) });
  const unknownNodeBlocks = nodes ? s.blocks.filter((b) => b.affinity !== null && !nodes.has(b.affinity)).map((b) => ({ block: b.cidr, node: b.affinity! })) : [];
  return {
    ok: leaks.length === 0 && duplicates.length === 0 && orphanedHandles.length === 0 && unknownNodeBlocks.length === 0,
    leaks,
    duplicates,
    orphanedHandles,
    unknownNodeBlocks,
  };
}
