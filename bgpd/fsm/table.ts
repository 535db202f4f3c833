// RFC 4271 §8.2.2 as data: state x event -> (guarded) next state + ordered actions. The Fsm class
// (fsm.ts) only looks rows up and runs actions; every protocol decision is in this file so it can be read
// side by side with the RFC. Event and state names are the RFC's own (§8.1, §8.2.2).
//
// Deliberate deviations, each marked where it applies:
//  - Connection collision (§6.8) is resolved by the session owner, which holds both connections; this
//    table sees only its own connection, so Events 14/16/17 in OpenSent..Established (a second
//    connection) are ignored here and OpenCollisionDump is fired by the owner on the loser.
//  - BGPHeaderErr in OpenConfirm/Established sends the header error itself (§6.1) rather than the
//    generic FSM error; §6.1 is the more specific rule.
//  - Connect x TcpConnectionFails always falls back to Active (see the row).
//  - "SendNOTIFICATIONwithoutOPEN" (§8.1.2 optional attribute) is on: an OPEN error seen before we
//    sent our OPEN is still reported to the peer, as FRR and BIRD do.

export const State = {
  Idle: 'Idle',
  Connect: 'Connect',
  Active: 'Active',
  OpenSent: 'OpenSent',
  OpenConfirm: 'OpenConfirm',
  Established: 'Established',
} as const;
export type StateName = (typeof State)[keyof typeof State];

/** RFC 4271 §8.1.2-§8.1.5, numbered as in the RFC. */
export const Event = {
  ManualStart: 'ManualStart', // 1
  ManualStop: 'ManualStop', // 2
  AutomaticStart: 'AutomaticStart', // 3
  ManualStart_with_PassiveTcpEstablishment: 'ManualStart_with_PassiveTcpEstablishment', // 4
  AutomaticStart_with_PassiveTcpEstablishment: 'AutomaticStart_with_PassiveTcpEstablishment', // 5
  AutomaticStart_with_DampPeerOscillations: 'AutomaticStart_with_DampPeerOscillations', // 6
  AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment:
    'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment', // 7
  AutomaticStop: 'AutomaticStop', // 8
  ConnectRetryTimer_Expires: 'ConnectRetryTimer_Expires', // 9
  HoldTimer_Expires: 'HoldTimer_Expires', // 10
  KeepaliveTimer_Expires: 'KeepaliveTimer_Expires', // 11
  DelayOpenTimer_Expires: 'DelayOpenTimer_Expires', // 12
  IdleHoldTimer_Expires: 'IdleHoldTimer_Expires', // 13
  TcpConnection_Valid: 'TcpConnection_Valid', // 14
  Tcp_CR_Invalid: 'Tcp_CR_Invalid', // 15
  Tcp_CR_Acked: 'Tcp_CR_Acked', // 16
  TcpConnectionConfirmed: 'TcpConnectionConfirmed', // 17
  TcpConnectionFails: 'TcpConnectionFails', // 18
  BGPOpen: 'BGPOpen', // 19
  BGPOpen_with_DelayOpenTimer_running: 'BGPOpen_with_DelayOpenTimer_running', // 20
  BGPHeaderErr: 'BGPHeaderErr', // 21
  BGPOpenMsgErr: 'BGPOpenMsgErr', // 22
  OpenCollisionDump: 'OpenCollisionDump', // 23
  NotifMsgVerErr: 'NotifMsgVerErr', // 24
  NotifMsg: 'NotifMsg', // 25
  KeepAliveMsg: 'KeepAliveMsg', // 26
  UpdateMsg: 'UpdateMsg', // 27
  UpdateMsgErr: 'UpdateMsgErr', // 28
} as const;
export type EventName = (typeof Event)[keyof typeof Event];
export const ALL_EVENTS: readonly EventName[] = Object.values(Event);
export const ALL_STATES: readonly StateName[] = Object.values(State);

