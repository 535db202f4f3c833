// cniDel against the real CNI server (cni/server) in-process. The kernel is replaced by a recording
// dataplane and the IPAM by an in-memory one (FAKES, so this unit test never touches the machine's
// network; the e2e test/e2e/kube.test.ts runs the same DEL against real veths in namespaces).
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCniServer, type CniIpam, type CniServer, type Dataplane } from '../../cni/server/index.js';
import { cniDel } from './cni-detach.js';

/** FAKE dataplane: records what the server asked of the kernel. */
function recordingDataplane(): Dataplane & { calls: string[] } {
  const calls: string[] = [];
  const links = new Set<string>();
  return {
    calls,
    async createVeth(p) { calls.push(`create ${p.hostIf}`); links.add(p.hostIf); },
    async configureContainer(p) { calls.push(`container ${p.ctrIf}`); },
    async configureHost(p) { calls.push(`host ${p.hostIf}`); },
    async addHostRoutes(p) { calls.push(`routes ${p.ipv4}`); },
    async deleteHostRoutes(p) { calls.push(`unroute ${p.ipv4}`); },
    async deleteVeth(hostIf) { calls.push(`delete ${hostIf}`); return links.delete(hostIf); },
    async listHostLinks(prefix) { return [...links].filter((l) => l.startsWith(prefix)); },
    async inspectContainer() { return null; },
    async inspectHost() { return null; },
    async enableForwarding() { /* nothing to record */ },
  };
}

/** FAKE IPAM: one address per handle from a tiny pool. */
function memoryIpam(): CniIpam & { held: Map<string, string> } {
  const held = new Map<string, string>();
  return {
    held,
    async allocate({ handle }) {
      const a = held.get(handle) ?? `10.0.0.${held.size + 1}`;
      held.set(handle, a);
      return { ipv4: a };
    },
    async release(handle) { held.delete(handle); },
    async handles() { return [...held.keys()]; },
    async pools() { return [{ name: 'p4', family: 4 as const, cidr: '10.0.0.0/29', free: 6 - held.size }]; },
  };
}

/** A CNI ADD as the shim sends it. */
function add(socket: string, containerId: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket);
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerId, CNI_NETNS: '/var/run/netns/fake', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', CNI_ARGS: 'K8S_POD_NAME=web;K8S_POD_NAMESPACE=default' };
    s.end(`${Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join('')}\n${JSON.stringify({ cniVersion: '1.0.0', name: 'uplink', type: 'uplink' })}`);
  });
}

describe('cniDel: the agent replays a missed CNI DEL on its own CNI server', () => {
  let server: CniServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tears down the attachment (veth, routes, record) and releases its address; a second DEL is still success', async () => {
    dir = mkdtempSync(join(tmpdir(), 'uplink-cnidel-'));
    const dp = recordingDataplane();
    const ipam = memoryIpam();
    server = await startCniServer({ socketPath: join(dir, 'cni.sock'), ipam, nodeName: 'n1', stateDir: join(dir, 'att'), dataplane: dp, sweepIntervalMs: 0, enableForwarding: false });
    const detached: string[] = [];
    server.on('detach', (a) => detached.push(a.containerId));
    expect((await add(server.socketPath, 'c1')).startsWith('0\n')).toBe(true);
    expect((await add(server.socketPath, 'c2')).startsWith('0\n')).toBe(true);
    const a1 = server.attachments().find((a) => a.containerId === 'c1')!;
    dp.calls.length = 0;

    await cniDel(server.socketPath, a1);
    expect(server.attachments().map((a) => a.containerId)).toEqual(['c2']);
    expect(detached).toEqual(['c1']);
    expect(dp.calls).toContain(`delete ${a1.hostIf}`);
    expect([...ipam.held.keys()]).toEqual(['c2.eth0']);
    // DEL is idempotent (CNI SPEC): the runtime's late DEL, or ours twice, is not an error.
    await cniDel(server.socketPath, a1);
    expect(server.attachments()).toHaveLength(1);
  });

  it('a refused request or an absent server is a KubeError detach-failed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'uplink-cnidel-'));
    server = await startCniServer({ socketPath: join(dir, 'cni.sock'), ipam: memoryIpam(), nodeName: 'n1', stateDir: join(dir, 'att'), dataplane: recordingDataplane(), sweepIntervalMs: 0, enableForwarding: false });
    // A container ID the CNI spec forbids: the server answers with a non-zero code.
    await expect(cniDel(server.socketPath, { containerId: 'bad/id', ifname: 'eth0', netns: '', network: 'uplink' })).rejects.toMatchObject({ code: 'detach-failed', message: expect.stringContaining('failed (') });
    await expect(cniDel(join(dir, 'nobody.sock'), { containerId: 'c1', ifname: 'eth0', netns: '', network: 'uplink' })).rejects.toMatchObject({ code: 'detach-failed' });
  });
});
