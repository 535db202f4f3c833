// IPAM records as stored in the datastore (values are JSON) and the request/response shapes of the
// `Ipam` API. Key layout (relative to the datastore's prefix):
//   ipam/pools/<name>                 IpPool
//   ipam/blocks/<cidr with / as ->    Block           (the allocations live here)
//   ipam/affinities/<node>/<block>    BlockAffinity   (which node owns which block)
//   ipam/handles/<handle id>          HandleRecord    (index: handle -> addresses, for release)
import { UplinkError } from '../lib/errors.js';

export const Family = { IPv4: 'ipv4', IPv6: 'ipv6' } as const;
export type Family = (typeof Family)[keyof typeof Family];

export interface IpPool {
  readonly name: string;
  readonly cidr: string;
  /** Prefix length of the blocks carved from the pool. Default 26 (IPv4) / 122 (IPv6). */
  readonly blockSize?: number;
  /** `all()` (default) or `key == "value"` terms joined by `&&`. */
  readonly nodeSelector?: string;
  readonly disabled?: boolean;
  /** Never borrow addresses from another node's block (Calico's StrictAffinity). */
  readonly strictAffinity?: boolean;
}

export interface AllocationAttrs {
  readonly pod?: string;
  readonly namespace?: string;
  readonly node?: string;
  readonly [k: string]: string | undefined;
}

/** One used address inside a block, keyed by ordinal (offset from the block's network address). */
export interface BlockAllocation {
  readonly handle: string;
  /** The block's sequence number when this address was handed out; release must present it. */
  readonly seq: number;
  readonly attrs: AllocationAttrs;
}

export interface Block {
  readonly cidr: string;
  readonly pool: string;
  /** Owning node, or null once its node is deleted and borrowed addresses remain. */
  readonly affinity: string | null;
  /** Epoch ms the affinity was claimed; empty blocks younger than the hold time are not released. */
  readonly claimedAt: number;
  /** Incremented on every allocation; stamps each allocation (Calico's sequenceNumber). */
  readonly seq: number;
  /** Where the next search for a free ordinal starts, so a just-freed address is not reused at once. */
  readonly cursor: number;
  readonly allocations: { readonly [ordinal: string]: BlockAllocation };
}

export const AffinityState = { Pending: 'pending', Confirmed: 'confirmed', PendingDeletion: 'pendingDeletion' } as const;
export type AffinityState = (typeof AffinityState)[keyof typeof AffinityState];

export interface BlockAffinity {
  readonly node: string;
  readonly cidr: string;
  readonly pool: string;
  readonly state: AffinityState;
}

export interface HandleAddress {
  readonly address: string;
  readonly block: string;
  readonly seq: number;
}

export interface HandleRecord {
  readonly handle: string;
  readonly attrs: AllocationAttrs;
  readonly addresses: HandleAddress[];
}

export interface AllocateRequest {
  /** Container ID (CNI_CONTAINERID). */
  readonly containerId: string;
  /** Interface name inside the pod (CNI_IFNAME). */
  readonly ifname: string;
  readonly pod?: string;
  readonly namespace?: string;
  /** Families wanted; default: every family that has an enabled pool selecting this node. */
  readonly families?: Family[];
  /** Only these pools (by name), e.g. from the CNI config; default: every pool selecting the node. */
  readonly pools?: string[];
}

export interface AllocatedAddress {
  readonly family: Family;
  /** The pod address, e.g. `10.1.0.5`. The pod gets it as a host route (/32, /128). */
  readonly address: string;
  readonly pool: string;
  readonly block: string;
  readonly seq: number;
}

export interface Allocation {
  readonly handle: string;
  readonly addresses: AllocatedAddress[];
}

export interface GcResult {
  readonly releasedHandles: string[];
  readonly releasedAddresses: string[];
}

export interface ReclaimResult {
  readonly node: string;
  readonly blocksDeleted: string[];
  /** Blocks kept (affinity cleared) because other nodes still borrow addresses in them. */
  readonly blocksOrphaned: string[];
  readonly addressesReleased: number;
}

export const IpamErrorCode = {
  /** No free address in any pool of the family for this node. */
  Exhausted: 'exhausted',
  /** No enabled pool selects this node for the family. */
  NoPool: 'no-pool',
  /** The CAS loop hit its retry bound under contention. */
  Contention: 'contention',
  InvalidPool: 'invalid-pool',
  /** The datastore failed; `cause` is the DatastoreError (retryable when unavailable/timeout). */
  Datastore: 'datastore',
} as const;
export type IpamErrorCode = (typeof IpamErrorCode)[keyof typeof IpamErrorCode];

export class IpamError extends UplinkError {
  declare readonly code: IpamErrorCode;
  constructor(code: IpamErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Worth retrying later (CNI error 11): the datastore was unavailable or timed out, or the CAS loop gave
 * up under contention. Exhaustion and bad configuration are not.
 */
export function isRetryable(err: unknown): boolean {
  const code = (e: unknown): string | undefined => (e instanceof UplinkError ? e.code : undefined);
  if (err instanceof IpamError) {
    if (err.code === 'contention') return true;
    if (err.code === 'datastore') return ['unavailable', 'timeout', 'conflict'].includes(code(err.cause) ?? '');
    return false;
  }
  return ['unavailable', 'timeout'].includes(code(err) ?? '');
}

/** The handle of one pod interface: `<containerId>.<ifname>` (Calico's convention). */
export function handleId(containerId: string, ifname: string): string {
  return `${containerId}.${ifname}`;
}
