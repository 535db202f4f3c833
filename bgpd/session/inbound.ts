// Received messages as FSM events and counters: which event a message that failed to decode raises, which
// a NOTIFICATION raises, and what an UPDATE's RFC 7606 outcome adds to the counters.
import { ErrorAction, ErrorCode, MessageType, OpenSubcode, type ErrorActionName, type NotificationMessage } from '../wire/index.js';
import { Event, type EventName } from '../fsm/table.js';
import type { Counters } from './types.js';

/**
 * RFC 4271 §6: an OPEN error is an OPEN error (§6.2); a malformed UPDATE resets the session (RFC 7606 §3
 * leaves resets to what the codec could not contain); header errors are header errors (§6.1). A malformed
 * NOTIFICATION or ROUTE-REFRESH is reported as the codec says (RFC 7313 §5), through the event the
 * current state accepts.
 */
export function decodeErrorEvent(type: number | undefined, errorCode: number, established: boolean): EventName {
  if (type === MessageType.Open) return Event.BGPOpenMsgErr;
  if (type === MessageType.Update) return Event.UpdateMsgErr;
  if (errorCode === ErrorCode.MessageHeader) return Event.BGPHeaderErr;
  return established ? Event.UpdateMsgErr : Event.BGPHeaderErr;
}

/** RFC 4271 §8.1.4: Event 24 for a version error in reply to our OPEN, Event 25 otherwise. */
export function notificationEvent(m: NotificationMessage): EventName {
  const verErr = m.code === ErrorCode.OpenMessage && m.subcode === OpenSubcode.UnsupportedVersionNumber;
  return verErr ? Event.NotifMsgVerErr : Event.NotifMsg;
}

export function countUpdateIn(counters: Counters, action: ErrorActionName | null): void {
  counters.updatesIn++;
  // RFC 7606 §2: afi-safi-disable is handled as treat-as-withdraw for the unicast families we carry.
  if (action === ErrorAction.TreatAsWithdraw || action === ErrorAction.AfiSafiDisable) counters.treatAsWithdraw++;
  if (action === ErrorAction.AttributeDiscard) counters.attributeDiscard++;
}