export const Action = {
  InitializeResources: 'InitializeResources',
  ReleaseResources: 'ReleaseResources',
  InitiateTcp: 'InitiateTcp',
  DropTcp: 'DropTcp',
  StartConnectRetryTimer: 'StartConnectRetryTimer',
  StopConnectRetryTimer: 'StopConnectRetryTimer',
  StartDelayOpenTimer: 'StartDelayOpenTimer',
  StopDelayOpenTimer: 'StopDelayOpenTimer',
  /** §8.2.2: "sets the HoldTimer to a large value" (4 minutes suggested) while waiting for OPEN. */
  StartHoldTimerLarge: 'StartHoldTimerLarge',
  StartHoldTimerNegotiated: 'StartHoldTimerNegotiated',
  RestartHoldTimer: 'RestartHoldTimer',
  StartKeepaliveTimer: 'StartKeepaliveTimer',
  StartIdleHoldTimer: 'StartIdleHoldTimer',
  ZeroConnectRetryCounter: 'ZeroConnectRetryCounter',
  IncrementConnectRetryCounter: 'IncrementConnectRetryCounter',
  /** §8.1.1 DampPeerOscillations: lengthen the next idle hold time (exponential backoff). */
  DampPeerOscillations: 'DampPeerOscillations',
  SendOpen: 'SendOpen',
  SendKeepalive: 'SendKeepalive',
  /** RFC 4486 Cease / Administrative Shutdown with the RFC 9003 communication. */
  SendCeaseAdminShutdown: 'SendCeaseAdminShutdown',
  /** RFC 4486 Cease / Connection Collision Resolution (§6.8). */
  SendCeaseCollision: 'SendCeaseCollision',
  SendHoldTimerExpired: 'SendHoldTimerExpired',
  /** RFC 6608: FSM error with the subcode naming the state the unexpected message arrived in. */
  SendFsmError: 'SendFsmError',
  /** The NOTIFICATION carried by the event (header/OPEN/UPDATE error from the codec). */
  SendEventNotification: 'SendEventNotification',
  ProcessUpdate: 'ProcessUpdate',
  /** IdleHoldTimer fired: start again the way the peer is configured (active or passive). */
  RestartAutomatically: 'RestartAutomatically',
} as const;
export type ActionName = (typeof Action)[keyof typeof Action];

/** Named conditions the RFC puts inside a state's text ("If the DelayOpen attribute is set to TRUE"). */
export type Guard = 'DelayOpen' | 'NoDelayOpen' | 'DelayOpenTimerRunning' | 'DelayOpenTimerStopped';

export interface Row {
  readonly guard?: Guard;
  readonly next: StateName;
  readonly actions: readonly ActionName[];
}

/** `null` = the event is ignored in this state (no change, no action). */
export type Cell = readonly Row[] | null;

const A = Action;
const S = State;
const E = Event;

const row = (next: StateName, actions: ActionName[], guard?: Guard): Row => (guard ? { guard, next, actions } : { next, actions });

const ACTIVE_START = [A.InitializeResources, A.ZeroConnectRetryCounter, A.StartConnectRetryTimer, A.InitiateTcp];
const PASSIVE_START = [A.InitializeResources, A.ZeroConnectRetryCounter, A.StartConnectRetryTimer];
/** The common "go to Idle after an error" tail in every state of §8.2.2. */
const TO_IDLE_ERR = [A.StopConnectRetryTimer, A.ReleaseResources, A.DropTcp, A.IncrementConnectRetryCounter, A.DampPeerOscillations];
const STARTS: EventName[] = [
  E.ManualStart,
  E.AutomaticStart,
  E.ManualStart_with_PassiveTcpEstablishment,
  E.AutomaticStart_with_PassiveTcpEstablishment,
  E.AutomaticStart_with_DampPeerOscillations,
  E.AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment,
];

type StateTable = Partial<Record<EventName, Cell>> & { readonly otherwise: Cell };

function ignore(events: EventName[]): Partial<Record<EventName, Cell>> {
  return Object.fromEntries(events.map((e) => [e, null]));
}

const idle: StateTable = {
  [E.ManualStart]: [row(S.Connect, ACTIVE_START)],
  [E.AutomaticStart]: [row(S.Connect, ACTIVE_START)],
  [E.ManualStart_with_PassiveTcpEstablishment]: [row(S.Active, PASSIVE_START)],
  [E.AutomaticStart_with_PassiveTcpEstablishment]: [row(S.Active, PASSIVE_START)],
  // §8.2.1.3 / §8.1.1: damped starts wait out the IdleHoldTimer before connecting.
  [E.AutomaticStart_with_DampPeerOscillations]: [row(S.Idle, [A.StartIdleHoldTimer])],
  [E.AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment]: [row(S.Idle, [A.StartIdleHoldTimer])],
  [E.IdleHoldTimer_Expires]: [row(S.Idle, [A.RestartAutomatically])],
  // §8.2.2 Idle: "Any other event ... does not cause change in the state". Stops are no-ops too.
  otherwise: null,
};

