// Records real BGP sessions between FRR, BIRD, GoBGP and ExaBGP in network namespaces, capturing the
// wire with tcpdump, for the golden vectors in test/vectors/. Run with test/vectors/record.sh (needs
// root and the Debian packages frr, bird2, gobgpd, exabgp, tcpdump). Each scenario exercises a set of
// features (see test/vectors/README.md) and ends with a NOTIFICATION so every capture holds a whole
// session life cycle.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { link, Netns } from '../netns.js';
import { startCapture } from './capture.js';
import { sleep, waitFor } from './common.js';
import { startBird } from './bird.js';
import { startExabgp, EXABGP_API_PROCESS } from './exabgp.js';
import { startFrr } from './frr.js';
import { startGobgp } from './gobgp.js';

const A4 = '10.0.0.1';
const B4 = '10.0.0.2';
const A6 = 'fd00:0:0:1::1';
const B6 = 'fd00:0:0:1::2';

interface Pair {
  a: Netns;
  b: Netns;
}

function makePair(): Pair {
  const a = Netns.create('ulv');
  const b = Netns.create('ulv');
  link(a, 'eth0', b, 'eth0', [`${A4}/30`, `${A6}/64`], [`${B4}/30`, `${B6}/64`]);
  return { a, b };
}

/** Link-local addresses go through DAD (~1-2 s); FRR and BIRD only use them once they are valid. */
async function waitLinkLocal(ns: Netns): Promise<void> {
  await waitFor(`link-local on ${ns.name}`, () => {
    const addrs = ns.ipJson<{ addr_info?: { scope?: string; tentative?: boolean }[] }[]>('addr', 'show', 'dev', 'eth0');
    const ll = addrs[0]?.addr_info?.find((x) => x.scope === 'link');
    return ll && !ll.tentative ? true : undefined;
  }, { timeoutMs: 10_000 });
}

/**
 * Make the BGP speaker in `ns` silent on IPv4 so the other side's hold timer expires (RFC 4271 §6.5).
 * Only segments carrying BGP data are dropped (an IPv4 packet with a 19-byte KEEPALIVE is >= 71 bytes):
 * pure ACKs (52 bytes with timestamps, up to 64 with a SACK block) still flow, otherwise the other
 * side's TCP backs off and its NOTIFICATION never reaches the wire.
 */
function silence(ns: Netns): void {
  for (const dir of ['--dport', '--sport']) {
    ns.exec('iptables', ['-A', 'OUTPUT', '-p', 'tcp', dir, '179', '-m', 'length', '--length', '70:65535', '-j', 'DROP']);
  }
}

type Scenario = (pair: Pair, pcap: string) => Promise<void>;

