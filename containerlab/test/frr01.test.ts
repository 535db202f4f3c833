// containerlab's own frr01 example (three OSPF routers in a ring, three hosts), brought up
// unchanged by the namespace runner: the hosts must reach each other through the routers.
// Root only. Namespaces are named <random ull prefix>-frr01-<node>; removed in afterAll.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError, LabErrorCode } from '../errors.js';
import { down, execIn, status, up, type LabOptions } from '../runner.js';
import { readState } from '../state.js';
import { alive, eventually, ipJson, namespacesWith, testPrefix } from './lab-util.js';

const FILE = join(import.meta.dirname, '..', 'examples', 'frr01', 'frr01.clab.yml');
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('frr01 lab (containerlab example, unchanged)', () => {
  const prefix = testPrefix();
  let stateDir = '';
  let opts: LabOptions = {};
  beforeAll(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'ull-state-'));
    opts = { prefix, stateDir };
  });

  afterAll(async () => {
    await down(FILE, opts);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('builds namespaces and veths as the file says, and the hosts ping each other over OSPF', async () => {
    const r = await up(FILE, opts);
    expect(r.action).toBe('built');
    expect(namespacesWith(prefix).sort()).toEqual(['PC1', 'PC2', 'PC3', 'router1', 'router2', 'router3'].map((n) => `${prefix}-frr01-${n}`).sort());
    // Kernel state: PC1's eth1 carries the exec-configured address; router1 has its three links
    // and zebra put frr.conf's addresses on them.
    const pc1 = ipJson<Array<{ addr_info: Array<{ local: string }> }>>(`${prefix}-frr01-PC1`, 'addr', 'show', 'dev', 'eth1');
    expect(pc1[0]!.addr_info.map((a) => a.local)).toContain('192.168.11.2');
    const r1 = ipJson<Array<{ ifname: string; addr_info: Array<{ local: string }> }>>(`${prefix}-frr01-router1`, 'addr', 'show');
    expect(r1.find((l) => l.ifname === 'eth3')!.addr_info.map((a) => a.local)).toContain('192.168.11.1');
    expect(r1.find((l) => l.ifname === 'lo')!.addr_info.map((a) => a.local)).toContain('10.10.10.1');

    // OSPF on broadcast links waits one dead interval (40 s) before electing a DR (RFC 2328 §9.4).
    const ping = (from: string, to: string): true | undefined => {
      execIn(FILE, from, ['ping', '-c', '1', '-W', '1', to], opts);
      return true;
    };
    await eventually('PC1 reaches PC3', () => ping('PC1', '192.168.13.2'), 90_000, 1000);
    await eventually('PC1 reaches PC2', () => ping('PC1', '192.168.12.2'), 30_000, 1000);
    await eventually('PC2 reaches PC3', () => ping('PC2', '192.168.13.2'), 30_000, 1000);
    // router1 has its two ring neighbours in Full state. (Router IDs are not asserted: the example
    // sets none, so OSPF picks one from whichever addresses zebra knows first — racy by design.)
    const nbrs = JSON.parse(execIn(FILE, 'router1', ['vtysh', '-c', 'show ip ospf neighbor json'], opts)) as { neighbors: Record<string, Array<{ nbrState?: string; ifaceName?: string }>> };
    const states = Object.values(nbrs.neighbors).flat().map((n) => `${n.ifaceName?.split(':')[0]} ${n.nbrState?.split('/')[0]}`);
    expect(states.sort()).toEqual(['eth1 Full', 'eth2 Full']);
  }, 180_000);

  it('up again leaves a healthy lab alone; after a daemon dies it rebuilds', async () => {
    const before = readState(stateDir)!;
    expect(await up(FILE, opts)).toEqual({ action: 'unchanged' });
    const ospfd = before.nodes.router2!.procs.find((p) => p.name === 'ospfd')!;
    process.kill(ospfd.pid, 'SIGKILL');
    await eventually('ospfd gone', () => (alive(ospfd.pid) ? undefined : true), 5000, 100);
    expect(status(FILE, opts).problems).toEqual([`router2: ospfd (pid ${ospfd.pid}) not running`]);
    const r = await up(FILE, opts);
    expect(r).toMatchObject({ action: 'built', rebuilt: true });
    const after = readState(stateDir)!;
    expect(after.complete).toBe(true);
    for (const p of Object.values(after.nodes).flatMap((n) => n.procs)) expect(alive(p.pid)).toBe(true);
    // The old daemons are gone, not leaked.
    for (const p of Object.values(before.nodes).flatMap((n) => n.procs)) expect(alive(p.pid)).toBe(false);
    expect(status(FILE, opts).problems).toEqual([]);
  }, 60_000);

  it('down removes every namespace and process', async () => {
    const st = readState(stateDir)!;
    const pids = Object.values(st.nodes).flatMap((n) => n.procs.map((p) => p.pid));
    expect(pids.length).toBeGreaterThanOrEqual(12);
    await down(FILE, opts);
    expect(namespacesWith(prefix)).toEqual([]);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(readState(stateDir)).toBeUndefined();
  }, 60_000);

  it('an up interrupted half-way tears down what it built', async () => {
    const ac = new AbortController();
    // Abort once the first FRR daemon is recorded: namespaces and links exist, daemons starting.
    const watcher = setInterval(() => {
      const s = readState(stateDir);
      if (s && Object.values(s.nodes).some((n) => n.procs.length > 0)) ac.abort();
    }, 20);
    try {
      await expect(up(FILE, { ...opts, signal: ac.signal })).rejects.toSatisfy((e: unknown) => e instanceof LabError && e.code === LabErrorCode.Interrupted);
    } finally {
      clearInterval(watcher);
    }
    expect(ac.signal.aborted).toBe(true);
    expect(namespacesWith(prefix)).toEqual([]);
    expect(readState(stateDir)).toBeUndefined();
  }, 60_000);
});
