// Every error uplinkctl prints names a next step; a session that is down says why and for how long.
import { describe, expect, it } from 'vitest';
import { DatastoreError } from '../ipam/index.js';
import { CtlError } from './client.js';
import { ago, nextStep, sessionProblem } from './hints.js';

describe('uplinkctl hints', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');

  it('a session that is down: the NOTIFICATION, how long, and where to look next', () => {
    const n = { peer: '10.0.0.1', state: 'Idle', since: '2026-01-01T11:56:00Z', lastError: "peer sent NOTIFICATION 6/2 Administrative Shutdown: maintenance (2026-01-01T11:56:00Z)" };
    expect(sessionProblem(n, now)).toBe("peer sent NOTIFICATION 6/2 Administrative Shutdown: maintenance (2026-01-01T11:56:00Z); not Established for 4 min; next: uplinkctl show neighbor 10.0.0.1");
    expect(sessionProblem({ ...n, lastError: null, since: null }, now)).toBe('no NOTIFICATION exchanged (TCP or OPEN never completed); next: uplinkctl show neighbor 10.0.0.1');
    // An Established session keeps its last error as history, without advice.
    expect(sessionProblem({ ...n, state: 'Established' }, now)).toBe(n.lastError);
  });

  it('ago: seconds, minutes, hours; not a time -> undefined', () => {
    expect(ago('2026-01-01T11:59:30Z', now)).toBe('30 s');
    expect(ago('2026-01-01T11:00:00Z', now)).toBe('60 min');
    expect(ago('2026-01-01T06:00:00Z', now)).toBe('6 h');
    expect(ago('3m12s', now)).toBeUndefined();
  });

  it('errors from the agent and the datastore get a next step; a message that has one is left alone', () => {
    expect(nextStep(new CtlError('not-found', "no neighbor '10.9.9.9'"))).toBe('list the configured peers with: uplinkctl show neighbors');
    expect(nextStep(new CtlError('not-found', 'node n7 is not registered'))).toBe('list the nodes with: uplinkctl status --all-nodes');
    expect(nextStep(new CtlError('timeout', 'agent at /x did not answer within 10000 ms'))).toMatch(/busy or hung/);
    expect(nextStep(new DatastoreError('unavailable', 'etcd down'))).toMatch(/datastore named in the agent's config/);
    expect(nextStep(new CtlError('agent-down', 'no agent ... Try: systemctl status uplinkd'))).toBeUndefined();
  });
});