// FRR (4-octet AS) <-> BIRD over IPv4 and IPv6 sessions: add-path, GR, LLGR, roles, extended
// messages, RFC 8950 IPv4 routes over the IPv6 session, route refresh, withdrawals, shutdown message.
const frrBird: Scenario = async ({ a, b }, pcap) => {
  await Promise.all([waitLinkLocal(a), waitLinkLocal(b)]);
  const cap = await startCapture(a, 'eth0', pcap);
  const frr = await startFrr(a, {
    config: `hostname frr-a
router bgp 4200000001
 bgp router-id ${A4}
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
 bgp long-lived-graceful-restart stale-time 600
 neighbor ${B4} remote-as 65002
 neighbor ${B4} timers 10 30
 neighbor ${B4} local-role provider
 neighbor ${B6} remote-as 65002
 neighbor ${B6} timers 10 30
 neighbor ${B6} capability extended-nexthop
 address-family ipv4 unicast
  network 10.1.0.0/24 route-map TAG
  network 10.1.1.0/24
  neighbor ${B4} addpath-tx-all-paths
  neighbor ${B4} route-map PREPEND out
 exit-address-family
 address-family ipv6 unicast
  network fd00:1::/48 route-map TAG
  network fd00:1:1::/48
  neighbor ${B6} activate
 exit-address-family
route-map TAG permit 10
 set community 65001:100 65001:200 no-export
 set large-community 4200000001:1:2 4200000001:3:4
 set extcommunity rt 65001:7
route-map PREPEND permit 10
 set as-path prepend 4200000001 65536
`,
  });
  const bird = await startBird(b, {
    config: `router id ${B4};
protocol device {}
protocol static s4 {
  ipv4;
  route 10.2.0.0/24 blackhole { bgp_community.add((65002,100)); bgp_large_community.add((65002,1,2)); bgp_ext_community.add((rt,65002,7)); bgp_med = 20; };
  route 10.2.1.0/24 blackhole;
}
protocol static s6 {
  ipv6;
  route fd00:2::/48 blackhole { bgp_community.add((65002,600)); };
  route fd00:2:1::/48 blackhole;
}
protocol bgp frr4 {
  local ${B4} as 65002;
  neighbor ${A4} as 4200000001;
  hold time 30;
  graceful restart on;
  long lived graceful restart on;
  enable extended messages on;
  local role customer;
  ipv4 { import all; export all; add paths on; };
}
protocol bgp frr6 {
  local ${B6} as 65002;
  neighbor ${A6} as 4200000001;
  hold time 30;
  ipv6 { import all; export all; };
  ipv4 { import all; export all; extended next hop on; };
}
`,
  });
  await frr.waitState(B4);
  await frr.waitState(B6);
  await bird.waitState('frr4');
  await sleep(3000);
  frr.vtysh(`clear bgp ipv4 unicast ${B4} soft in`);
  frr.vtysh(`clear bgp ipv6 unicast ${B6} soft in`);
  await sleep(1500);
  frr.configure(['router bgp 4200000001', 'address-family ipv4 unicast', 'no network 10.1.1.0/24']);
  frr.configure(['router bgp 4200000001', 'address-family ipv6 unicast', 'no network fd00:1:1::/48']);
  bird.birdc('disable s6');
  await sleep(2500);
  frr.configure(['router bgp 4200000001', `neighbor ${B4} shutdown message uplink vectors: maintenance`]);
  frr.vtysh(`clear bgp ${B6}`);
  await sleep(1500);
  await cap.stop();
  await frr.stop({ cleanup: true });
  await bird.stop({ cleanup: true });
};

// FRR (2-octet AS) <-> GoBGP (4-octet AS): AS4_PATH on the 2-octet side, add-path both ways, GoBGP's
// attributes (MED, origin, large/extended communities), IPv6 session, hold timer expiry.
const frrGobgp: Scenario = async ({ a, b }, pcap) => {
  await Promise.all([waitLinkLocal(a), waitLinkLocal(b)]);
  const cap = await startCapture(a, 'eth0', pcap);
  const frr = await startFrr(a, {
    config: `hostname frr-a
router bgp 65001
 bgp router-id ${A4}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${B4} remote-as 4200000003
 neighbor ${B4} timers 1 3
 neighbor ${B6} remote-as 4200000003
 neighbor ${B6} timers 10 30
 address-family ipv4 unicast
  network 10.1.0.0/24
  neighbor ${B4} addpath-tx-all-paths
  no neighbor ${B6} activate
 exit-address-family
 address-family ipv6 unicast
  network fd00:1::/48
  neighbor ${B6} activate
 exit-address-family
`,
  });
  const gobgp = await startGobgp(b, {
    config: `[global.config]
  as = 4200000003
  router-id = "${B4}"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${A4}"
    peer-as = 65001
  [neighbors.timers.config]
    hold-time = 3
    keepalive-interval = 1
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 90
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
    [neighbors.afi-safis.add-paths.config]
      receive = true
      send-max = 4

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${A6}"
    peer-as = 65001
  [neighbors.timers.config]
    hold-time = 30
    keepalive-interval = 10
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`,
  });
  await gobgp.waitState(A4);
  await gobgp.waitState(A6);
  gobgp.gobgp('global', 'rib', 'add', '-a', 'ipv4', '10.3.0.0/24', 'origin', 'egp', 'med', '50',
    'aspath', '65010,4200000010', 'community', '65003:1,no-advertise', 'large-community', '4200000003:5:6',
    'rt', '65003:9');
  gobgp.gobgp('global', 'rib', 'add', '-a', 'ipv4', '10.3.1.0/24', 'identifier', '7');
  gobgp.gobgp('global', 'rib', 'add', '-a', 'ipv6', 'fd00:3::/48', 'community', '65003:6');
  await sleep(2000);
  gobgp.gobgp('global', 'rib', 'del', '-a', 'ipv4', '10.3.1.0/24', 'identifier', '7');
  gobgp.gobgp('global', 'rib', 'del', '-a', 'ipv6', 'fd00:3::/48');
  await sleep(1500);
  // GoBGP falls silent on the IPv4 session: FRR's 3 s hold timer expires -> NOTIFICATION 4/0.
  silence(b);
  await frr.waitState(B4, 'Active', 15_000).catch(() => undefined);
  await sleep(1000);
  await cap.stop();
  await frr.stop({ cleanup: true });
  await gobgp.stop({ cleanup: true });
};