const connect: StateTable = {
  ...ignore(STARTS),
  [E.ManualStop]: [row(S.Idle, [A.DropTcp, A.ReleaseResources, A.ZeroConnectRetryCounter, A.StopConnectRetryTimer, A.StopDelayOpenTimer])],
  [E.ConnectRetryTimer_Expires]: [row(S.Connect, [A.DropTcp, A.StartConnectRetryTimer, A.StopDelayOpenTimer, A.InitiateTcp])],
  [E.DelayOpenTimer_Expires]: [row(S.OpenSent, [A.SendOpen, A.StartHoldTimerLarge])],
  [E.TcpConnection_Valid]: null,
  [E.Tcp_CR_Invalid]: null,
  [E.Tcp_CR_Acked]: [
    row(S.Connect, [A.StopConnectRetryTimer, A.StartDelayOpenTimer], 'DelayOpen'),
    row(S.OpenSent, [A.StopConnectRetryTimer, A.SendOpen, A.StartHoldTimerLarge], 'NoDelayOpen'),
  ],
  [E.TcpConnectionConfirmed]: [
    row(S.Connect, [A.StopConnectRetryTimer, A.StartDelayOpenTimer], 'DelayOpen'),
    row(S.OpenSent, [A.StopConnectRetryTimer, A.SendOpen, A.StartHoldTimerLarge], 'NoDelayOpen'),
  ],
  // Deliberate deviation: the RFC goes to Idle when the DelayOpenTimer is not running, which refuses
  // the peer's own connection until the next start. Like OpenBGPD and FRR we fall back to Active and
  // keep listening until the ConnectRetryTimer fires, so two speakers whose SYNs cross still meet.
  [E.TcpConnectionFails]: [row(S.Active, [A.StartConnectRetryTimer, A.StopDelayOpenTimer, A.DropTcp])],
  [E.BGPOpen_with_DelayOpenTimer_running]: [
    row(S.OpenConfirm, [A.StopConnectRetryTimer, A.StopDelayOpenTimer, A.SendOpen, A.SendKeepalive, A.StartKeepaliveTimer, A.StartHoldTimerNegotiated]),
  ],
  [E.BGPHeaderErr]: [row(S.Idle, [A.SendEventNotification, A.StopDelayOpenTimer, ...TO_IDLE_ERR])],
  [E.BGPOpenMsgErr]: [row(S.Idle, [A.SendEventNotification, A.StopDelayOpenTimer, ...TO_IDLE_ERR])],
  [E.NotifMsgVerErr]: [
    row(S.Idle, [A.StopConnectRetryTimer, A.StopDelayOpenTimer, A.ReleaseResources, A.DropTcp], 'DelayOpenTimerRunning'),
    row(S.Idle, TO_IDLE_ERR, 'DelayOpenTimerStopped'),
  ],
  // §8.2.2 Connect: "In response to any other events (Events 8, 10-11, 13, 19, 23, 25-28)".
  otherwise: [row(S.Idle, [A.StopDelayOpenTimer, ...TO_IDLE_ERR])],
};

