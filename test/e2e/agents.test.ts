// Issue 7's end-to-end: two nodes (namespaces) running the real uplinkd with the embedded datastore,
// one FRR ToR, pods attached through the real CNI shim. Blocks are advertised, routes appear in the
// other node's kernel, `uplinkctl status --all-nodes` shows both; `explain` names injected faults;
// an agent restart under traffic loses no packet; the metrics endpoint serves what the alerts use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { Netns, link } from '../harness/netns.js';
import { startFrr, waitFor, type FrrPeer } from '../harness/peers/index.js';
import { makeAgent, requireBuilt, UPLINKCTL, type AgentProc } from '../harness/agent.js';
import type { ExplainStep } from '../../uplinkd/explain.js';
import type { AgentStatusRecord } from '../../uplinkd/agent.js';
import { EmbeddedDatastore } from '../../ipam/datastore/embedded.js';
import { hostIfName } from '../../cni/server/attachments.js';

interface Routes { dst: string; gateway?: string; protocol?: string; type?: string }

describe('uplinkd end to end: two nodes, one FRR ToR', () => {
  const spaces: Netns[] = [];
  let tor: Netns, n1: Netns, n2: Netns, pod1: Netns, pod2: Netns;
  let frr: FrrPeer;
  let a1: AgentProc, a2: AgentProc;
  let dsDir: string;
  let ip1 = '', ip2 = '';

  beforeAll(async () => {
    requireBuilt();
    dsDir = mkdtempSync(join(tmpdir(), 'uplink-e2e-ds-'));
    for (const p of ['ule', 'ule', 'ule', 'ule', 'ule']) spaces.push(Netns.create(p));
    [tor, n1, n2, pod1, pod2] = spaces as [Netns, Netns, Netns, Netns, Netns];
    link(tor, 'to-n1', n1, 'up0', ['10.0.1.0/31'], ['10.0.1.1/31']);
    link(tor, 'to-n2', n2, 'up0', ['10.0.2.0/31'], ['10.0.2.1/31']);
    for (const ns of [tor, n1, n2]) ns.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    frr = await startFrr(tor, {
      config: [
        'router bgp 65000',
        ' bgp router-id 10.0.0.1',
        ' no bgp ebgp-requires-policy',
        ' bgp graceful-restart',
        ' neighbor 10.0.1.1 remote-as 65101',
        ' neighbor 10.0.2.1 remote-as 65102',
        ' neighbor 10.0.1.1 timers 3 9',
        ' neighbor 10.0.2.1 timers 3 9',
        '',
      ].join('\n'),
    });
    const ds = join(dsDir, 'uplink.db');
    const bgp = (asn: number, rid: string, tor: string) => ({ bgp: { routerId: rid, asn, holdTime: 9, peers: [{ address: tor, asn: 65000 }] } });
    // A dead owner costs the asker this long (explain-broker.ts); kept short for the test's sake.
    const extra = { explain: { ownerTimeoutSeconds: 6 } };
    a1 = makeAgent(n1, 'node1', { datastorePath: ds, ...bgp(65101, '10.0.1.1', '10.0.1.0'), extra });
    a2 = makeAgent(n2, 'node2', { datastorePath: ds, ...bgp(65102, '10.0.2.1', '10.0.2.0'), extra });
    a1.start();
    a2.start();
    // On failure, say what the agents said: a session that never comes up is otherwise a bare timeout.
    const up = (addr: string, a: AgentProc): Promise<void> => frr.waitState(addr, 'Established', 30_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- agent ${addr} ---\n${a.log().slice(-6000)}`);
    });
    await up('10.0.1.1', a1);
    await up('10.0.2.1', a2);
  }, 120_000);

  afterAll(async () => {
    await a1?.stop('SIGKILL');
    await a2?.stop('SIGKILL');
    for (const ns of spaces) ns.destroy();
    if (dsDir) rmSync(dsDir, { recursive: true, force: true });
    for (const a of [a1, a2]) if (a) rmSync(a.dir, { recursive: true, force: true });
  });

  const addrOf = (out: string): string => (JSON.parse(out) as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;
  const explainOn = (a: AgentProc, target: string): ExplainStep[] => a.ctl<ExplainStep[]>('explain', target);
  const step = (steps: ExplainStep[], name: string): ExplainStep | undefined => steps.find((s) => s.step === name);
  /** ROUTE-REFRESH messages the ToR has received from node1, by its own count. */
  const refreshesFromN1 = (): number =>
    frr.vtyshJson<Record<string, { messageStats: { routeRefreshRecv: number } }>>('show bgp neighbors 10.0.1.1 json')['10.0.1.1']!.messageStats.routeRefreshRecv;

  it('attaches pods, advertises blocks, installs routes on the other node, pods ping across nodes', async () => {
    const r1 = a1.cni('ADD', 'c0ffee000001', pod1.path, 'web-1');
    const r2 = a2.cni('ADD', 'c0ffee000002', pod2.path, 'web-2');
    expect(r1.code, r1.out).toBe(0);
    expect(r2.code, r2.out).toBe(0);
    ip1 = addrOf(r1.out);
    ip2 = addrOf(r2.out);
    // node2's kernel learns node1's block via the ToR (read back from the kernel, not from us).
    await waitFor('node1 block in node2 kernel', () => {
      const rs = n2.ipJson<Routes[]>('route', 'show', 'proto', '77');
      return rs.find((r) => r.gateway === '10.0.2.0' && r.dst.endsWith('/26')) ? true : undefined;
    }, { timeoutMs: 20_000, describe: () => a2.log() });
    pod2.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', ip1]);
    pod1.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', ip2]);
    // The ToR has both blocks.
    const torRoutes = frr.vtyshJson<{ routes: Record<string, unknown> }>('show ip bgp json');
    expect(Object.keys(torRoutes.routes).filter((p) => p.endsWith('/26')).length).toBe(2);
  });

  it('uplinkctl status --all-nodes shows every node and its sessions', async () => {
    const nodes = await waitFor('both nodes in the status table', () => {
      const s = a1.ctl<AgentStatusRecord[]>('status', '--all-nodes');
      return s.length === 2 && s.every((n) => (n.sessions as Array<{ state: string }>).every((x) => x.state === 'Established')) ? s : undefined;
    });
    expect(nodes.map((n) => n.node)).toEqual(['node1', 'node2']);
    expect(nodes.every((n) => n.blocks.length === 1)).toBe(true);
    const table = a2.ctlText('status', '--all-nodes');
    expect(table).toContain('node1');
    expect(table).toContain('10.0.2.0');
    expect(table).toContain('Established');
  });

  it('uplinkctl show/ipam/reset/reload/watch read the live agent', async () => {
    const neighbors = a1.ctl<Array<{ peer: string; state: string; prefixesReceived: number; prefixesAdvertised: number }>>('show', 'neighbors');
    expect(neighbors).toHaveLength(1);
    expect(neighbors[0]).toMatchObject({ peer: '10.0.1.0', state: 'Established' });
    expect(neighbors[0]!.prefixesAdvertised).toBe(1);
    const detail = a1.ctl<{ capabilities: { received: string[] }; holdTimeS: number }>('show', 'neighbor', '10.0.1.0');
    expect(detail.capabilities.received.some((c) => c.startsWith('four-octet-as'))).toBe(true);
    expect(detail.holdTimeS).toBe(9);
    const block1 = a1.ctl<{ blocks: string[] }>('status').blocks[0]!;
    const block2 = a2.ctl<{ blocks: string[] }>('status').blocks[0]!;
    const routes = a1.ctl<Array<{ prefix: string; paths: Array<{ nextHop: string; best: boolean }> }>>('show', 'routes');
    expect(routes.find((r) => r.prefix === block2)?.paths.find((p) => p.best)?.nextHop).toBe('10.0.1.0');
    expect(a1.ctl<Array<{ prefix: string }>>('show', 'rib-out', '10.0.1.0').map((r) => r.prefix)).toContain(block1);
    expect(a1.ctl<Array<{ prefix: string }>>('show', 'rib-in', '10.0.1.0').map((r) => r.prefix)).toContain(block2);
    const fib = a1.ctl<{ desired: number; installed: number; leader: boolean }>('show', 'fib');
    expect(fib.leader).toBe(true);
    expect(fib.installed).toBe(fib.desired);
    const ipam = a1.ctl<{ pools: Array<{ name: string; used: number }> }>('ipam', 'show');
    expect(ipam.pools.find((p) => p.name === 'pods-v4')?.used).toBe(2);
    expect(a1.ctl<{ ok: boolean }>('ipam', 'check').ok).toBe(true);
    expect(a1.ctl<{ changed: string[] }>('reload').changed).toEqual([]);
    // watch streams events as they happen: a soft reset is journalled.
    const watch = n1.spawn(process.execPath, [UPLINKCTL, '-s', a1.control, '-o', 'json', 'watch']);
    let streamed = '';
    watch.stdout?.on('data', (d: Buffer) => { streamed += d.toString(); });
    const watchYaml = n1.spawn(process.execPath, [UPLINKCTL, '-s', a1.control, '-o', 'yaml', 'watch']);
    let streamedYaml = '';
    watchYaml.stdout?.on('data', (d: Buffer) => { streamedYaml += d.toString(); });
    await new Promise((r) => setTimeout(r, 500));
    a1.ctl('reset', 'neighbor', '10.0.1.0', '--soft');
    await waitFor('watch line', () => (streamed.includes('soft reset of 10.0.1.0') ? true : undefined), { timeoutMs: 5000 });
    // CNI events and the route changes they cause stream too: a pod attached and detached.
    const extra = Netns.create('ule');
    spaces.push(extra);
    expect(a1.cni('ADD', 'c0ffee0000aa', extra.path, 'watch-me').code).toBe(0);
    expect(a1.cni('DEL', 'c0ffee0000aa', extra.path).code).toBe(0);
    const lines = (): Array<{ kind: string; message: string }> => streamed.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; message: string });
    await waitFor('cni lines', () => (lines().filter((e) => e.kind === 'cni' && e.message.includes('c0ffee0000aa')).length === 2 ? true : undefined), { timeoutMs: 5000 });
    watch.kill();
    // -o yaml: one YAML document per event, the same events.
    const yamlCni = (): string[] => parseAllDocuments(streamedYaml).map((d) => d.toJSON() as { kind?: string; message?: string })
      .filter((e) => e?.kind === 'cni' && e.message?.includes('c0ffee0000aa')).map((e) => e.message!.split(' ')[0]!);
    await waitFor('yaml cni documents', () => (yamlCni().length === 2 ? true : undefined), { timeoutMs: 5000 });
    watchYaml.kill();
    expect(yamlCni()).toEqual(['attached', 'detached']);
    expect(lines().find((l) => l.message.includes('soft reset'))).toMatchObject({ kind: 'session' });
    expect(lines().filter((e) => e.kind === 'cni').map((e) => e.message.split(' ')[0])).toEqual(['attached', 'detached']);
  });

  it('explain: a healthy path is all ok', () => {
    const steps = explainOn(a2, ip1);
    expect(steps.filter((s) => !s.ok), JSON.stringify(steps, null, 1)).toEqual([]);
    expect(step(steps, 'loc-rib')?.detail).toContain('10.0.2.0');
    // The ToR's own word, asked by node1's agent (route refresh, RFC 7313 window) on node2's behalf.
    expect(step(steps, 'peer accepted')).toMatchObject({ ok: true, method: 'enhanced route refresh', peer: '10.0.1.0' });
    expect(step(steps, 'peer accepted')?.detail).toMatch(/^node node1: peer 10\.0\.1\.0 accepted 10\.244\.\d+\.\d+\/26: it re-advertised it \(AS path 65000 65101/);
    // MTU: node2's uplink, node1's uplink and host veth, against pod web-1's 1400.
    const mtu = step(steps, 'mtu')!;
    expect(mtu.detail).toMatch(/^pod 10\.244\.\S+ MTU 1400 fits the path/);
    expect(mtu.evidence).toMatch(/node2 uplink up0 mtu 1500; node1 host veth upl\S+ mtu 1400; node1 uplink up0 mtu 1500/);
  });

  it('a burst of explains from either node costs the ToR one route refresh; --no-refresh and explain.routeRefresh: false cost none', async () => {
    // node1 keeps a peer's refresh answer 30 s (or until the peer sends an UPDATE): whether or not the
    // healthy-path explain above left one, four explains in a row send at most one ROUTE-REFRESH.
    const before = refreshesFromN1();
    const burst = [explainOn(a2, ip1), explainOn(a1, ip1), explainOn(a2, ip1), explainOn(a1, ip1)];
    for (const s of burst) expect(step(s, 'peer accepted'), JSON.stringify(s)).toMatchObject({ ok: true, method: 'enhanced route refresh' });
    const after = refreshesFromN1();
    expect(after - before).toBeLessThanOrEqual(1);
    expect(burst.some((s) => /answer reused from/.test(step(s, 'peer accepted')?.evidence ?? ''))).toBe(true);
    // --no-refresh: the owner does not ask its peer; other nodes still infer from their own RIB.
    const quiet = a2.ctl<ExplainStep[]>('explain', '--no-refresh', ip1);
    expect(step(quiet, 'peer accepted')).toMatchObject({ ok: true, method: 'not verified', peer: '10.0.1.0' });
    expect(step(quiet, 'peer accepted')?.detail).toMatch(/^node node1: peer 10\.0\.1\.0: acceptance of \S+ not verified \(--no-refresh\); inferred: this node learned/);
    expect(step(a1.ctl<ExplainStep[]>('explain', '--no-refresh', ip1), 'peer accepted')?.detail).toMatch(/not verified \(--no-refresh\)$/);
    // The config key, reloaded into node1 (the owner decides whether its peers are asked).
    const cfg = parse(readFileSync(a1.configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(a1.configFile, stringify({ ...cfg, explain: { ownerTimeoutSeconds: 6, routeRefresh: false } }));
    try {
      expect(a1.ctl<{ changed: string[] }>('reload').changed).toEqual(['explain']);
      expect(step(explainOn(a2, ip1), 'peer accepted')?.detail).toMatch(/not verified \(explain\.routeRefresh is false in the agent config\)/);
    } finally {
      writeFileSync(a1.configFile, stringify(cfg));
      a1.ctl('reload');
    }
    expect(refreshesFromN1()).toBe(after);
  });

  it('explain names a route filtered by the ToR', async () => {
    const block1 = a1.ctl<AgentStatusRecord & { blocks: string[] }>('status').blocks[0]!;
    frr.configure([`ip prefix-list drop-n1 seq 5 deny ${block1}`, 'ip prefix-list drop-n1 seq 10 permit any', 'route-map to-n2 permit 10', ' match ip address prefix-list drop-n1', 'router bgp 65000', ' address-family ipv4 unicast', '  neighbor 10.0.2.1 route-map to-n2 out']);
    try {
      const steps = await waitFor('loc-rib problem', () => {
        const s = explainOn(a2, ip1);
        return step(s, 'loc-rib')?.ok === false ? s : undefined;
      }, { timeoutMs: 20_000 });
      expect(step(steps, 'advertised')?.ok).toBe(true);
      // The ToR took it from node1 (it sends it back to node1), so the filter is on its way to us.
      expect(step(steps, 'peer accepted')?.ok).toBe(true);
      expect(step(steps, 'loc-rib')?.detail).toMatch(/peer 10\.0\.1\.0 accepted it \(re-advertised it\), so a router between it and this node filtered it or did not propagate it/);
    } finally {
      frr.configure(['router bgp 65000', ' address-family ipv4 unicast', '  no neighbor 10.0.2.1 route-map to-n2 out']);
      frr.vtysh('clear ip bgp 10.0.2.1 soft out');
    }
    await waitFor('route back', () => (step(explainOn(a2, ip1), 'loc-rib')?.ok ? true : undefined), { timeoutMs: 20_000 });
  });

  it('explain names a route the ToR does not accept, from the ToR\'s own answer to a route refresh', async () => {
    const block1 = a1.ctl<{ blocks: string[] }>('status').blocks[0]!;
    frr.configure([`ip prefix-list from-n1 seq 5 deny ${block1}`, 'ip prefix-list from-n1 seq 10 permit any', 'route-map from-n1 permit 10', ' match ip address prefix-list from-n1', 'router bgp 65000', ' address-family ipv4 unicast', '  neighbor 10.0.1.1 route-map from-n1 in']);
    // Apply it now rather than after FRR's route-map delay timer (5 s).
    frr.vtysh('clear ip bgp 10.0.1.1 soft in');
    try {
      const steps = await waitFor('peer accepted problem', () => {
        const s = explainOn(a2, ip1);
        return step(s, 'peer accepted')?.ok === false && step(s, 'loc-rib')?.ok === false ? s : undefined;
      }, { timeoutMs: 20_000 });
      expect(step(steps, 'advertised')?.ok).toBe(true);
      expect(step(steps, 'peer accepted')?.detail).toMatch(new RegExp(`^node node1: peer 10\\.0\\.1\\.0 did not re-advertise it after route refresh: ${block1.replace(/\./g, '\\.')} is filtered by its import policy\\?`));
      // node1 has one block, so the proof that the ToR does send our routes back is that it sent this
      // one back earlier in this agent's life (the healthy-path test above asked it).
      expect(step(steps, 'peer accepted')?.evidence).toMatch(/after ROUTE-REFRESH \(BoRR \.\. EoRR.*(did not send \S+ back|withdrew \S+), yet it sent .* back at 20/);
      expect(step(steps, 'loc-rib')?.detail).toMatch(/peer 10\.0\.1\.0 did not accept it/);
      // The owner's own explain says the same, first hand.
      expect(step(explainOn(a1, ip1), 'peer accepted')).toMatchObject({ ok: false, peer: '10.0.1.0' });
    } finally {
      frr.configure(['router bgp 65000', ' address-family ipv4 unicast', '  no neighbor 10.0.1.1 route-map from-n1 in']);
      frr.vtysh('clear ip bgp 10.0.1.1 soft in');
    }
    await waitFor('accepted again', () => (step(explainOn(a2, ip1), 'loc-rib')?.ok ? true : undefined), { timeoutMs: 20_000 });
  });

  it('explain names an uplink whose MTU is below the pod MTU, on the owner node and from the other node', () => {
    n1.ip('link', 'set', 'up0', 'mtu', '1300');
    try {
      for (const a of [a1, a2]) {
        const mtu = step(explainOn(a, ip1), 'mtu')!;
        expect(mtu.ok, `${a.name}: ${JSON.stringify(mtu)}`).toBe(false);
        expect(mtu.detail).toMatch(/MTU 1400 is larger than the path's 1300: node1 uplink up0 mtu 1300/);
      }
    } finally {
      n1.ip('link', 'set', 'up0', 'mtu', '1500');
    }
    expect(step(explainOn(a2, ip1), 'mtu')?.ok).toBe(true);
  });

  it('explain names a route missing from the FIB (shadowed by a more specific one)', async () => {
    const block1 = a1.ctl<{ blocks: string[] }>('status').blocks[0]!;
    const shadow = `${block1.split('/')[0]}/27`;
    n2.ip('route', 'add', 'blackhole', shadow, 'proto', 'static');
    try {
      const steps = explainOn(a2, ip1);
      expect(step(steps, 'loc-rib')?.ok).toBe(true);
      expect(step(steps, 'kernel')?.ok).toBe(false);
      expect(step(steps, 'kernel')?.detail).toMatch(/more specific route shadows it/);
    } finally {
      n2.ip('route', 'del', 'blackhole', shadow, 'proto', 'static');
    }
  });

  it('explain names a deleted veth', async () => {
    expect(a1.ctl<{ attachments: number }>('status').attachments).toBe(1);
    const host = n1.ipJson<Array<{ ifname: string }>>('link', 'show', 'type', 'veth').find((l) => l.ifname.startsWith('upl'))!.ifname;
    n1.ip('link', 'del', host);
    const steps = explainOn(a1, ip1);
    expect(step(steps, 'veth')?.ok).toBe(false);
    expect(step(steps, 'veth')?.detail).toMatch(/MISSING/);
    // DEL still succeeds (idempotent), and a new pod comes back healthy.
    expect(a1.cni('DEL', 'c0ffee000001', pod1.path).code).toBe(0);
    const r = a1.cni('ADD', 'c0ffee000003', pod1.path, 'web-3');
    expect(r.code, r.out).toBe(0);
    ip1 = addrOf(r.out);
  });

  it('agent restart under continuous traffic loses no packet', async () => {
    await waitFor('route to new pod', () => {
      try {
        pod2.exec('ping', ['-c', '1', '-W', '1', ip1]);
        return true;
      } catch {
        return undefined;
      }
    }, { timeoutMs: 20_000 });
    const ping = pod2.spawn('ping', ['-i', '0.01', '-c', '600', '-W', '1', ip1]);
    let out = '';
    ping.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    const done = new Promise<void>((r) => ping.once('exit', () => r()));
    await new Promise((r) => setTimeout(r, 1000));
    await a1.stop('SIGTERM');
    a1.start();
    await frr.waitState('10.0.1.1', 'Established', 30_000);
    await done;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    expect(m, out).not.toBeNull();
    const lost = Number(m![1]) - Number(m![2]);
    console.log(`drill agent-restart: ${lost} packets lost of ${m![1]} (ping -i 0.01)`);
    expect(lost).toBe(0);
    // The restarted agent found its learned routes still in the kernel and said so in its OPEN (RFC
    // 4724 R/F bits), deferring route selection until the ToR's End-of-RIB.
    expect(a1.log(), a1.log().slice(-3000)).toMatch(/restarting: route selection deferred/);
    expect(a1.log()).toMatch(/"why":"End-of-RIB from every graceful-restart peer","msg":"route selection deferral over/);
  });

  it('explain names a session down', async () => {
    frr.configure(['router bgp 65000', ' neighbor 10.0.1.1 shutdown message maintenance']);
    try {
      const steps = await waitFor('owner sessions problem', () => {
        const s = explainOn(a2, ip1);
        return step(s, 'owner sessions')?.ok === false ? s : undefined;
      }, { timeoutMs: 20_000 });
      expect(step(steps, 'owner sessions')?.detail).toMatch(/no Established BGP session/);
      // The person on call sees the cause and a next step in the session table.
      const table = a1.ctlText('show', 'neighbors');
      expect(table).toMatch(/NOTIFICATION 6\/2 .*maintenance/);
      expect(table).toMatch(/next: uplinkctl show neighbor 10\.0\.1\.0/);
    } finally {
      frr.configure(['router bgp 65000', ' no neighbor 10.0.1.1 shutdown']);
    }
    await frr.waitState('10.0.1.1', 'Established', 30_000);
  });

  it('SIGTERM while a CNI ADD is in flight: the ADD finishes or is rolled back, never half done', async () => {
    const pod = Netns.create('ule');
    spaces.push(pod);
    const add = a1.cniAsync('ADD', 'c0ffee0000bb', pod.path, 'sigterm-1');
    // The shim needs a few ms to connect; the stop races it on purpose, either outcome must be whole.
    await new Promise((r) => setTimeout(r, 30));
    await a1.stop('SIGTERM');
    const r = await add;
    a1.start();
    await frr.waitState('10.0.1.1', 'Established', 30_000);
    const podLinks = pod.ipJson<Array<{ ifname: string }>>('link', 'show').filter((l) => l.ifname !== 'lo');
    const held = (): string[] => a1.ctl<{ blocks: Array<{ used: number }> }>('ipam', 'show').blocks.map((b) => String(b.used));
    if (r.code === 0) {
      // Finished: the pod has its interface, the address is held, the agent knows the attachment.
      expect(podLinks.map((l) => l.ifname)).toContain('eth0');
      expect(a1.ctl<{ attachments: number }>('status').attachments).toBe(2);
      expect(a1.cni('DEL', 'c0ffee0000bb', pod.path).code).toBe(0);
    } else {
      // Refused or rolled back: nothing of it is left in the pod or in IPAM.
      expect(podLinks, r.out).toEqual([]);
      expect(a1.ctl<{ attachments: number }>('status').attachments).toBe(1);
    }
    expect(held().reduce((n, x) => n + Number(x), 0)).toBe(2);
    console.log(`drill sigterm-during-add: ADD ${r.code === 0 ? 'finished' : `failed cleanly (exit ${r.code})`}`);
  });

  it('SIGTERM while an ADD cannot finish within the shutdown grace: the ADD is rolled back and its caller told so', async () => {
    const pod = Netns.create('ule');
    spaces.push(pod);
    const cid = 'c0ffee0000cc';
    const used = (): number => a2.ctl<{ blocks: Array<{ used: number }> }>('ipam', 'show').blocks.reduce((n, b) => n + b.used, 0);
    const usedBefore = used();
    const cfg = parse(readFileSync(a1.configFile, 'utf8')) as Record<string, Record<string, unknown>>;
    await a1.stop('SIGTERM');
    writeFileSync(a1.configFile, stringify({ ...cfg, cni: { ...cfg.cni, shutdownGraceSeconds: 1 } }));
    const store = new EmbeddedDatastore({ kind: 'embedded', path: join(dsDir, 'uplink.db'), pollMs: 50 });
    try {
      // TEST HOOK (uplinkd/agent.ts): every ADD waits 3 s before its host routes, a step that cannot
      // finish within the 1 s grace. By then the ADD holds an address and a veth in both namespaces.
      a1.start({ UPLINK_TEST_STALL_BEFORE: 'host-routes:3000' });
      await waitFor('CNI server up', () => (a1.log().includes('CNI server listening') ? true : undefined), { timeoutMs: 20_000, describe: () => a1.log() });
      const add = a1.cniAsync('ADD', cid, pod.path, 'rollback-1');
      await waitFor('ADD stalled before host-routes', () => (a1.log().includes('stalling before ADD step') ? true : undefined), { timeoutMs: 10_000, describe: () => a1.log() });
      expect(pod.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname)).toContain('eth0');
      expect(await store.get(`ipam/handles/${cid}.eth0`)).not.toBeNull();
      const t0 = Date.now();
      await a1.stop('SIGTERM');
      const stopMs = Date.now() - t0;
      const r = await add;
      // The caller (the runtime, through the shim) gets a CNI error it can act on: 11, try again later.
      expect(r.code, r.out).not.toBe(0);
      const err = JSON.parse(r.out) as { code: number; msg: string; details: string };
      expect(err.code).toBe(11);
      expect(err.msg).toBe(`uplinkd is shutting down: ADD of ${cid}/eth0 did not finish within the 1 s shutdown grace and was rolled back`);
      expect(err.details).toMatch(/^stopped before step host-routes; undone: allocate, create-veth; nothing of it is left/);
      expect(a1.log()).toMatch(/shutdown grace over: rolling back the CNI commands still in flight/);
      expect(stopMs).toBeGreaterThanOrEqual(1000);
      // Nothing is left: no interface in the pod, no host veth, no IPAM handle, no address held.
      expect(pod.ipJson<Array<{ ifname: string }>>('link', 'show').filter((l) => l.ifname !== 'lo')).toEqual([]);
      expect(n1.ipJson<Array<{ ifname: string }>>('link', 'show', 'type', 'veth').map((l) => l.ifname)).not.toContain(hostIfName(cid, 'eth0'));
      expect(await store.get(`ipam/handles/${cid}.eth0`)).toBeUndefined();
      expect(used()).toBe(usedBefore);
      console.log(`drill sigterm-rollback: ADD rolled back, agent stopped in ${stopMs} ms (grace 1 s, step stalled 3 s)`);
    } finally {
      await a1.stop('SIGTERM');
      await store.close();
      writeFileSync(a1.configFile, stringify(cfg));
      a1.start();
    }
    await frr.waitState('10.0.1.1', 'Established', 30_000);
    expect(a1.ctl<{ attachments: number }>('status').attachments).toBe(1);
  });

  it('the metrics endpoint serves every metric the alert rules and dashboard use', () => {
    const body = n1.exec(process.execPath, ['-e', "fetch('http://127.0.0.1:9641/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))"]);
    const exported = new Set([...body.matchAll(/^# TYPE (\S+) (\S+)/gm)].flatMap((m) => (m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`, m[1]!] : [m[1]!])));
    const alerts = parse(readFileSync(join(import.meta.dirname, '..', '..', 'deploy', 'observability', 'alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    const used = new Set(alerts.groups.flatMap((g) => g.rules.flatMap((r) => [...r.expr.matchAll(/\b(uplink_[a-z0-9_]+)/g)].map((x) => x[1]!))));
    // Every panel of the dashboard, too: a metric the live agent does not serve is a blank panel.
    const dashboard = readFileSync(join(import.meta.dirname, '..', '..', 'deploy', 'observability', 'dashboard.json'), 'utf8');
    for (const m of dashboard.matchAll(/\b(uplink_[a-z0-9_]+)/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(10);
    // BFD is not enabled in this test, so its metrics are not expected; everything else must be there.
    for (const n of [...used].filter((x) => !x.startsWith('uplink_bfd_'))) expect(exported.has(n), `${n} missing from /metrics`).toBe(true);
    // The agent restarted in the drill above: counters start over, gauges reflect the live state.
    expect(body).toMatch(/^uplink_cni_attachments 1$/m);
    expect(body).toMatch(/^uplink_routes_leader 1$/m);
    expect(body).toMatch(/uplink_bgp_session_state\{peer="10.0.1.0"\} 5/);
  });

  it('explain names a block owned by a dead node', async () => {
    await a1.stop('SIGKILL');
    // Its status record lives 3 s more (statusIntervalSeconds 1): the question goes out, nobody answers.
    const asked = explainOn(a2, ip1);
    if (step(asked, 'owner agent')?.ok) {
      expect(step(asked, 'peer accepted')?.evidence).toBe('owner node node1 did not answer within 6 s (its agent is down or cannot reach the datastore)');
    }
    const steps = await waitFor('owner agent problem', () => {
      const s = explainOn(a2, ip1);
      return step(s, 'owner agent')?.ok === false ? s : undefined;
    }, { timeoutMs: 20_000 });
    expect(step(steps, 'owner agent')?.detail).toMatch(/node1.*(down|dead|hung)/);
  });
});
