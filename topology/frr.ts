// FRR configuration of a spine or ToR (FRR 8.4 syntax; the containerlab image is 8.4.x).
// Policy: routers exchange only the pod pools (any block inside them, up to host routes) and the
// router loopbacks; nodes may announce only pool prefixes. Multipath across ASNs is enabled
// (`bgp bestpath as-path multipath-relax`) because in RFC 7938 §6.1 ECMP paths through two ToRs or
// spines have equal-length AS_PATHs with different ASNs.
import { TopologyError, TopologyErrorCode } from './errors.js';
import { formatNet } from '../lib/ip.js';
import { AddressFamily, sessionsOf, type BgpSession } from './peers.js';
import type { Fabric } from './resolve.js';

const MAX_PATHS = 64;

/** BFD timers of the lab (issue 9: detect a dead neighbour in well under 1 s). */
export const BFD_TIMERS = { minTxMs: 100, minRxMs: 100, multiplier: 3 } as const;

/** The `daemons` file for the routers: zebra, bgpd and staticd (and bfdd with BFD), vty bound to loopback. */
export function frrDaemons(bfd = false): string {
  const lines = ['zebra=yes', 'bgpd=yes', 'staticd=yes', 'ospfd=no', 'ospf6d=no', `bfdd=${bfd ? 'yes' : 'no'}`, '', 'vtysh_enable=yes'];
  if (bfd) lines.push('bfdd_options="  -A 127.0.0.1"');
  // zebra -K: after a restart keep the previous run's kernel routes for 60 s (until bgpd has
  // relearned them) instead of sweeping them at once: the forwarding half of graceful restart.
  for (const d of ['zebra', 'bgpd', 'staticd']) lines.push(`${d}_options="  -A 127.0.0.1${d === 'zebra' ? ' -K 60' : ''}"`);
  return `${lines.join('\n')}\n`;
}

function groupName(s: BgpSession): string {
  // iBGP and eBGP neighbours need separate groups: a group has one remote-as kind.
  const tier = `${s.peerRole === 'spine' ? 'SPINES' : s.peerRole === 'tor' ? 'TORS' : 'NODES'}${s.type === 'ibgp' ? '-IBGP' : ''}`;
  if (s.unnumbered) return tier;
  return s.families.includes(AddressFamily.Ipv6Unicast) ? `${tier}-V6` : `${tier}-V4`;
}