// BIRD (4-octet AS) <-> GoBGP: BIRD's encoding of the same features FRR exercised, IPv6 with
// link-local next hops, BIRD withdrawing, GoBGP shutting the session down with a message.
const birdGobgp: Scenario = async ({ a, b }, pcap) => {
  await Promise.all([waitLinkLocal(a), waitLinkLocal(b)]);
  const cap = await startCapture(a, 'eth0', pcap);
  const bird = await startBird(a, {
    config: `router id ${A4};
protocol device {}
protocol static s4 {
  ipv4;
  route 10.1.0.0/24 blackhole { bgp_community.add((65001,1)); bgp_large_community.add((4200000001,7,8)); bgp_ext_community.add((ro,65001,3)); bgp_path.prepend(4200000099); };
  route 10.1.1.0/24 blackhole;
}
protocol static s6 {
  ipv6;
  route fd00:1::/48 blackhole { bgp_large_community.add((4200000001,9,9)); };
}
protocol bgp gobgp4 {
  local ${A4} as 4200000001;
  neighbor ${B4} as 65003;
  hold time 30;
  graceful restart on;
  ipv4 { import all; export all; add paths on; };
}
protocol bgp gobgp6 {
  local ${A6} as 4200000001;
  neighbor ${B6} as 65003;
  hold time 30;
  ipv6 { import all; export all; };
}
`,
  });
  const gobgp = await startGobgp(b, {
    config: `[global.config]
  as = 65003
  router-id = "${B4}"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${A4}"
    peer-as = 4200000001
  [neighbors.timers.config]
    hold-time = 30
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.add-paths.config]
      receive = true
      send-max = 2

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${A6}"
    peer-as = 4200000001
  [neighbors.timers.config]
    hold-time = 30
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`,
  });
  await gobgp.waitState(A4);
  await gobgp.waitState(A6);
  gobgp.gobgp('global', 'rib', 'add', '-a', 'ipv4', '10.3.0.0/24', 'community', '65003:77', 'large-community', '65003:1:1');
  gobgp.gobgp('global', 'rib', 'add', '-a', 'ipv6', 'fd00:3::/48', 'nexthop', 'fe80::1');
  await sleep(2500);
  bird.birdc('reload in gobgp4');
  await sleep(1000);
  bird.birdc('disable s4');
  gobgp.gobgp('global', 'rib', 'del', '-a', 'ipv4', '10.3.0.0/24');
  await sleep(1500);
  gobgp.gobgp('neighbor', A4, 'disable', '--reason', 'uplink vectors: gobgp shutdown');
  bird.birdc('disable gobgp6');
  await sleep(1500);
  await cap.stop();
  await bird.stop({ cleanup: true });
  await gobgp.stop({ cleanup: true });
};