const active: StateTable = {
  ...ignore(STARTS),
  [E.ManualStop]: [row(S.Idle, [A.StopDelayOpenTimer, A.ReleaseResources, A.DropTcp, A.ZeroConnectRetryCounter, A.StopConnectRetryTimer])],
  [E.ConnectRetryTimer_Expires]: [row(S.Connect, [A.StartConnectRetryTimer, A.InitiateTcp])],
  [E.DelayOpenTimer_Expires]: [row(S.OpenSent, [A.StopConnectRetryTimer, A.StopDelayOpenTimer, A.SendOpen, A.StartHoldTimerLarge])],
  [E.TcpConnection_Valid]: null,
  [E.Tcp_CR_Invalid]: null,
  [E.Tcp_CR_Acked]: [
    row(S.Active, [A.StopConnectRetryTimer, A.StartDelayOpenTimer], 'DelayOpen'),
    row(S.OpenSent, [A.StopConnectRetryTimer, A.SendOpen, A.StartHoldTimerLarge], 'NoDelayOpen'),
  ],
  [E.TcpConnectionConfirmed]: [
    row(S.Active, [A.StopConnectRetryTimer, A.StartDelayOpenTimer], 'DelayOpen'),
    row(S.OpenSent, [A.StopConnectRetryTimer, A.SendOpen, A.StartHoldTimerLarge], 'NoDelayOpen'),
  ],
  [E.TcpConnectionFails]: [row(S.Idle, [A.StopDelayOpenTimer, A.ReleaseResources, A.DropTcp, A.IncrementConnectRetryCounter, A.DampPeerOscillations, A.StopConnectRetryTimer])],
  [E.BGPOpen_with_DelayOpenTimer_running]: [
    row(S.OpenConfirm, [A.StopConnectRetryTimer, A.StopDelayOpenTimer, A.SendOpen, A.SendKeepalive, A.StartKeepaliveTimer, A.StartHoldTimerNegotiated]),
  ],
  [E.BGPHeaderErr]: [row(S.Idle, [A.SendEventNotification, A.StopDelayOpenTimer, ...TO_IDLE_ERR])],
  [E.BGPOpenMsgErr]: [row(S.Idle, [A.SendEventNotification, A.StopDelayOpenTimer, ...TO_IDLE_ERR])],
  [E.NotifMsgVerErr]: [
    row(S.Idle, [A.StopConnectRetryTimer, A.StopDelayOpenTimer, A.ReleaseResources, A.DropTcp], 'DelayOpenTimerRunning'),
    row(S.Idle, TO_IDLE_ERR, 'DelayOpenTimerStopped'),
  ],
  otherwise: [row(S.Idle, [A.StopDelayOpenTimer, ...TO_IDLE_ERR])],
};

const openSent: StateTable = {
  ...ignore(STARTS),
  // A second connection (Events 14, 16, 17) is the owner's business: see the header comment.
  ...ignore([E.TcpConnection_Valid, E.Tcp_CR_Invalid, E.Tcp_CR_Acked, E.TcpConnectionConfirmed]),
  [E.ManualStop]: [row(S.Idle, [A.SendCeaseAdminShutdown, A.StopConnectRetryTimer, A.ReleaseResources, A.DropTcp, A.ZeroConnectRetryCounter])],
  [E.AutomaticStop]: [row(S.Idle, [A.SendCeaseAdminShutdown, ...TO_IDLE_ERR])],
  [E.HoldTimer_Expires]: [row(S.Idle, [A.SendHoldTimerExpired, ...TO_IDLE_ERR])],
  // §8.2.2 OpenSent Event 18: close, restart the ConnectRetryTimer and keep listening.
  [E.TcpConnectionFails]: [row(S.Active, [A.DropTcp, A.StartConnectRetryTimer])],
  [E.BGPOpen]: [row(S.OpenConfirm, [A.StopDelayOpenTimer, A.StopConnectRetryTimer, A.SendKeepalive, A.StartKeepaliveTimer, A.StartHoldTimerNegotiated])],
  [E.BGPHeaderErr]: [row(S.Idle, [A.SendEventNotification, ...TO_IDLE_ERR])],
  [E.BGPOpenMsgErr]: [row(S.Idle, [A.SendEventNotification, ...TO_IDLE_ERR])],
  [E.OpenCollisionDump]: [row(S.Idle, [A.SendCeaseCollision, ...TO_IDLE_ERR])],
  [E.NotifMsgVerErr]: [row(S.Idle, [A.StopConnectRetryTimer, A.ReleaseResources, A.DropTcp])],
  // Events 9, 11-13, 20, 25-28: RFC 6608 subcode 1 "unexpected message in OpenSent".
  otherwise: [row(S.Idle, [A.SendFsmError, ...TO_IDLE_ERR])],
};