export function frrConfig(f: Fabric, device: string): string {
  const d = f.devices.get(device);
  if (!d || d.role === 'node') throw new TopologyError(TopologyErrorCode.UnknownReference, device, 'not a spine or ToR');
  const sessions = sessionsOf(f, device);
  const out: string[] = ['frr version 8.4', 'frr defaults traditional', `hostname ${d.name}`, 'log stdout informational', 'ip forwarding', 'ipv6 forwarding', 'service integrated-vtysh-config', '!'];
  for (const [name, addrs] of d.ifaces) {
    out.push(`interface ${name}`);
    for (const a of addrs) out.push(` ${a.includes(':') ? 'ipv6' : 'ip'} address ${a}`);
    // Unnumbered BGP finds its peer by router advertisements (RFC 4861 + RFC 8950 next hops).
    const unnumbered = sessions.some((s) => s.interface === name && s.unnumbered);
    if (unnumbered) out.push(' ipv6 nd ra-interval 5', ' no ipv6 nd suppress-ra');
    out.push('exit', '!');
  }
  out.push('interface lo', ` ip address ${d.routerId}/32`, 'exit', '!');

  const v4Pools = f.spec.pools.filter((p) => p.cidr.family === 4);
  const v6Pools = f.spec.pools.filter((p) => p.cidr.family === 6);
  let seq = 5;
  for (const p of v4Pools) {
    out.push(`ip prefix-list UPLINK-POOLS seq ${seq} permit ${formatNet(p.cidr)} le 32`);
    seq += 5;
  }
  if (v4Pools.length === 0) out.push('ip prefix-list UPLINK-POOLS seq 5 deny any');
  out.push(`ip prefix-list UPLINK-LOOPBACKS seq 5 permit ${formatNet(f.spec.fabric.loopbacks)} ge 32`);
  seq = 5;
  for (const p of v6Pools) {
    out.push(`ipv6 prefix-list UPLINK-POOLS6 seq ${seq} permit ${formatNet(p.cidr)} le 128`);
    seq += 5;
  }
  if (v6Pools.length === 0) out.push('ipv6 prefix-list UPLINK-POOLS6 seq 5 deny any');
  out.push('!');
  // Between routers: pools and loopbacks. From nodes: pools only (a node must not attract other
  // traffic). Towards nodes: pools only, so a node learns every other node's blocks.
  out.push(
    'route-map UPLINK-FABRIC permit 10', ' match ip address prefix-list UPLINK-POOLS', 'exit',
    'route-map UPLINK-FABRIC permit 20', ' match ip address prefix-list UPLINK-LOOPBACKS', 'exit',
    'route-map UPLINK-FABRIC permit 30', ' match ipv6 address prefix-list UPLINK-POOLS6', 'exit',
    'route-map UPLINK-POOLS-ONLY permit 10', ' match ip address prefix-list UPLINK-POOLS', 'exit',
    'route-map UPLINK-POOLS-ONLY permit 20', ' match ipv6 address prefix-list UPLINK-POOLS6', 'exit',
    '!',
  );

  if (f.spec.bfd) {
    // RFC 5880 §6.8.1 timers; one profile for every session (RFC 5881 single hop: all are direct).
    out.push('bfd', ' profile uplink', `  transmit-interval ${BFD_TIMERS.minTxMs}`, `  receive-interval ${BFD_TIMERS.minRxMs}`, `  detect-multiplier ${BFD_TIMERS.multiplier}`, ' exit', 'exit', '!');
  }
  out.push(`router bgp ${d.asn}`, ` bgp router-id ${d.routerId}`, ' bgp log-neighbor-changes', ' bgp bestpath as-path multipath-relax', ' no bgp network import-check');
  // RFC 7938 §6.3: fast failure detection; the datacenter profile values.
  out.push(' timers bgp 3 9');
  // RFC 4724: a restarting router keeps forwarding and its peers keep its routes (stale) until it is
  // back; uplinkd is a GR helper, so restarting a ToR's FRR does not withdraw the pods' routes.
  // preserve-fw-state: list IPv4/IPv6 unicast with the F bit in the GR capability; without the
  // AFI/SAFI tuples a helper must drop our routes when the session goes (RFC 4724 §3, §4.2).
  // select-defer-time 3: for restart-time after bgpd starts, FRR sets the R bit and defers best-path
  // selection (RFC 4724 §4.1) for every session that (re)establishes until End-of-RIB from all GR
  // peers; each session coming up in that window raises the count it waits for, so a node session
  // reset there (a BFD drill, a flap) left the node's path unselected and unadvertised for the 360 s
  // default, and losing the other ToR cut the node off completely. 0 (no deferral) is no better: a
  // restarted ToR then sends its nodes End-of-RIB before the spines' routes arrived, and the nodes
  // (correctly, §4.2) drop the stale routes via it. A few seconds covers the spines' End-of-RIB after
  // a restart and bounds the stuck case.
  out.push(' bgp graceful-restart', ' bgp graceful-restart preserve-fw-state', ' bgp graceful-restart select-defer-time 3');
  const groups = new Map<string, BgpSession>();
  for (const s of sessions) if (!groups.has(groupName(s))) groups.set(groupName(s), s);
  for (const [g, s] of groups) {
    out.push(` neighbor ${g} peer-group`);
    out.push(` neighbor ${g} remote-as ${s.type === 'ibgp' ? 'internal' : 'external'}`);
    out.push(` neighbor ${g} advertisement-interval 0`);
    if (f.spec.bfd) out.push(` neighbor ${g} bfd profile uplink`);
  }
  for (const s of sessions) {
    const g = groupName(s);
    if (s.unnumbered) out.push(` neighbor ${s.interface} interface peer-group ${g}`);
    else out.push(` neighbor ${s.peerAddress} peer-group ${g}`);
  }
  for (const fam of [AddressFamily.Ipv4Unicast, AddressFamily.Ipv6Unicast]) {
    const afi = fam === AddressFamily.Ipv4Unicast ? 'ipv4' : 'ipv6';
    out.push(' !', ` address-family ${afi} unicast`);
    if (fam === AddressFamily.Ipv4Unicast) out.push(`  network ${d.routerId}/32`);
    for (const [g, s] of groups) {
      const active = s.families.includes(fam);
      if (!active) {
        out.push(`  no neighbor ${g} activate`);
        continue;
      }
      out.push(`  neighbor ${g} activate`);
      const fromNodes = s.peerRole === 'node';
      out.push(`  neighbor ${g} route-map ${fromNodes ? 'UPLINK-POOLS-ONLY' : 'UPLINK-FABRIC'} in`);
      out.push(`  neighbor ${g} route-map ${fromNodes ? 'UPLINK-POOLS-ONLY' : 'UPLINK-FABRIC'} out`);
      // iBGP nodes (AS per rack, Calico's model): the ToR reflects their routes (RFC 4456) and
      // puts itself in the path as next hop so the other rack members reach the node's blocks.
      if (fromNodes && s.type === 'ibgp') {
        out.push(`  neighbor ${g} route-reflector-client`);
        // Reflected and spine-learned routes keep a next hop on another node's /31, which this
        // node cannot reach; the ToR substitutes itself (`force` applies it to reflected routes).
        out.push(`  neighbor ${g} next-hop-self force`);
      }
      if (f.spec.asn.allowasIn) out.push(`  neighbor ${g} allowas-in 1`);
    }
    out.push(`  maximum-paths ${MAX_PATHS}`, `  maximum-paths ibgp ${MAX_PATHS}`, ' exit-address-family');
  }
  out.push('exit', '!', 'line vty', '!', 'end');
  return `${out.join('\n')}\n`;
}
