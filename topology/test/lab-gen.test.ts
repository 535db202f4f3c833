// Generated lab files for issue 8's second half: one shared embedded datastore for a namespace lab,
// graceful restart on the routers, and `bfd: true` reaching both FRR and uplinkd with equal timers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateLab } from '../clab.js';
import { parseTopology } from '../model.js';
import { loadTopology } from '../resolve.js';
import { parseDaemonsFile } from '../../containerlab/frr-node.js';

const MODEL = join(import.meta.dirname, '..', 'examples', 'default.yaml');
type Cfg = { datastore?: { type: string; path: string }; stateDir: string; bgp: { peers: Array<{ name: string }>; bfd?: { defaults: Record<string, number>; peers: string[] } } };
const agentCfg = (files: Map<string, string>, node: string): Cfg => parse(files.get(`${node}/uplinkd.yaml`)!) as Cfg;

describe('lab generation', () => {
  it('a host root gives every agent the same embedded datastore file and its own state dir', () => {
    const files = generateLab(loadTopology(MODEL), { agent: { root: '/srv/lab/agents' } });
    const cfgs = ['node1', 'node2', 'node3', 'node4'].map((n) => agentCfg(files, n));
    expect(new Set(cfgs.map((c) => JSON.stringify(c.datastore)))).toEqual(new Set([JSON.stringify({ type: 'embedded', path: '/srv/lab/agents/uplink.db' })]));
    expect(new Set(cfgs.map((c) => c.stateDir)).size).toBe(4);
  });

  it('without a root (containerlab) the config keeps uplinkd\'s per-node default and says why', () => {
    const files = generateLab(loadTopology(MODEL));
    expect(agentCfg(files, 'node1').datastore).toBeUndefined();
    expect(files.get('node1/uplinkd.yaml')).toMatch(/^# Each containerlab container has its own filesystem/);
  });

  it('routers restart gracefully: bgp graceful-restart and zebra -K', () => {
    const files = generateLab(loadTopology(MODEL));
    expect(files.get('tor1a/frr.conf')).toContain('\n bgp graceful-restart\n');
    const zebra = parseDaemonsFile(files.get('tor1a/daemons')!).find((d) => d.name === 'zebra')!;
    expect(zebra.options).toEqual(['-A', '127.0.0.1', '-K', '60']);
  });

  it('bfd: true enables bfdd with a 100 ms x 3 profile on every neighbour group, and uplinkd BFD on every peer', () => {
    const plain = generateLab(loadTopology(MODEL));
    expect(parseDaemonsFile(plain.get('tor1a/daemons')!).map((d) => d.name)).not.toContain('bfdd');
    expect(plain.get('tor1a/frr.conf')).not.toContain('bfd');
    expect(agentCfg(plain, 'node1').bgp.bfd).toBeUndefined();

    const f = loadTopology(MODEL);
    f.spec.bfd = true;
    const files = generateLab(f);
    expect(parseDaemonsFile(files.get('tor1a/daemons')!).map((d) => d.name)).toContain('bfdd');
    const conf = files.get('tor1a/frr.conf')!;
    expect(conf).toMatch(/ profile uplink\n {2}transmit-interval 100\n {2}receive-interval 100\n {2}detect-multiplier 3/);
    const groups = [...conf.matchAll(/^ neighbor (\S+) peer-group$/gm)].map((m) => m[1]);
    expect(groups.length).toBeGreaterThan(1);
    for (const g of groups) expect(conf).toContain(` neighbor ${g} bfd profile uplink`);
    const cfg = agentCfg(files, 'node1');
    expect(cfg.bgp.bfd).toEqual({ defaults: { minTxMs: 100, minRxMs: 100, multiplier: 3 }, peers: cfg.bgp.peers.map((p) => p.name) });
    expect(cfg.bgp.bfd!.peers).toHaveLength(2);
  });

  it('the model key: bfd defaults to false, accepts true, rejects a non-boolean', () => {
    const text = readFileSync(MODEL, 'utf8');
    expect(parseTopology(text).bfd).toBe(false);
    expect(parseTopology(`${text}\nbfd: true\n`).bfd).toBe(true);
    expect(() => parseTopology(`${text}\nbfd: fast\n`)).toThrow(/bfd/);
  });
});