const openConfirm: StateTable = {
  ...ignore(STARTS),
  ...ignore([E.TcpConnection_Valid, E.Tcp_CR_Invalid, E.Tcp_CR_Acked, E.TcpConnectionConfirmed]),
  [E.ManualStop]: [row(S.Idle, [A.SendCeaseAdminShutdown, A.ReleaseResources, A.DropTcp, A.ZeroConnectRetryCounter, A.StopConnectRetryTimer])],
  [E.AutomaticStop]: [row(S.Idle, [A.SendCeaseAdminShutdown, ...TO_IDLE_ERR])],
  [E.HoldTimer_Expires]: [row(S.Idle, [A.SendHoldTimerExpired, ...TO_IDLE_ERR])],
  [E.KeepaliveTimer_Expires]: [row(S.OpenConfirm, [A.SendKeepalive, A.StartKeepaliveTimer])],
  [E.TcpConnectionFails]: [row(S.Idle, TO_IDLE_ERR)],
  [E.NotifMsg]: [row(S.Idle, TO_IDLE_ERR)],
  [E.NotifMsgVerErr]: [row(S.Idle, [A.StopConnectRetryTimer, A.ReleaseResources, A.DropTcp])],
  [E.BGPHeaderErr]: [row(S.Idle, [A.SendEventNotification, ...TO_IDLE_ERR])],
  [E.BGPOpenMsgErr]: [row(S.Idle, [A.SendEventNotification, ...TO_IDLE_ERR])],
  [E.OpenCollisionDump]: [row(S.Idle, [A.SendCeaseCollision, ...TO_IDLE_ERR])],
  [E.KeepAliveMsg]: [row(S.Established, [A.RestartHoldTimer])],
  // Events 9, 12-13, 19 (an OPEN again on this connection), 20, 27-28: RFC 6608 subcode 2.
  otherwise: [row(S.Idle, [A.SendFsmError, ...TO_IDLE_ERR])],
};

const established: StateTable = {
  ...ignore(STARTS),
  ...ignore([E.TcpConnection_Valid, E.Tcp_CR_Invalid, E.Tcp_CR_Acked, E.TcpConnectionConfirmed]),
  [E.ManualStop]: [row(S.Idle, [A.SendCeaseAdminShutdown, A.StopConnectRetryTimer, A.ReleaseResources, A.DropTcp, A.ZeroConnectRetryCounter])],
  [E.AutomaticStop]: [row(S.Idle, [A.SendCeaseAdminShutdown, ...TO_IDLE_ERR])],
  [E.HoldTimer_Expires]: [row(S.Idle, [A.SendHoldTimerExpired, ...TO_IDLE_ERR])],
  [E.KeepaliveTimer_Expires]: [row(S.Established, [A.SendKeepalive, A.StartKeepaliveTimer])],
  [E.OpenCollisionDump]: [row(S.Idle, [A.SendCeaseCollision, ...TO_IDLE_ERR])],
  [E.TcpConnectionFails]: [row(S.Idle, TO_IDLE_ERR)],
  [E.NotifMsg]: [row(S.Idle, TO_IDLE_ERR)],
  [E.NotifMsgVerErr]: [row(S.Idle, TO_IDLE_ERR)],
  [E.KeepAliveMsg]: [row(S.Established, [A.RestartHoldTimer])],
  [E.UpdateMsg]: [row(S.Established, [A.ProcessUpdate, A.RestartHoldTimer])],
  [E.UpdateMsgErr]: [row(S.Idle, [A.SendEventNotification, ...TO_IDLE_ERR])],
  [E.BGPHeaderErr]: [row(S.Idle, [A.SendEventNotification, ...TO_IDLE_ERR])],
  // Events 9, 12-13, 19-20, 22: RFC 6608 subcode 3.
  otherwise: [row(S.Idle, [A.SendFsmError, ...TO_IDLE_ERR])],
};

export const TRANSITIONS: Readonly<Record<StateName, StateTable>> = {
  Idle: idle,
  Connect: connect,
  Active: active,
  OpenSent: openSent,
  OpenConfirm: openConfirm,
  Established: established,
};

/** The cell for (state, event): explicit row, else the state's "any other event" row. */
export function lookup(state: StateName, event: EventName): Cell {
  const t = TRANSITIONS[state];
  const cell = t[event];
  return cell === undefined ? t.otherwise : cell;
}

/** RFC 6608 §3 FSM error subcodes. */
export const FsmErrorSubcode = {
  Unspecified: 0,
  UnexpectedInOpenSent: 1,
  UnexpectedInOpenConfirm: 2,
  UnexpectedInEstablished: 3,
} as const;

export function fsmErrorSubcode(state: StateName): number {
  switch (state) {
    case S.OpenSent:
      return FsmErrorSubcode.UnexpectedInOpenSent;
    case S.OpenConfirm:
      return FsmErrorSubcode.UnexpectedInOpenConfirm;
    case S.Established:
      return FsmErrorSubcode.UnexpectedInEstablished;
    default:
      return FsmErrorSubcode.Unspecified;
  }
}
