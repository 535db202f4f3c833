// Failure paths: an injected failure before each ADD step rolls back everything (no veth, no route, no
// address held); a crash mid-ADD is repaired by the orphan sweep and GC; an agent that is down or
// silent gives CNI error 11 quickly instead of a hang.
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, type Netns } from '../../test/harness/netns.js';
import { CniPluginError, CniRuntime } from '../../test/harness/cni-runtime.js';
import { AddStep } from '../server/handlers.js';
import { TestNode, ensureAgentBuilt, ipamState, newPod, shimBinDir } from './support.js';

const POOLS = [{ name: 'v4', cidr: '10.71.0.0/24', blockSize: 28 }, { name: 'v6', cidr: 'fd00:71::/120', blockSize: 124 }];

describe.skipIf(!isRoot)('uplink CNI: rollback and crash repair', () => {
  let node: TestNode | undefined;
  const pods: Netns[] = [];
  beforeAll(() => {
    ensureAgentBuilt();
    shimBinDir();
  });
  afterEach(() => {
    TestNode.destroyAll();
    for (const p of pods.splice(0)) p.destroy();
    node?.destroy();
    node = undefined;
  });

  const veths = (ns: Netns): string[] => ns.ipJson<Array<{ ifname: string }>>('link', 'show', 'type', 'veth').map((l) => l.ifname);

  it('rolls back every completed step when any step fails', async () => {
    node = await TestNode.start({ pools: POOLS });
    for (const step of Object.values(AddStep)) {
      await node.stopAgent();
      await node.startAgent({ UPLINK_TEST_FAIL_AT: step });
      const pod = newPod();
      pods.push(pod);
      const rt = node.runtime();
      const err = await rt.add(node.conflist('1.0.0'), { containerId: `rb-${step}`, netns: pod.path, ifname: 'eth0' }).catch((e: unknown) => e);
      expect(err, step).toBeInstanceOf(CniPluginError);
      expect((err as CniPluginError).msg, step).toContain(`injected failure before step ${step}`);
      expect(veths(node.ns), step).toEqual([]);
      expect(veths(pod), step).toEqual([]);
      expect(node.ns.ipJson('route', 'show', 'proto', '77'), step).toEqual([]);
      expect(node.ns.ipJson('-6', 'route', 'show', 'proto', '77'), step).toEqual([]);
      expect(await ipamState(node), step).toEqual({ handles: [], addresses: [] });
    }
  });

  it('repairs a crash mid-ADD: the restarted agent sweeps the orphaned veth, GC frees the address', async () => {
    node = await TestNode.start({ pools: POOLS, env: { UPLINK_TEST_CRASH_AFTER: AddStep.ConfigureHost } });
    const pod = newPod();
    pods.push(pod);
    const list = node.conflist('1.1.0');
    const err = await node.runtime().add(list, { containerId: 'crash1', netns: pod.path, ifname: 'eth0' }).catch((e: unknown) => e);
    // The shim saw the connection drop mid-request: "try again later".
    expect((err as CniPluginError).cniCode).toBe(11);
    await node.agentExit();
    expect(veths(node.ns)).toHaveLength(1);
    expect((await ipamState(node)).handles).toEqual(['crash1.eth0']);

    await node.startAgent();
    // The start-up sweep removed the host veth nobody owns (and its peer with it).
    expect(veths(node.ns)).toEqual([]);
    expect(veths(pod)).toEqual([]);
    // The runtime never got a result, so the attachment is not valid: GC releases its address.
    await node.runtime().gc(list, []);
    expect(await ipamState(node)).toEqual({ handles: [], addresses: [] });
  });

  it('repairs a crash mid-ADD by the runtime\'s DEL alone (no sweep ran): veth gone, address released', async () => {
    node = await TestNode.start({ pools: POOLS, env: { UPLINK_TEST_CRASH_AFTER: AddStep.HostRoutes } });
    const pod = newPod();
    pods.push(pod);
    const list = node.conflist('1.0.0');
    const att = { containerId: 'crash2', netns: pod.path, ifname: 'eth0' };
    const err = await node.runtime().add(list, att).catch((e: unknown) => e);
    expect((err as CniPluginError).cniCode).toBe(11);
    await node.agentExit();
    await node.startAgent({ UPLINK_TEST_SWEEP_AT_START: '0' });
    expect(veths(node.ns)).toHaveLength(1);
    expect(node.ns.ipJson<unknown[]>('route', 'show', 'proto', '77')).toHaveLength(1);
    // The runtime retries the failed ADD's cleanup with DEL (no record exists: names come from the hash).
    await node.runtime().del(list, att);
    expect(veths(node.ns)).toEqual([]);
    expect(node.ns.ipJson('route', 'show', 'proto', '77')).toEqual([]);
    expect(await ipamState(node)).toEqual({ handles: [], addresses: [] });
  });

  it('GC removes attachments missing from cni.dev/valid-attachments and keeps the rest', async () => {
    node = await TestNode.start({ pools: POOLS });
    const rt = node.runtime();
    const list = node.conflist('1.1.0');
    const atts = [0, 1, 2].map((i) => {
      const pod = newPod();
      pods.push(pod);
      return { containerId: `gc${i}`, netns: pod.path, ifname: 'eth0' };
    });
    for (const a of atts) await rt.add(list, a);
    expect(veths(node.ns)).toHaveLength(3);
    await rt.gc(list, [{ containerID: 'gc1', ifname: 'eth0' }]);
    expect(veths(node.ns)).toHaveLength(1);
    expect(veths(pods[1]!)).toEqual(['eth0']);
    expect(veths(pods[0]!)).toEqual([]);
    expect((await ipamState(node)).handles).toEqual(['gc1.eth0']);
    await rt.check(list, atts[1]!);
    // A GC config without the field is rejected rather than treated as "nothing is valid".
    const bad = await rt.invoke('uplink', 'GC', {}, { ...CniRuntime.pluginConfig(list, node.uplinkConf(), undefined) }).catch((e: unknown) => e);
    expect((bad as CniPluginError).cniCode).toBe(7);
    expect((bad as CniPluginError).msg).toContain('cni.dev/valid-attachments');
  });

  it('gives error 11 at once when the agent is down, and within the timeout when it does not answer', async () => {
    const rt = new CniRuntime({ binDirs: [shimBinDir()] });
    const dir = mkdtempSync(join(tmpdir(), 'ulc-sock-'));
    try {
      const conf = { cniVersion: '1.0.0', name: 'uplink', type: 'uplink', agentSocket: join(dir, 'none.sock') };
      const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'x1', CNI_NETNS: '/var/run/netns/none', CNI_IFNAME: 'eth0' };
      const down = await rt.exec('uplink', env, JSON.stringify(conf));
      expect(down.code).toBe(1);
      expect(JSON.parse(down.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 11, msg: 'uplink agent is not reachable' });
      expect(down.ms).toBeLessThan(500);

      // A listener that accepts and never answers.
      const silentPath = join(dir, 'silent.sock');
      const silent = createServer({ allowHalfOpen: true }, () => undefined);
      await new Promise<void>((r) => silent.listen(silentPath, r));
      try {
        const hung = await rt.exec('uplink', env, JSON.stringify({ ...conf, agentSocket: silentPath, agentTimeoutMs: 300 }));
        expect(JSON.parse(hung.stdout)).toMatchObject({ code: 11, msg: 'uplink agent did not answer in time' });
        expect(hung.ms).toBeGreaterThanOrEqual(290);
        expect(hung.ms).toBeLessThan(2000);
      } finally {
        silent.close();
      }
      // VERSION needs no agent at all.
      const v = await rt.version('uplink');
      expect(v).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
