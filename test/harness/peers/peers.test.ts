// The peer harness against itself: real FRR, BIRD, GoBGP and ExaBGP in namespaces reach Established
// with each other, the query helpers read the daemons' own state, routes flow, and a broken config
// fails fast with the daemon's log in the error. Everything is torn down even when a test fails.
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot, link, Netns, run } from '../netns.js';
import { EXABGP_API_PROCESS, PeerError, startBird, startExabgp, startFrr, startGobgp, waitFor } from './index.js';

const made: Netns[] = [];
function pair(): [Netns, Netns] {
  const a = Netns.create('ulv');
  made.push(a);
  const b = Netns.create('ulv');
  made.push(b);
  link(a, 'eth0', b, 'eth0', ['10.0.0.1/30'], ['10.0.0.2/30']);
  return [a, b];
}

afterEach(() => {
  for (const ns of made.splice(0)) ns.destroy();
});

describe.runIf(isRoot)('peer harness', () => {
  it('FRR <-> BIRD: Established both ways, routes exchanged, stop() kills by PID', async () => {
    const [a, b] = pair();
    const frr = await startFrr(a, {
      config: `router bgp 4200000001
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.2 remote-as 65002
 address-family ipv4 unicast
  network 10.1.0.0/24
 exit-address-family
`,
    });
    const bird = await startBird(b, {
      config: `router id 10.0.0.2;
protocol device {}
protocol static { ipv4; route 10.2.0.0/24 blackhole; }
protocol bgp frr { local 10.0.0.2 as 65002; neighbor 10.0.0.1 as 4200000001; ipv4 { import all; export all; }; }
`,
    });
    await frr.waitState('10.0.0.2');
    await bird.waitState('frr');
    await waitFor('route from BIRD in FRR', () => {
      const rib = frr.vtyshJson<{ routes?: Record<string, unknown> }>('show bgp ipv4 unicast json');
      return rib.routes?.['10.2.0.0/24'] ? true : undefined;
    }, { describe: () => frr.log() });
    await waitFor('route from FRR in BIRD', () => (bird.birdc('show route 10.1.0.0/24').includes('10.1.0.0/24') ? true : undefined));
    await bird.stop({ cleanup: true });
    await frr.waitState('10.0.0.2', 'Active').catch(() => frr.waitState('10.0.0.2', 'Connect'));
    await frr.stop({ cleanup: true });
    // Asked from outside the namespace: nothing of FRR's is left running in it.
    expect(run('ip', ['netns', 'pids', a.name]).trim()).toBe('');
  });

  it('GoBGP <-> ExaBGP: Established, a route from GoBGP reaches ExaBGP as JSON and one the other way', async () => {
    const [a, b] = pair();
    const gobgp = await startGobgp(a, {
      config: `[global.config]
  as = 65001
  router-id = "10.0.0.1"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.2"
    peer-as = 65002
`,
    });
    const exa = await startExabgp(b, {
      config: `neighbor 10.0.0.1 {
  router-id 10.0.0.2;
  local-address 10.0.0.2;
  local-as 65002;
  peer-as 65001;
  family { ipv4 unicast; }
  api { processes [ ${EXABGP_API_PROCESS} ]; neighbor-changes; receive { parsed; update; } }
}
`,
    });
    await gobgp.waitState('10.0.0.2');
    await exa.waitUp('10.0.0.1');
    gobgp.gobgp('global', 'rib', 'add', '-a', 'ipv4', '10.3.0.0/24');
    exa.command('announce route 10.4.0.0/24 next-hop self');
    await waitFor('ExaBGP received 10.3.0.0/24', () => (JSON.stringify(exa.received()).includes('10.3.0.0/24') ? true : undefined), {
      describe: () => exa.log(),
    });
    await waitFor('GoBGP received 10.4.0.0/24', () => (gobgp.gobgp('global', 'rib', '-a', 'ipv4').includes('10.4.0.0/24') ? true : undefined), {
      describe: () => gobgp.log(),
    });
    await exa.stop({ cleanup: true });
    await gobgp.stop({ cleanup: true });
  });

  it('a broken configuration fails readiness with the daemon log in the error', async () => {
    const [a] = pair();
    let err: unknown;
    try {
      await startBird(a, { config: 'this is not bird config;\n', timeoutMs: 5000 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PeerError);
    // BIRD exits on a parse error; its own message names the problem.
    expect((err as PeerError).message).toMatch(/syntax error|parse/i);
  });
});
