// BFD protocol numbers and the vocabularies used across bfd/ (RFC 5880 §4.1, RFC 5881, RFC 5883).

/** RFC 5881 §4: single-hop control packets go to UDP 3784; RFC 5883 §5: multihop to 4784. */
export const BFD_PORT_SINGLE_HOP = 3784;
export const BFD_PORT_MULTIHOP = 4784;

/** RFC 5880 §4.1: the mandatory section is 24 bytes; with the A bit the auth section adds at least 2. */
export const BFD_HEADER_LEN = 24;
export const BFD_MIN_AUTH_LEN = 26;
export const BFD_VERSION = 1;

/** RFC 5880 §6.8.3: while not Up, DesiredMinTxInterval is at least one second. */
export const SLOW_TX_US = 1_000_000;

/** Session states as the Sta field carries them (RFC 5880 §4.1). */
export const State = {
  AdminDown: 0,
  Down: 1,
  Init: 2,
  Up: 3,
} as const;
export type State = (typeof State)[keyof typeof State];
export type StateName = keyof typeof State;

export const stateName = (s: State): StateName => STATE_NAMES[s];
const STATE_NAMES: Record<State, StateName> = { 0: 'AdminDown', 1: 'Down', 2: 'Init', 3: 'Up' };

/** Diagnostic codes (RFC 5880 §4.1). */
export const Diagnostic = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;
export type Diagnostic = (typeof Diagnostic)[keyof typeof Diagnostic];
export type DiagnosticName = keyof typeof Diagnostic;

const DIAG_NAMES = Object.fromEntries(Object.entries(Diagnostic).map(([k, v]) => [v, k])) as Record<number, DiagnosticName>;
/** Codes 9-31 are unassigned; a peer may still send them, so they print as numbers. */
export const diagnosticName = (d: number): string => DIAG_NAMES[d] ?? `Unassigned(${d})`;

/** Auth Type values (RFC 5880 §4.1); only Simple Password is implemented. */
export const AuthType = {
  SimplePassword: 1,
  KeyedMd5: 2,
  MeticulousKeyedMd5: 3,
  KeyedSha1: 4,
  MeticulousKeyedSha1: 5,
} as const;
export type AuthType = (typeof AuthType)[keyof typeof AuthType];

/**
 * Why a received packet was discarded. One value per discard rule of RFC 5880 §6.8.6 (and RFC 5881 §5
 * for GTSM); these strings are the `reason` label of uplink_bfd_dropped_packets_total.
 */
export const DropReason = {
  /** RFC 5881 §5: single-hop packets must arrive with TTL / hop limit 255. */
  Ttl: 'ttl',
  Version: 'version',
  /** Truncated datagram, Length field below the minimum, or Length beyond the datagram. */
  Length: 'length',
  DetectMult: 'detect_mult',
  Multipoint: 'multipoint',
  MyDiscriminator: 'my_discriminator',
  /** Your Discriminator zero while the sender is neither Down nor AdminDown. */
  YourDiscriminator: 'your_discriminator',
  /** No session matches the discriminator or the source address. */
  NoSession: 'no_session',
  /** A bit set and no authentication configured, the reverse, or a wrong type/key/password (§6.7.2). */
  Auth: 'auth',
  /** Our session is AdminDown: received packets are discarded (§6.8.6). */
  AdminDown: 'admin_down',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];
