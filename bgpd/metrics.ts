// Prometheus metrics of the speaker (names are the dashboard contract: uplink_bgp_*). Registered once on
// the agent's registry at import time.
import { Counter, Gauge } from 'prom-client';
import { registry } from '../lib/metrics.js';
import { State, type StateName } from './fsm/table.js';

const STATE_VALUE: Record<StateName, number> = {
  [State.Idle]: 0,
  [State.Connect]: 1,
  [State.Active]: 2,
  [State.OpenSent]: 3,
  [State.OpenConfirm]: 4,
  [State.Established]: 5,
};

const sessionState = new Gauge({
  name: 'uplink_bgp_session_state',
  help: 'BGP FSM state per peer (0 Idle .. 5 Established, RFC 4271 §8.2.2)',
  labelNames: ['peer'],
  registers: [registry],
});
const flaps = new Counter({ name: 'uplink_bgp_session_flaps_total', help: 'Sessions that left Established', labelNames: ['peer'], registers: [registry] });
const prefixes = new Gauge({
  name: 'uplink_bgp_prefixes',
  help: 'Prefixes per peer and family: received (pre-policy), accepted (post-policy), advertised',
  labelNames: ['peer', 'family', 'stage'],
  registers: [registry],
});
const updates = new Counter({ name: 'uplink_bgp_updates_total', help: 'UPDATE messages per peer and direction', labelNames: ['peer', 'direction'], registers: [registry] });
const lastErr = new Gauge({
  name: 'uplink_bgp_last_error',
  help: 'Last NOTIFICATION per peer as code*256+subcode (0 = none)',
  labelNames: ['peer', 'direction'],
  registers: [registry],
});

interface PeerLike {
  readonly name: string;
  readonly ribId: number;
  readonly counters: { updatesIn: number; updatesOut: number };
  readonly lastError: { direction: 'sent' | 'received' } | null;
  countsForMetrics?(): void;
}

interface CountSource {
  counts(id: number): { received: Record<string, number>; accepted: Record<string, number>; advertised: Record<string, number> };
}

let countSource: CountSource | null = null;
// Keyed by session object: two speakers in one process (tests) may reuse a peer name.
const lastUpdates = new WeakMap<object, { in: number; out: number }>();

export const peerMetrics = {
  useRib(r: CountSource): void {
    countSource = r;
  },
  state(p: PeerLike, s: StateName): void {
    sessionState.set({ peer: p.name }, STATE_VALUE[s]);
  },
  flap(p: PeerLike): void {
    flaps.inc({ peer: p.name });
  },
  lastError(p: PeerLike, code: number, subcode: number): void {
    lastErr.set({ peer: p.name, direction: p.lastError?.direction ?? 'sent' }, code * 256 + subcode);
  },
  received(p: PeerLike): void {
    this.sync(p);
  },
  advertised(p: PeerLike): void {
    this.sync(p);
  },
  sync(p: PeerLike): void {
    const prev = lastUpdates.get(p) ?? { in: 0, out: 0 };
    // Metrics never throw into the session: a counter only moves forward.
    updates.inc({ peer: p.name, direction: 'in' }, Math.max(0, p.counters.updatesIn - prev.in));
    updates.inc({ peer: p.name, direction: 'out' }, Math.max(0, p.counters.updatesOut - prev.out));
    lastUpdates.set(p, { in: p.counters.updatesIn, out: p.counters.updatesOut });
  },
  /** Prefix gauges are refreshed on scrape-ish cadence by the speaker (counting is O(peers)). */
  prefixes(p: PeerLike, source: CountSource | null = countSource): void {
    // `source`: the peer's own RIB. Several speakers in one process (uplinkd --config a --config b)
    // each have a RIB, and `countSource` is only the last one registered.
    if (!source) return;
    const c = source.counts(p.ribId);
    for (const stage of ['received', 'accepted', 'advertised'] as const) {
      for (const fam of ['ipv4', 'ipv6']) prefixes.set({ peer: p.name, family: fam, stage }, c[stage][fam] ?? 0);
    }
  },
};
