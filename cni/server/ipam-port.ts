// What the CNI server needs from IPAM, narrowed to four calls. The agent passes an adapter over
// ipam/index.ts `Ipam`; keeping the port small lets the handlers be read without the allocator's details.
// Contract: allocate is idempotent by handle (a retried ADD gets the same addresses), release of an
// unknown handle is success (DEL is idempotent, CNI SPEC "DEL").

export interface IpamAllocation {
  ipv4?: string;
  ipv6?: string;
}

export interface IpamPoolStatus {
  name: string;
  family: 4 | 6;
  cidr: string;
  /** Addresses this node could still hand out from the pool. */
  free: number;
}

export interface CniIpam {
  allocate(req: { handle: string; pools: string[]; attributes: Record<string, string> }): Promise<IpamAllocation>;
  release(handle: string): Promise<void>;
  /** Handles currently holding addresses on this node (for GC against valid attachments). */
  handles(): Promise<string[]>;
  /** Pools this node may allocate from, with free counts (STATUS, and "unknown pool" checks). */
  pools(): Promise<IpamPoolStatus[]>;
}

/** IPAM handle for one attachment: containerID + ifname (CNI SPEC: an attachment is that pair). */
export function attachmentHandle(containerId: string, ifname: string): string {
  return `${containerId}.${ifname}`;
}
