// A real container runtime: podman 4.3 (CNI backend) runs a busybox container on the `uplink` network.
// The container sees the address and routes the agent gave it; removing the container makes podman call
// DEL and the address goes back to IPAM. The agent runs in a netns of its own (the "node"), so the
// host veth and routes never touch the machine's namespace; podman itself runs on the host.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../../test/harness/netns.js';
import { Podman } from '../../test/harness/podman.js';
import { install } from '../install.js';
import { REFERENCE_PLUGINS, TestNode, ipamState, shimBinDir } from './support.js';

const onPath = (bin: string): boolean =>
  (process.env.PATH ?? '').split(':').some((d) => {
    try { return statSync(`${d}/${bin}`).isFile(); } catch { return false; }
  });
const hasPodman = isRoot && onPath('podman') && onPath('runc');

describe.skipIf(!hasPodman)('uplink CNI under podman 4.3 (CNI backend, runc)', () => {
  let node: TestNode;
  let podman: Podman;
  let binDir: string | undefined;
  beforeAll(async () => {
    node = await TestNode.start({ pools: [{ name: 'v4', cidr: '10.80.0.0/24', blockSize: 28 }, { name: 'v6', cidr: 'fd00:80::/120', blockSize: 124 }] });
    binDir = mkdtempSync(join(tmpdir(), 'ulc-podman-bin-'));
    podman = new Podman({ pluginDirs: [binDir, REFERENCE_PLUGINS] });
    // Installed the way a node gets it (cni/install.ts): the shim into the CNI bin dir, the conflist into
    // podman's network config dir. podman 4.3's libcni rejects a 1.1.0 result: install's default is 1.0.0.
    await install({ binDir, confDir: podman.netDir, shim: join(shimBinDir(), 'uplink'), agentSocket: node.socket, mtu: 1450 });
    await podman.importBusybox();
  }, 180_000);
  afterAll(async () => {
    await podman?.destroy();
    node?.destroy();
    TestNode.destroyAll();
    if (binDir) rmSync(binDir, { recursive: true, force: true });
  });

  it('a container gets its address and routes, and removing it releases the address', async () => {
    const id = (await podman.ok(['run', '-d', ...podman.ulimitArgs(), '--name', 'ulc-web', '--network', 'uplink', podman.image, 'sleep', '300'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const state = await ipamState(node);
    expect(state.handles).toEqual([`${id}.eth0`]);
    const v4 = state.addresses.find((a) => !a.includes(':'))!;
    const v6 = state.addresses.find((a) => a.includes(':'))!;

    // Inside the container (busybox ip has no -j: read the text form).
    const addrs = await podman.ok(['exec', 'ulc-web', 'ip', 'addr', 'show', 'eth0']);
    expect(addrs).toContain(`inet ${v4}/32`);
    expect(addrs).toContain(`inet6 ${v6}/128`);
    expect(addrs).toContain('mtu 1450');
    const routes = await podman.ok(['exec', 'ulc-web', 'ip', 'route']);
    expect(routes).toMatch(/default via 169\.254\.1\.1 dev eth0/);
    const routes6 = await podman.ok(['exec', 'ulc-web', 'ip', '-6', 'route']);
    expect(routes6).toMatch(/default via fe80::1 dev eth0/);
    // podman stored our result: the address it reports is the one IPAM handed out.
    const inspect = JSON.parse(await podman.ok(['inspect', 'ulc-web'])) as Array<{ NetworkSettings: { Networks: Record<string, { IPAddress: string; MacAddress: string }> } }>;
    expect(inspect[0]!.NetworkSettings.Networks.uplink!.IPAddress).toBe(v4);
    expect(inspect[0]!.NetworkSettings.Networks.uplink!.MacAddress).toMatch(/^0a:/);
    // The container reaches its node through the link-local gateway.
    node.ns.ip('addr', 'add', '10.99.2.1/32', 'dev', 'lo');
    await podman.ok(['exec', 'ulc-web', 'ping', '-c', '1', '-W', '2', '10.99.2.1']);

    await podman.ok(['rm', '-f', '-t', '0', 'ulc-web']);
    expect(await ipamState(node)).toEqual({ handles: [], addresses: [] });
    expect(node.ns.ipJson('link', 'show', 'type', 'veth')).toEqual([]);
    expect(node.ns.ipJson('route', 'show', 'proto', '77')).toEqual([]);
  });
});
