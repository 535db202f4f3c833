// The root of Uplink's error classes. Each package derives its own base (WireError, NetlinkError,
// DatastoreError, CniError, ...) with a stable `code` string that callers and tests match on, and a
// `cause` for the underlying error. Never throw bare strings.
export class UplinkError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
