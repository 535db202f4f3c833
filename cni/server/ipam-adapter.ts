// Adapts ipam/ (the shared `Ipam` over the datastore) to the CNI server's port. Structural typing on the
// two Ipam calls we make keeps this file independent of the allocator's internals.
import { size, parseCidr } from '../../ipam/cidr.js';
import type { Datastore } from '../../ipam/datastore/types.js';
import { HANDLES, BLOCKS } from '../../ipam/keys.js';
import { listPools, selects } from '../../ipam/pools.js';
import { Family, handleId, type AllocateRequest, type Allocation, type Block, type HandleRecord } from '../../ipam/types.js';
import type { CniIpam, IpamAllocation, IpamPoolStatus } from './ipam-port.js';

export interface IpamLike {
  allocate(req: AllocateRequest): Promise<Allocation>;
  release(handle: string): Promise<unknown>;
}

export interface IpamAdapterOptions {
  node: string;
  nodeLabels?: Record<string, string>;
}

export function ipamPort(ipam: IpamLike, store: Datastore, opts: IpamAdapterOptions): CniIpam {
  const labels = { ...(opts.nodeLabels ?? {}), 'kubernetes.io/hostname': opts.node };
  const nodePools = async (): Promise<Array<{ name: string; cidr: string; family: 4 | 6 }>> =>
    (await listPools(store))
      .filter((p) => !p.disabled && selects(p.nodeSelector, labels))
      .map((p) => ({ name: p.name, cidr: p.cidr, family: parseCidr(p.cidr).family === Family.IPv4 ? 4 : 6 }));

  return {
    async allocate(req) {
      const sep = req.handle.lastIndexOf('.');
      const containerId = req.handle.slice(0, sep);
      const ifname = req.handle.slice(sep + 1);
      if (handleId(containerId, ifname) !== req.handle) throw new Error(`handle ${req.handle} is not containerID.ifname`);
      const ar: { containerId: string; ifname: string; pod?: string; namespace?: string; pools?: string[] } = { containerId, ifname };
      if (req.attributes.pod) ar.pod = req.attributes.pod;
      if (req.attributes.namespace) ar.namespace = req.attributes.namespace;
      // A config naming pools restricts the allocator to them (one address per family they cover).
      if (req.pools.length) ar.pools = req.pools;
      const a = await ipam.allocate(ar);
      const out: IpamAllocation = {};
      for (const x of a.addresses) {
        if (x.family === Family.IPv4) out.ipv4 = x.address;
        else out.ipv6 = x.address;
      }
      return out;
    },
    async release(handle) {
      await ipam.release(handle);
    },
    async handles() {
      const { items } = await store.list<HandleRecord>(HANDLES);
      return items.filter((i) => i.value.attrs.node === undefined || i.value.attrs.node === opts.node).map((i) => i.value.handle);
    },
    async pools(): Promise<IpamPoolStatus[]> {
      const pools = await nodePools();
      const { items } = await store.list<Block>(BLOCKS);
      return pools.map((p) => {
        const used = items.filter((b) => b.value.pool === p.name).reduce((n, b) => n + Object.keys(b.value.allocations).length, 0);
        const total = size(parseCidr(p.cidr));
        return { name: p.name, family: p.family, cidr: p.cidr, free: Math.min(Number.MAX_SAFE_INTEGER, total - used) };
      });
    },
  };
}
