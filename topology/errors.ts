// Errors of the topology model. Every validation error names the element at fault
// ("racks[1].tors[0] (tor2a)") so a user can find it in the YAML.
import { UplinkError } from '../lib/errors.js';

export const TopologyErrorCode = {
  /** Shape or type error in the YAML (wrong key, not a list, bad CIDR). */
  Invalid: 'TOPOLOGY_INVALID',
  DuplicateName: 'TOPOLOGY_DUPLICATE_NAME',
  UnknownReference: 'TOPOLOGY_UNKNOWN_REFERENCE',
  /** An ASN assignment that breaks eBGP loop prevention (RFC 4271 §9.1.2) or iBGP/eBGP roles. */
  AsnConflict: 'TOPOLOGY_ASN_CONFLICT',
  NoUplink: 'TOPOLOGY_NO_UPLINK',
  PoolOverlap: 'TOPOLOGY_POOL_OVERLAP',
  /** The fabric range is too small for the links that need addresses. */
  AddressExhausted: 'TOPOLOGY_ADDRESS_EXHAUSTED',
  AddressConflict: 'TOPOLOGY_ADDRESS_CONFLICT',
} as const;
export type TopologyErrorCode = (typeof TopologyErrorCode)[keyof typeof TopologyErrorCode];

export class TopologyError extends UplinkError {
  /** The element at fault, e.g. "racks[0].nodes[1] (node2)". */
  readonly element: string;

  constructor(code: TopologyErrorCode, element: string, message: string, options?: { cause?: unknown }) {
    super(code, `${element}: ${message}`, options);
    this.element = element;
  }
}
