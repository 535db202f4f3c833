// The transition table checked cell by cell against RFC 5880 §6.8.6 / the §6.2 diagram.
import { describe, expect, it } from 'vitest';
import { Diagnostic, State } from './constants.js';
import { FSM_TABLE, FsmEvent, recvEvent, transition } from './fsm.js';

const { AdminDown, Down, Init, Up } = State;
const D = Diagnostic;

describe('bfd fsm table', () => {
  // [from, event, next, diag or undefined]
  const rows: Array<[State, FsmEvent, State, number | undefined]> = [
    [Down, 'RecvDown', Init, undefined],
    [Down, 'RecvInit', Up, undefined],
    [Down, 'RecvUp', Down, undefined],
    [Down, 'RecvAdminDown', Down, undefined],
    [Init, 'RecvDown', Init, undefined],
    [Init, 'RecvInit', Up, undefined],
    [Init, 'RecvUp', Up, undefined],
    [Init, 'RecvAdminDown', Down, D.NeighborSignaledSessionDown],
    [Init, 'DetectTimerExpired', Down, D.ControlDetectionTimeExpired],
    [Up, 'RecvDown', Down, D.NeighborSignaledSessionDown],
    [Up, 'RecvAdminDown', Down, D.NeighborSignaledSessionDown],
    [Up, 'RecvInit', Up, undefined],
    [Up, 'RecvUp', Up, undefined],
    [Up, 'DetectTimerExpired', Down, D.ControlDetectionTimeExpired],
    [Up, 'AdminDown', AdminDown, D.AdministrativelyDown],
    [AdminDown, 'RecvUp', AdminDown, undefined],
    [AdminDown, 'AdminUp', Down, D.None],
  ];
  it.each(rows)('%s --%s--> %s (diag %s)', (from, ev, next, diag) => {
    expect(transition(from, ev)).toEqual(diag === undefined ? { next } : { next, diag });
  });

  it('defines every state x event cell', () => {
    for (const s of [AdminDown, Down, Init, Up]) {
      for (const ev of Object.values(FsmEvent)) expect(FSM_TABLE[s][ev], `${s} ${ev}`).toBeDefined();
    }
  });

  it('never enters AdminDown from a received packet, and only AdminUp leaves AdminDown', () => {
    for (const s of [AdminDown, Down, Init, Up]) {
      for (const r of [AdminDown, Down, Init, Up]) {
        const t = transition(s, recvEvent(r));
        if (s !== AdminDown) expect(t.next).not.toBe(AdminDown);
        else expect(t.next).toBe(AdminDown);
      }
    }
  });
});
