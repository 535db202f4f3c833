// Errors of the capture reader. A truncated or corrupt capture is a PcapError with a stable code; a
// capture that is fine but holds a malformed BGP message is not an error here (the codec reports it).
import { UplinkError } from '../../lib/errors.js';

export const PcapErrorCode = {
  /** Neither a pcap nor a pcapng magic number. */
  UnknownFormat: 'PCAP_UNKNOWN_FORMAT',
  /** The file ends inside a header, record or block. */
  Truncated: 'PCAP_TRUNCATED',
  /** A length or field that cannot be right (block length not a multiple of 4, caplen > block, ...). */
  Corrupt: 'PCAP_CORRUPT',
} as const;
export type PcapErrorCode = (typeof PcapErrorCode)[keyof typeof PcapErrorCode];

export class PcapError extends UplinkError {
  constructor(
    code: PcapErrorCode,
    message: string,
    /** Byte offset in the file where the problem was found. */
    readonly offset: number,
    options?: { cause?: unknown },
  ) {
    super(code, `${message} (at byte ${offset})`, options);
  }
}