// ExaBGP (2-octet AS only: no capability 65) <-> FRR over iBGP: attributes the daemons above never
// send (AS_SET, AGGREGATOR, ATOMIC_AGGREGATE, an unknown optional transitive attribute), LOCAL_PREF,
// many prefixes in one UPDATE, and AS_TRANS + AS4_PATH both ways (RFC 6793 §4.2.2).
const exabgpFrr: Scenario = async ({ a, b }, pcap) => {
  const cap = await startCapture(a, 'eth0', pcap);
  const frr = await startFrr(a, {
    config: `hostname frr-a
router bgp 65001
 bgp router-id ${A4}
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${B4} remote-as 65001
 neighbor ${B4} timers 10 30
 address-family ipv4 unicast
  network 10.1.0.0/24
  neighbor ${B4} route-map PREPEND out
 exit-address-family
route-map PREPEND permit 10
 set as-path prepend 4200000001 65002
`,
  });
  const exa = await startExabgp(b, {
    config: `neighbor ${A4} {
  router-id ${B4};
  local-address ${B4};
  local-as 65001;
  peer-as 65001;
  hold-time 30;
  capability { route-refresh; asn4 disable; }
  family { ipv4 unicast; }
  api { processes [ ${EXABGP_API_PROCESS} ]; neighbor-changes; receive { parsed; update; notification; } }
}
`,
  });
  await exa.waitUp(A4);
  exa.command('announce route 10.4.0.0/24 next-hop 10.0.0.2 local-preference 200 as-path [ 65100 65200 ( 65301 65302 ) ] atomic-aggregate aggregator ( 65100:10.4.0.1 ) attribute [ 0xf0 0xc0 0xdeadbeef ]');
  exa.command('announce route 10.4.2.0/24 next-hop 10.0.0.2 as-path [ 65100 4200000010 ]');
  exa.command('announce route 10.4.1.0/24 next-hop 10.0.0.2 origin incomplete med 5 community [ 65001:1 65001:2 ] extended-community [ target:65001:1 origin:10.0.0.2:5 ]');
  for (let i = 0; i < 8; i++) exa.command(`announce route 10.5.${i}.0/24 next-hop 10.0.0.2`);
  await sleep(2500);
  exa.command('withdraw route 10.4.0.0/24 next-hop 10.0.0.2');
  for (let i = 0; i < 8; i++) exa.command(`withdraw route 10.5.${i}.0/24 next-hop 10.0.0.2`);
  await sleep(3000);
  frr.vtysh(`clear bgp ${B4}`);
  await sleep(1000);
  await cap.stop();
  if (process.env.ULV_DEBUG) process.stderr.write(exa.log());
  await frr.stop({ cleanup: true });
  await exa.stop({ cleanup: true });
};

export const scenarios: Record<string, Scenario> = {
  'frr-bird': frrBird,
  'frr-gobgp': frrGobgp,
  'bird-gobgp': birdGobgp,
  'exabgp-frr': exabgpFrr,
};

export async function record(outDir: string, names: string[] = Object.keys(scenarios)): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const name of names) {
    const scenario = scenarios[name];
    if (!scenario) throw new Error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
    const pair = makePair();
    try {
      const file = join(outDir, `${name}.pcap`);
      await scenario(pair, file);
      written.push(file);
      process.stdout.write(`recorded ${file}\n`);
    } finally {
      pair.a.destroy();
      pair.b.destroy();
    }
  }
  return written;
}

// CLI: node dist/test/harness/peers/recorder.js OUTDIR [scenario...]
if (process.argv[1] && resolve(process.argv[1]).endsWith('recorder.js')) {
  const [outDir, ...names] = process.argv.slice(2);
  if (!outDir) {
    process.stderr.write('usage: recorder.js OUTDIR [scenario...]\n');
    process.exit(2);
  }
  record(outDir, names.length ? names : undefined).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
