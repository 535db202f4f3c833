// Configs for the non-FRR peer daemons the namespace tests run against (frr-session.ts has FRR's):
// the daemon at 10.0.0.2 / fd00::2 (nsPair), our speaker at 10.0.0.1 / fd00::1.

export interface BirdConfSpec {
  /** BIRD's AS; the same as `peerAs` makes the sessions internal. */
  readonly asn: number;
  readonly peerAs: number;
  /** LOCAL_PREF set on what BIRD exports (only iBGP carries it). */
  readonly localPref?: number | undefined;
  /** TCP MD5 (RFC 2385) on the sessions. */
  readonly password?: string;
  /** Also the IPv6 session `ours6` (default true). */
  readonly ipv6?: boolean;
}

/**
 * BIRD 2: sessions `ours4` (and `ours6`) to us, exporting only its static routes 192.0.2.0/24 and
 * 2001:db8:2::/48 (protocols s4, s6), importing everything. `protocol direct` resolves iBGP next hops
 * on the link (BIRD resolves them recursively through its own table).
 */
export function birdConf(s: BirdConfSpec): string {
  const set = s.localPref !== undefined ? `bgp_local_pref = ${s.localPref}; ` : '';
  const pw = s.password !== undefined ? ` password "${s.password}";` : '';
  const v6 = s.ipv6 ?? true;
  return `
router id 10.0.0.2;
protocol device {}
protocol direct { ipv4; ipv6; }
protocol static s4 { ipv4; route 192.0.2.0/24 blackhole; }
protocol static s6 { ipv6; route 2001:db8:2::/48 blackhole; }
filter to_us { if proto = "s4" || proto = "s6" then { ${set}accept; } reject; }
protocol bgp ours4 { local 10.0.0.2 as ${s.asn}; neighbor 10.0.0.1 as ${s.peerAs};${pw} ipv4 { import all; export filter to_us; }; }
${v6 ? `protocol bgp ours6 { local fd00::2 as ${s.asn}; neighbor fd00::1 as ${s.peerAs};${pw} ipv6 { import all; export filter to_us; }; }` : ''}
`;
}

export interface GobgpConfSpec {
  readonly asn: number;
  readonly routerId: string;
  readonly neighbors: readonly { readonly address: string; readonly asn: number; readonly family: 'ipv4' | 'ipv6'; readonly password?: string }[];
}

/** GoBGP TOML: one neighbour per entry, one unicast family each. */
export function gobgpConf(s: GobgpConfSpec): string {
  const lines = ['[global.config]', `  as = ${s.asn}`, `  router-id = "${s.routerId}"`, '  port = 179'];
  for (const n of s.neighbors) {
    lines.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${n.address}"`, `    peer-as = ${n.asn}`);
    if (n.password !== undefined) lines.push(`    auth-password = "${n.password}"`);
    lines.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${n.family}-unicast"`);
  }
  return `${lines.join('\n')}\n`;
}
