// Issue 8's quick start and drills, issue 9's BFD drill, on real labs: namespaces and veths, FRR on
// the routers, uplinkd on every node sharing one embedded datastore, pods attached through the CNI
// shim. Figures come from ping's own timestamps, FRR and the kernel. Limits:
//   BFD 100 ms x 3 (generated), silent ToR link loss or a dead ToR: gap < 1 s (issue 9).
//   Hold timer 9 s, no BFD, silent link loss: the gap is the hold timer (3..10.5 s), not less.
//   ToR FRR restart with graceful restart: no gap above 1 s.
//   Agent restart under traffic: no packet lost (RFC 4724: the agent leaves its routes in place).
//   Dual stack, AS per node: cross-rack pod pings over IPv4 and IPv6.
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLab } from '../../topology/clab.js';
import { loadTopology } from '../../topology/resolve.js';
import { DRILLS, DrillName } from '../drills.js';
import { addPod, listPods } from '../pods.js';
import { down, up, type LabOptions } from '../runner.js';
import { waitBgp } from '../wait.js';
import { namespacesWith } from './lab-util.js';
import { run } from '../sys.js';

const isRoot = process.getuid?.() === 0;
const EXAMPLES = join(import.meta.dirname, '..', '..', 'topology', 'examples');
const built = existsSync(join(import.meta.dirname, '..', '..', 'build', 'Release', 'uplink_cni_shim'));

interface LabCtx {
  file: string;
  opts: LabOptions;
  dir: string;
  prefix: string;
}

