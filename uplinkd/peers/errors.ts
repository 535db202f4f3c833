// Errors of the datastore's peer records (BGPPeer resources, ToR records): one base class, stable codes.
import { UplinkError } from '../../lib/errors.js';

export const BgpPeerErrorCode = {
  /** A resource failed validation; `resource` and `field` say where. */
  Invalid: 'invalid-bgp-peer',
  /** A ToR record (`tors/<name>`, topology/kube.ts) failed validation; `resource` and `field` say where. */
  InvalidTor: 'invalid-tor',
} as const;
export type BgpPeerErrorCode = (typeof BgpPeerErrorCode)[keyof typeof BgpPeerErrorCode];

export class BgpPeerError extends UplinkError {
  declare readonly code: BgpPeerErrorCode;
  readonly resource: string;
  readonly field: string;

  constructor(code: BgpPeerErrorCode, message: string, opts: { resource: string; field: string; cause?: unknown }) {
    super(code, message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.resource = opts.resource;
    this.field = opts.field;
  }
}
