// The BFD session state machine (RFC 5880 §6.2 diagram, §6.8.6 reception rules) as a table:
// state x event -> next state and the diagnostic to record when the transition takes the session down.
// Every cell is written out, so "what happens if an Up session hears Init" is a lookup, not a search.
import { Diagnostic, State } from './constants.js';

export const FsmEvent = {
  /** A valid packet arrived; the suffix is the remote's State field. */
  RecvAdminDown: 'RecvAdminDown',
  RecvDown: 'RecvDown',
  RecvInit: 'RecvInit',
  RecvUp: 'RecvUp',
  /** §6.8.4: no valid packet within the Detection Time. */
  DetectTimerExpired: 'DetectTimerExpired',
  /** §6.8.16: the operator (or session removal) takes the session administratively down / back. */
  AdminDown: 'AdminDown',
  AdminUp: 'AdminUp',
} as const;
export type FsmEvent = (typeof FsmEvent)[keyof typeof FsmEvent];

export interface Transition {
  next: State;
  /** bfd.LocalDiag to set when the transition is taken; undefined leaves it unchanged. */
  diag?: Diagnostic;
}

const stay = (s: State): Transition => ({ next: s });
const { AdminDown, Down, Init, Up } = State;

/**
 * §6.8.6: "If bfd.SessionState is AdminDown, discard the packet"; a remote AdminDown takes a non-Down
 * session Down with diagnostic 3 (Neighbor Signaled Session Down); Down -> Init on Down, Down -> Up on
 * Init; Init -> Up on Init or Up; Up -> Down on Down (diagnostic 3). The detection timer only runs in
 * Init and Up (the manager arms it there), so its cells in Down/AdminDown keep the state.
 */
export const FSM_TABLE: Readonly<Record<State, Readonly<Record<FsmEvent, Transition>>>> = {
  [AdminDown]: {
    RecvAdminDown: stay(AdminDown),
    RecvDown: stay(AdminDown),
    RecvInit: stay(AdminDown),
    RecvUp: stay(AdminDown),
    DetectTimerExpired: stay(AdminDown),
    AdminDown: stay(AdminDown),
    AdminUp: { next: Down, diag: Diagnostic.None },
  },
  [Down]: {
    RecvAdminDown: stay(Down),
    RecvDown: { next: Init },
    RecvInit: { next: Up },
    RecvUp: stay(Down),
    DetectTimerExpired: stay(Down),
    AdminDown: { next: AdminDown, diag: Diagnostic.AdministrativelyDown },
    AdminUp: stay(Down),
  },
  [Init]: {
    RecvAdminDown: { next: Down, diag: Diagnostic.NeighborSignaledSessionDown },
    RecvDown: stay(Init),
    RecvInit: { next: Up },
    RecvUp: { next: Up },
    DetectTimerExpired: { next: Down, diag: Diagnostic.ControlDetectionTimeExpired },
    AdminDown: { next: AdminDown, diag: Diagnostic.AdministrativelyDown },
    AdminUp: stay(Init),
  },
  [Up]: {
    RecvAdminDown: { next: Down, diag: Diagnostic.NeighborSignaledSessionDown },
    RecvDown: { next: Down, diag: Diagnostic.NeighborSignaledSessionDown },
    RecvInit: stay(Up),
    RecvUp: stay(Up),
    DetectTimerExpired: { next: Down, diag: Diagnostic.ControlDetectionTimeExpired },
    AdminDown: { next: AdminDown, diag: Diagnostic.AdministrativelyDown },
    AdminUp: stay(Up),
  },
};

const RECV_EVENT: Record<State, FsmEvent> = {
  [AdminDown]: FsmEvent.RecvAdminDown,
  [Down]: FsmEvent.RecvDown,
  [Init]: FsmEvent.RecvInit,
  [Up]: FsmEvent.RecvUp,
};

export const recvEvent = (remote: State): FsmEvent => RECV_EVENT[remote];

export function transition(state: State, event: FsmEvent): Transition {
  return FSM_TABLE[state][event];
}