async function labUp(model: string, bfd: boolean): Promise<LabCtx> {
  const prefix = `ulq${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'ulq-lab-'));
  // FRR runs as the frr user and must traverse to its private dir under the state dir.
  chmodSync(dir, 0o755);
  const f = loadTopology(join(EXAMPLES, model));
  f.spec.bfd = bfd;
  const file = writeLab(f, dir, { agent: { root: join(dir, 'agents') } });
  const opts = { prefix, stateDir: join(dir, '.state') };
  await up(file, opts);
  await waitBgp(file, opts, 60_000);
  return { file, opts, dir, prefix };
}

async function labDown(l: LabCtx | undefined): Promise<void> {
  if (!l) return;
  await down(l.file, l.opts);
  expect(namespacesWith(l.prefix)).toEqual([]);
  // down removed the agents' state and their shared datastore.
  expect(existsSync(join(l.dir, 'agents', 'uplink.db'))).toBe(false);
  expect(existsSync(join(l.dir, 'agents', 'node1'))).toBe(false);
  rmSync(l.dir, { recursive: true, force: true });
}

function pingOk(netns: string, ip: string): boolean {
  return run('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', ip], { allowFail: true }).includes(' 0% packet loss');
}

async function pingEventually(netns: string, ip: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pingOk(netns, ip)) {
    if (Date.now() > deadline) throw new Error(`${ip} unreachable from ${netns}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe.skipIf(!isRoot || !built)('default lab, hold timers only (9 s), graceful restart', () => {
  let l: LabCtx | undefined;
  beforeAll(async () => {
    l = await labUp('default.yaml', false);
  }, 90_000);
  afterAll(() => labDown(l), 60_000);

  it('pods on every node get distinct blocks from the one shared datastore; cross-rack pings work', async () => {
    const pods = ['node1', 'node2', 'node3', 'node4'].map((n) => addPod(l!.file, n, 'web1', l!.opts).pod);
    const blocks = new Set(pods.map((p) => p.ips[0]!.split('.').slice(0, 3).join('.')));
    expect(blocks.size).toBe(4);
    await pingEventually(pods[0]!.netns, pods[3]!.ips[0]!);
    await pingEventually(pods[3]!.netns, pods[0]!.ips[0]!);
    // Idempotent: adding an existing healthy pod changes nothing.
    expect(addPod(l!.file, 'node1', 'web1', l!.opts)).toMatchObject({ action: 'unchanged', pod: { ips: pods[0]!.ips } });
    expect(listPods(l!.opts.stateDir!)).toHaveLength(4);
  }, 60_000);

  it('tor-link, silent: traffic stops for about the hold time, then continues over the other ToR', async () => {
    const r = await DRILLS[DrillName.TorLink](l!.file, { ...l!.opts, silent: true, observeMs: 11_000 });
    console.log(r.lines.map((x) => `drill tor-link (hold timer): ${x}`).join('\n'));
    expect(r.gapMs).toBeGreaterThan(3000);
    expect(r.gapMs).toBeLessThan(10_500);
  }, 90_000);

  it('router-restart: the ToR\'s FRR is killed and restarted; pods see no gap above 1 s', async () => {
    const r = await DRILLS[DrillName.RouterRestart](l!.file, { ...l!.opts, observeMs: 2000 });
    console.log(r.lines.map((x) => `drill router-restart: ${x}`).join('\n'));
    expect(r.routesKept!.before).toBeGreaterThan(0);
    expect(r.sent).toBeGreaterThan(500);
    expect(r.gapMs).toBeLessThan(1000);
  }, 90_000);

  it('agent-restart under traffic loses no packet', async () => {
    const r = await DRILLS[DrillName.AgentRestart](l!.file, { ...l!.opts, observeMs: 2000 });
    console.log(r.lines.map((x) => `drill agent-restart: ${x}`).join('\n'));
    expect(r.lost, r.lines.join('; ')).toBe(0);
  }, 60_000);
});

describe.skipIf(!isRoot || !built)('default lab with BFD (100 ms x 3)', () => {
  let l: LabCtx | undefined;
  beforeAll(async () => {
    l = await labUp('default.yaml', true);
  }, 90_000);
  afterAll(() => labDown(l), 60_000);

  // Issue 9: gap below 1 s. The old "steady ~1.8 s" was no slow convergence but a total outage cut
  // short by the observation window and under-counted under load (traffic.ts now measures to the
  // stop and says "not recovered"): after the tor-link drill's session reset inside FRR's first
  // restart-time, the ToR left the node's path unselected (GR selection deferral, 360 s), so the
  // next fault on the other ToR isolated the node. Fixed in the lab's frr.conf (select-defer-time 0);
  // the drills also check that every ToR routes to the node before they break anything.
  const BFD_GAP_LIMIT_MS = 1000;

  it('tor-link, silent: BFD brings the gap below 1 s', async () => {
    const r = await DRILLS[DrillName.TorLink](l!.file, { ...l!.opts, silent: true, observeMs: 3000 });
    console.log(r.lines.map((x) => `drill tor-link (BFD): ${x}`).join('\n'));
    expect(r.lost).toBeGreaterThan(0);
    expect(r.flows!.every((f) => f.recovered), r.lines.join('; ')).toBe(true);
    expect(r.gapMs).toBeLessThan(BFD_GAP_LIMIT_MS);
  }, 90_000);

  it('tor-kill, silent: BFD brings the gap below 1 s', async () => {
    const r = await DRILLS[DrillName.TorKill](l!.file, { ...l!.opts, silent: true, observeMs: 3000 });
    console.log(r.lines.map((x) => `drill tor-kill (BFD): ${x}`).join('\n'));
    expect(r.flows!.every((f) => f.recovered), r.lines.join('; ')).toBe(true);
    expect(r.gapMs).toBeLessThan(BFD_GAP_LIMIT_MS);
  }, 90_000);
});

describe.skipIf(!isRoot || !built)('dualstack-as-per-node lab', () => {
  let l: LabCtx | undefined;
  beforeAll(async () => {
    l = await labUp('dualstack-as-per-node.yaml', false);
  }, 90_000);
  afterAll(() => labDown(l), 60_000);

  it('pods get IPv4 and IPv6 addresses; cross-rack pings over both families', async () => {
    const a = addPod(l!.file, 'node1', 'web1', l!.opts).pod;
    const b = addPod(l!.file, 'node4', 'web1', l!.opts).pod;
    const v4 = (p: typeof a): string => p.ips.find((x) => !x.includes(':'))!;
    const v6 = (p: typeof a): string => p.ips.find((x) => x.includes(':'))!;
    expect(v4(a)).toBeDefined();
    expect(v6(a)).toBeDefined();
    await pingEventually(a.netns, v4(b));
    await pingEventually(a.netns, v6(b));
    await pingEventually(b.netns, v6(a));
  }, 60_000);
});
