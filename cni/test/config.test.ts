// What a runtime sees when the config or environment is wrong, and STATUS. Every rejection carries the
// spec's code and names the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, type Netns } from '../../test/harness/netns.js';
import { CniPluginError, type CniRuntime } from '../../test/harness/cni-runtime.js';
import { TestNode, newPod } from './support.js';

describe.skipIf(!isRoot)('uplink CNI: config errors and STATUS', () => {
  let node: TestNode;
  let rt: CniRuntime;
  let pod: Netns;
  beforeAll(async () => {
    node = await TestNode.start({ pools: [{ name: 'v4', cidr: '10.73.0.0/24', blockSize: 28 }] });
    rt = node.runtime();
    pod = newPod();
  });
  afterAll(() => {
    pod?.destroy();
    node?.destroy();
    TestNode.destroyAll();
  });

  const run = async (command: string, conf: Record<string, unknown> | string, env: Record<string, string> = {}) => {
    const r = await rt.exec('uplink', { CNI_COMMAND: command, CNI_CONTAINERID: 'cfg1', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0', ...env },
      typeof conf === 'string' ? conf : JSON.stringify(conf));
    return { exit: r.code, out: r.stdout.trim() ? (JSON.parse(r.stdout) as { code?: number; msg?: string; details?: string; cniVersion?: string }) : undefined };
  };
  const base = (): Record<string, unknown> => ({ cniVersion: '1.0.0', name: 'uplink', type: 'uplink', agentSocket: node.socket });

  const cases: Array<{ what: string; conf: (b: Record<string, unknown>) => Record<string, unknown> | string; env?: Record<string, string>; command?: string; code: number; mention: string }> = [
    { what: 'config that is not JSON', conf: (b) => JSON.stringify(b).slice(0, -1), code: 6, mention: 'not valid JSON' },
    { what: 'missing name', conf: ({ name: _n, ...b }) => b, code: 7, mention: '"name" is required' },
    { what: 'mtu of the wrong type', conf: (b) => ({ ...b, mtu: '1500' }), code: 7, mention: '"mtu"' },
    { what: 'mtu out of range', conf: (b) => ({ ...b, mtu: 100 }), code: 7, mention: '"mtu"' },
    { what: 'pools not an array', conf: (b) => ({ ...b, pools: 'v4' }), code: 7, mention: '"pools"' },
    { what: 'unknown pool', conf: (b) => ({ ...b, pools: ['v4', 'nope'] }), code: 7, mention: '"pools[1]" names unknown pool "nope"' },
    { what: 'unsupported cniVersion', conf: (b) => ({ ...b, cniVersion: '9.9.9' }), code: 1, mention: 'cniVersion "9.9.9" is not supported' },
    { what: 'CHECK with a 0.3.1 config', conf: (b) => ({ ...b, cniVersion: '0.3.1' }), command: 'CHECK', code: 1, mention: 'does not allow CHECK' },
    { what: 'STATUS with a 1.0.0 config', conf: (b) => b, command: 'STATUS', code: 1, mention: 'does not allow STATUS' },
    { what: 'missing CNI_CONTAINERID', conf: (b) => b, env: { CNI_CONTAINERID: '' }, code: 4, mention: 'CNI_CONTAINERID is required' },
    { what: 'missing CNI_NETNS on ADD', conf: (b) => b, env: { CNI_NETNS: '' }, code: 4, mention: 'CNI_NETNS is required' },
    { what: 'bad CNI_ARGS', conf: (b) => b, env: { CNI_ARGS: 'K8S_POD_NAME' }, code: 4, mention: 'CNI_ARGS' },
    { what: 'unknown CNI_COMMAND', conf: (b) => b, command: 'FROB', code: 4, mention: 'CNI_COMMAND "FROB"' },
  ];
  for (const c of cases) {
    it(`rejects ${c.what} with code ${c.code}`, async () => {
      const r = await run(c.command ?? 'ADD', c.conf(base()), c.env);
      expect(r.exit).toBe(1);
      expect(r.out?.code).toBe(c.code);
      expect(`${r.out?.msg} ${r.out?.details}`).toContain(c.mention);
      // Nothing was created.
      expect(node.ns.ipJson('link', 'show', 'type', 'veth')).toEqual([]);
    });
  }

  it('STATUS succeeds when the pools can serve an ADD, fails 7 for an unknown pool and 50 for an exhausted one', async () => {
    const conf = { ...base(), cniVersion: '1.1.0' };
    expect(await run('STATUS', conf)).toEqual({ exit: 0, out: undefined });
    const unknown = await run('STATUS', { ...conf, pools: ['gone'] });
    expect(unknown.out?.code).toBe(7);

    const small = await TestNode.start({ pools: [{ name: 'tiny', cidr: '10.74.0.0/30', blockSize: 30 }] });
    const pods: Netns[] = [];
    try {
      const srt = small.runtime();
      const list = small.conflist('1.1.0');
      await srt.status(list);
      let added = 0;
      for (let i = 0; i < 6; i++) {
        const p = newPod();
        pods.push(p);
        try {
          await srt.add(list, { containerId: `tiny${i}`, netns: p.path, ifname: 'eth0' });
          added++;
        } catch (err) {
          expect((err as CniPluginError).cniCode).toBe(101);
          expect((err as CniPluginError).msg).toContain('IPAM allocate failed');
          break;
        }
      }
      expect(added).toBeGreaterThan(0);
      expect(added).toBeLessThanOrEqual(4);
      const st = await srt.status(list).catch((e: unknown) => e);
      expect(st).toBeInstanceOf(CniPluginError);
      expect((st as CniPluginError).cniCode).toBe(50);
      expect((st as CniPluginError).msg).toContain('tiny');
    } finally {
      for (const p of pods) p.destroy();
      small.destroy();
    }
  });

  it('STATUS reports 50 when the node has no pool at all', async () => {
    const bare = await TestNode.start({ pools: [] });
    try {
      const err = await bare.runtime().status(bare.conflist('1.1.0')).catch((e: unknown) => e);
      expect((err as CniPluginError).cniCode).toBe(50);
    } finally {
      bare.destroy();
    }
  });
});
