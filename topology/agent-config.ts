// uplinkd's configuration for one node of the topology (the YAML format of uplinkd/config.ts with
// the BGP section of bgpd/config.ts). Paths are per node so several agents can share one host in
// the namespace lab (no mount namespaces there); in containerlab each container has its own /run.
import { BFD_TIMERS } from './frr.js';
import { AddressFamily, nodeBgpConfig } from './peers.js';
import { nodeLabels } from './kube.js';
import type { Fabric } from './resolve.js';

export interface AgentConfigOptions {
  /** Root for the node's files: state in <root>/<node>/state, sockets in <root>/<node>/run.
   *  Default: /var/lib/uplink/<node> and /run/uplink/<node>. */
  root?: string;
  /** Extra top-level keys merged in (e.g. a shared `datastore:` for the whole lab). */
  extra?: Record<string, unknown>;
  /**
   * uplinkd's graceful restart (bgp.gracefulRestart): the restart time it advertises is how long
   * its peers keep its routes as stale after the session drops without a NOTIFICATION (RFC 4724
   * §4.2). Default: uplinkd's own (120 s). Drills of a node dying silently set it short.
   */
  gracefulRestart?: { restartTime?: number; staleTime?: number };
}

export function agentConfig(f: Fabric, node: string, opts: AgentConfigOptions = {}): Record<string, unknown> {
  const n = nodeBgpConfig(f, node);
  const stateDir = opts.root ? `${opts.root}/${node}/state` : `/var/lib/uplink/${node}`;
  const runDir = opts.root ? `${opts.root}/${node}/run` : `/run/uplink/${node}`;
  const peers = n.peers.map((p) => {
    const fam = p.families.map((x) => (x === AddressFamily.Ipv4Unicast ? 'ipv4' : 'ipv6'));
    return {
      // Two numbered sessions to one ToR (IPv4 and IPv6) need distinct names.
      name: p.unnumbered ? p.peerName : `${p.peerName}-${fam.join('-')}`,
      ...(p.unnumbered ? { interface: p.interface } : { address: p.peerAddress, localAddress: p.localAddress }),
      asn: p.peerAsn,
      families: fam,
      // RFC 7938 §6.3 timers, as on the ToRs (the lower hold time of the two is used, RFC 4271 §4.2).
      holdTime: 9,
      ...(f.spec.asn.allowasIn ? { allowasIn: 1 } : {}),
    };
  });
  return {
    nodeName: node,
    nodeLabels: nodeLabels(f, node),
    stateDir,
    control: { socket: `${runDir}/control.sock` },
    cni: { socket: `${runDir}/cni.sock` },
    routes: { lockFile: `${runDir}/fib.lock` },
    pools: f.spec.pools.map((p) => ({ name: p.name, cidr: p.cidrText, blockSize: p.blockSize })),
    bgp: {
      routerId: n.routerId,
      asn: n.asn,
      multipathRelax: true,
      maxPaths: 64,
      importPools: f.spec.pools.map((p) => p.cidrText),
      ...(opts.gracefulRestart ? { gracefulRestart: { ...opts.gracefulRestart } } : {}),
      peers,
      // bfd/config.ts: BFD on every ToR session, the ToRs' timers (FRR's `bfd profile uplink`).
      ...(f.spec.bfd ? { bfd: { defaults: { ...BFD_TIMERS }, peers: peers.map((p) => p.name) } } : {}),
    },
    ...(opts.extra ?? {}),
  };
}
