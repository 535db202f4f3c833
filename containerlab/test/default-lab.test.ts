// The default fabric model -> containerlab files -> schema check -> namespaces with real FRR on
// the spines and ToRs. Kubernetes nodes are plain Linux nodes with static routes until uplinkd
// runs in the lab. Checks, read back from FRR and the kernel: every ToR-spine session is
// Established and a ToR has an ECMP route over both spines (multipath-relax + maximum-paths).
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLab } from '../../topology/clab.js';
import { devicesOf, loadTopology } from '../../topology/resolve.js';
import { linkDrill } from '../drill.js';
import { down, execIn, status, up, type LabOptions } from '../runner.js';
import { eventually, ipJson, namespacesWith, testPrefix } from './lab-util.js';
import { validateClab } from './schema.js';

const isRoot = process.getuid?.() === 0;
const MODEL = join(import.meta.dirname, '..', '..', 'topology', 'examples', 'default.yaml');

interface BgpSummary {
  ipv4Unicast?: { as: number; peers: Record<string, { remoteAs: number; state: string }> };
}

describe.skipIf(!isRoot)('default topology as a namespace lab', () => {
  const prefix = testPrefix();
  let out = '';
  let opts: LabOptions = {};
  let file = '';
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'ull-lab-'));
    // The FRR daemons run as the frr user and must traverse to their private dir under the state dir.
    chmodSync(out, 0o755);
    opts = { prefix, stateDir: join(out, '.state') };
  });

  afterAll(async () => {
    if (file) await down(file, opts);
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('generates a schema-valid lab, brings it up, and all ToR-spine sessions are Established', async () => {
    const fabric = loadTopology(MODEL);
    file = writeLab(fabric, out, { agents: false });
    expect(validateClab(readFileSync(file, 'utf8'))).toEqual([]);
    expect(await up(file, opts)).toMatchObject({ action: 'built' });
    expect(namespacesWith(prefix)).toHaveLength(fabric.devices.size);

    const tors = devicesOf(fabric, 'tor');
    for (const spine of devicesOf(fabric, 'spine')) {
      await eventually(
        `${spine.name}: ${tors.length} ToR sessions Established`,
        () => {
          const s = JSON.parse(execIn(file, spine.name, ['vtysh', '-c', 'show bgp summary json'], opts)) as BgpSummary;
          const peers = Object.values(s.ipv4Unicast?.peers ?? {});
          return peers.length === tors.length && peers.every((p) => p.state === 'Established') ? peers : undefined;
        },
        60_000,
      );
      const s = JSON.parse(execIn(file, spine.name, ['vtysh', '-c', 'show bgp summary json'], opts)) as BgpSummary;
      expect(s.ipv4Unicast!.as).toBe(65000);
      expect(Object.values(s.ipv4Unicast!.peers).map((p) => p.remoteAs).sort()).toEqual([65101, 65101, 65102, 65102]);
    }
    for (const tor of tors) {
      const s = JSON.parse(execIn(file, tor.name, ['vtysh', '-c', 'show bgp summary json'], opts)) as BgpSummary;
      const spinePeers = Object.values(s.ipv4Unicast!.peers).filter((p) => p.remoteAs === 65000);
      expect(spinePeers.map((p) => p.state)).toEqual(['Established', 'Established']);
    }
    // tor2a's loopback reaches tor1a over both spines: a kernel route with two next hops.
    const tor2aLo = fabric.devices.get('tor2a')!.routerId;
    const route = await eventually(
      'tor1a has an ECMP route to tor2a',
      () => {
        const r = ipJson<Array<{ nexthops?: unknown[] }>>(`${prefix}-${fabric.spec.name}-tor1a`, 'route', 'show', `${tor2aLo}/32`);
        return r[0]?.nexthops?.length === 2 ? r[0] : undefined;
      },
      30_000,
    );
    expect(route.nexthops).toHaveLength(2);
    expect(status(file, opts).problems).toEqual([]);

    // Link drill on spine1 <-> tor1a: both ends lose the session on carrier loss, well before the
    // 9 s hold timer, and regain it after the link returns.
    const r = await linkDrill(file, 'spine1:eth1', { ...opts, timeoutMs: 30_000 });
    expect(r.before).toEqual({ spine1: 4, tor1a: 2 });
    expect(Object.keys(r.downMs).sort()).toEqual(['spine1', 'tor1a']);
    for (const ms of Object.values(r.downMs)) expect(ms).toBeLessThan(9000);
    for (const ms of Object.values(r.restoreMs)) expect(ms).toBeLessThan(30_000);
  }, 150_000);
});

// The same fabric with uplinkd (dist/uplinkd/main.js, built by `npm run build`) on every node:
// FRR on each ToR must see both of its nodes' sessions Established — uplinkd against real FRR.
describe.skipIf(!isRoot)('default topology with uplinkd agents', () => {
  const prefix = testPrefix();
  let out = '';
  let opts: LabOptions = {};
  let file = '';
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'ull-agents-'));
    chmodSync(out, 0o755);
    opts = { prefix, stateDir: join(out, '.state') };
  });

  afterAll(async () => {
    if (file) await down(file, opts);
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('every ToR has its nodes\' uplinkd sessions Established', async () => {
    const fabric = loadTopology(MODEL);
    file = writeLab(fabric, out, { agents: true, agent: { root: join(out, 'agents') } });
    expect(validateClab(readFileSync(file, 'utf8'))).toEqual([]);
    await up(file, opts);
    for (const tor of devicesOf(fabric, 'tor')) {
      const nodeAddrs = fabric.links.filter((l) => l.up.device === tor.name && l.kind === 'tor-node').map((l) => l.down.addresses[0]!.split('/')[0]!);
      expect(nodeAddrs).toHaveLength(2);
      await eventually(
        `${tor.name}: sessions to ${nodeAddrs.join(', ')} Established`,
        () => {
          const s = JSON.parse(execIn(file, tor.name, ['vtysh', '-c', 'show bgp summary json'], opts)) as BgpSummary;
          return nodeAddrs.every((a) => s.ipv4Unicast?.peers[a]?.state === 'Established') ? true : undefined;
        },
        60_000,
      );
    }
    expect(status(file, opts).problems).toEqual([]);
  }, 150_000);
});
