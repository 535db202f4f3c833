// The preamble the speaker-vs-FRR namespace tests share: undo steps run after each test, namespaces
// joined by veths, an FRR bgpd config, and our speaker peering with FRR until Established.
import { afterEach } from 'vitest';
import { Netns, link } from '../../test/harness/netns.js';
import { startFrr, type FrrPeer } from '../../test/harness/peers/frr.js';
import { startSpeaker, waitEstablished } from './helpers.js';
import type { BgpSpeaker } from '../speaker.js';
import type { FibChange } from '../rib/rib.js';
import type { Logger } from '../../lib/log.js';

/** Undo steps of the running test, in the order they were taken. */
export type Cleanup = (() => Promise<void> | void)[];

/** A list a test pushes its undo steps on; after each test they run in reverse, also after a failure. */
export function cleanupAfterEach(): Cleanup {
  const steps: Cleanup = [];
  afterEach(async () => {
    for (const c of steps.reverse()) await c();
    steps.length = 0;
  });
  return steps;
}

/** A namespace named after `prefix`, destroyed by `cleanup`. */
export function netns(cleanup: Cleanup, prefix: string): Netns {
  const ns = Netns.create(prefix);
  cleanup.push(() => ns.destroy());
  return ns;
}

/**
 * Two namespaces joined on eth0: us 10.0.0.1/30, them 10.0.0.2/30 (the peer daemon's side in these
 * tests); with `ipv6`, also fd00::1/64 and fd00::2/64.
 */
export function nsPair(cleanup: Cleanup, prefix: string, opts: { ipv6?: boolean } = {}): { us: Netns; them: Netns } {
  const us = netns(cleanup, prefix);
  const them = netns(cleanup, prefix);
  const v6 = (a: string): string[] => (opts.ipv6 ? [a] : []);
  link(us, 'eth0', them, 'eth0', ['10.0.0.1/30', ...v6('fd00::1/64')], ['10.0.0.2/30', ...v6('fd00::2/64')]);
  return { us, them };
}

export interface FrrNeighborSpec {
  /** The neighbour's address, or with `interface` the interface name of an unnumbered neighbour. */
  readonly address: string;
  readonly asn: number;
  /** BGP unnumbered: `neighbor IF interface remote-as ASN` (FRR learns the peer's link-local from RAs). */
  readonly interface?: boolean;
  /** `neighbor ADDR ...` lines in the router block, e.g. `password k`. */
  readonly lines?: readonly string[];
  /** `neighbor ADDR ...` lines in the IPv4 unicast block, e.g. `route-reflector-client`. */
  readonly af?: readonly string[];
}

export interface FrrConfSpec {
  readonly asn: number;
  readonly routerId: string;
  readonly hostname?: string;
  /** Router-level lines before the neighbours, e.g. `bgp graceful-restart`. */
  readonly global?: readonly string[];
  readonly neighbors: readonly FrrNeighborSpec[];
  /** Extra lines in the IPv4 unicast block. */
  readonly af4?: readonly string[];
  readonly networks4?: readonly string[];
  /** IPv6 unicast: the neighbours activated and these networks originated (when given). */
  readonly networks6?: readonly string[];
}

/** An FRR bgpd config: datacenter defaults, no policy required, every neighbour activated for IPv4. */
export function frrConf(s: FrrConfSpec): string {
  const lines = ['frr defaults datacenter', `hostname ${s.hostname ?? 'frr-ulg'}`, `router bgp ${s.asn}`, ` bgp router-id ${s.routerId}`];
  lines.push(' no bgp ebgp-requires-policy', ' no bgp network import-check', ' no bgp default ipv4-unicast');
  for (const g of s.global ?? []) lines.push(` ${g}`);
  for (const n of s.neighbors) {
    lines.push(` neighbor ${n.address}${n.interface ? ' interface' : ''} remote-as ${n.asn}`);
    for (const l of n.lines ?? []) lines.push(` neighbor ${n.address} ${l}`);
  }
  lines.push(' address-family ipv4 unicast');
  for (const n of s.neighbors) {
    lines.push(`  neighbor ${n.address} activate`);
    for (const l of n.af ?? []) lines.push(`  neighbor ${n.address} ${l}`);
  }
  for (const l of s.af4 ?? []) lines.push(`  ${l}`);
  for (const p of s.networks4 ?? []) lines.push(`  network ${p}`);
  lines.push(' exit-address-family');
  if (s.networks6) {
    lines.push(' address-family ipv6 unicast');
    for (const n of s.neighbors) lines.push(`  neighbor ${n.address} activate`);
    for (const p of s.networks6) lines.push(`  network ${p}`);
    lines.push(' exit-address-family');
  }
  return `${lines.join('\n')}\n`;
}

export interface FrrSession {
  readonly frr: FrrPeer;
  readonly speaker: BgpSpeaker;
  readonly fib: Map<string, FibChange>;
}

/**
 * FRR in `them` with `config`, our speaker in `us` with `ours` (a config as uplinkd's `bgp:` key),
 * started and Established with `peer` (not waited for with `peer: false`; with `frrSees`, FRR
 * Established with that address too).
 */
export async function frrSession(
  cleanup: Cleanup,
  o: { us: Netns; them: Netns; config: string; ours: Record<string, unknown>; peer?: string | false; frrSees?: string; restarting?: boolean; log?: Logger },
): Promise<FrrSession> {
  const frr = await startFrr(o.them, { config: o.config });
  cleanup.push(() => frr.stop({ cleanup: true }));
  const { speaker, fib } = startSpeaker(o.us, o.ours, { ...(o.restarting ? { restarting: true } : {}), ...(o.log ? { log: o.log } : {}) });
  cleanup.push(() => speaker.stop());
  await speaker.start();
  if (o.peer === false) return { frr, speaker, fib };
  await waitEstablished(speaker, o.peer ?? 'frr');
  if (o.frrSees) await frr.waitState(o.frrSees);
  return { frr, speaker, fib };
}
