// What the person on call should do next, appended to an error or a session problem. Every message
// names the cause (what failed and where) and one next step, so no error ends in a dead end.
import { isDatastoreError } from '../ipam/index.js';

/** "4 min", "37 s", "2 h" since an ISO time; undefined when the text is not a time. */
export function ago(iso: string | null | undefined, now = Date.now()): string | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return undefined;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** The LAST ERROR cell of a session: the NOTIFICATION in words and how long the session has been down. */
export function sessionProblem(n: { peer: string; state: string; since: string | null; lastError: string | null }, now = Date.now()): string | null {
  if (n.state === 'Established') return n.lastError;
  const down = ago(n.since, now);
  const parts = [n.lastError ?? 'no NOTIFICATION exchanged (TCP or OPEN never completed)'];
  if (down) parts.push(`not Established for ${down}`);
  parts.push(`next: uplinkctl show neighbor ${n.peer}`);
  return parts.join('; ');
}

/** The next step for an error uplinkctl is about to print; undefined when its message has one. */
export function nextStep(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown };
  const msg = typeof e.message === 'string' ? e.message : '';
  if (isDatastoreError(err)) {
    return `the datastore named in the agent's config (-c) failed (${err.code}): check it is reachable from here, then retry`;
  }
  switch (e.code) {
    case 'agent-down':
      return undefined;
    case 'timeout':
      return 'the agent is busy or hung: check its log (journalctl -u uplinkd, or kubectl logs -n uplink-system) and retry';
    case 'agent-unreachable':
      return 'check the socket path (-s) and that you may open it (run as root)';
    case 'not-found':
      if (/neighbor|peer/i.test(msg)) return 'list the configured peers with: uplinkctl show neighbors';
      if (/node/i.test(msg)) return 'list the nodes with: uplinkctl status --all-nodes';
      return 'see uplinkctl --help for the commands this agent serves';
    case 'bad-request':
    case 'bad-input':
      return 'see uplinkctl COMMAND --help for the expected arguments';
    case 'unavailable':
      return 'the agent is starting or its datastore is down: retry in a few seconds, then check uplinkctl status';
    default:
      return undefined;
  }
}
