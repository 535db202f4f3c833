// The server in-process, for what the namespace tests cannot see from outside: the uplink_cni_* metrics
// and the attach/detach events. The kernel is replaced by RecordingDataplane, a FAKE that records calls
// and reports one pre-existing orphaned veth, so this test never touches the machine's network
// namespace (the real dataplanes are exercised in cni/test/*.test.ts inside test namespaces).
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registry } from '../../lib/metrics.js';
import type { ContainerState, Dataplane, HostState, LinkPlan } from './dataplane.js';
import { startCniServer, type Attachment, type CniServer } from './index.js';
import type { CniIpam } from './ipam-port.js';

class RecordingDataplane implements Dataplane {
  calls: string[] = [];
  links = new Set<string>(['uplorphan0001']);
  async createVeth(p: LinkPlan): Promise<void> { this.calls.push(`create ${p.hostIf}`); this.links.add(p.hostIf); }
  async configureContainer(p: LinkPlan): Promise<void> { this.calls.push(`container ${p.ctrIf}`); }
  async configureHost(p: LinkPlan): Promise<void> { this.calls.push(`host ${p.hostIf}`); }
  async addHostRoutes(p: LinkPlan): Promise<void> { this.calls.push(`routes ${p.ipv4}`); }
  async deleteHostRoutes(p: LinkPlan): Promise<void> { this.calls.push(`unroute ${p.ipv4}`); }
  async deleteVeth(hostIf: string): Promise<boolean> { this.calls.push(`delete ${hostIf}`); return this.links.delete(hostIf); }
  async listHostLinks(prefix: string): Promise<string[]> { return [...this.links].filter((l) => l.startsWith(prefix)); }
  async inspectContainer(): Promise<ContainerState | null> { return null; }
  async inspectHost(): Promise<HostState | null> { return null; }
  async enableForwarding(): Promise<void> { this.calls.push('forwarding'); }
}

/** In-memory IPAM port with a 2-address pool: enough to see allocate/release/exhaustion counted. */
function memoryIpam(): CniIpam & { held: Map<string, string> } {
  const held = new Map<string, string>();
  const free = ['10.0.0.1', '10.0.0.2'];
  return {
    held,
    async allocate({ handle }) {
      const have = held.get(handle);
      if (have) return { ipv4: have };
      const a = free.find((x) => ![...held.values()].includes(x));
      if (!a) throw Object.assign(new Error('pool p4 exhausted'), { code: 'exhausted' });
      held.set(handle, a);
      return { ipv4: a };
    },
    async release(handle) { held.delete(handle); },
    async handles() { return [...held.keys()]; },
    async pools() { return [{ name: 'p4', family: 4 as const, cidr: '10.0.0.0/30', free: 2 - held.size }]; },
  };
}

function call(socket: string, env: Record<string, string>, conf: object): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket);
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => {
      const nl = out.indexOf('\n');
      resolve({ code: Number(out.slice(0, nl)), body: out.slice(nl + 1).trim() });
    });
    s.on('error', reject);
    s.end(`${Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join('')}\n${JSON.stringify(conf)}`);
  });
}

const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (m?.values as Array<{ value: number; labels: Record<string, string>; metricName?: string }> | undefined)
    ?.find((x) => (x.metricName === undefined || x.metricName === name || x.metricName === `${name}_count`) &&
      Object.entries(labels).every(([k, l]) => String(x.labels[k]) === l));
  return v?.value ?? 0;
};

describe('CNI server metrics and events', () => {
  let server: CniServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('counts commands by result, times them, sweeps the orphan at start and emits attach/detach', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ulc-srv-'));
    const dp = new RecordingDataplane();
    const orphansBefore = await metric('uplink_cni_orphaned_interfaces_total');
    server = await startCniServer({ socketPath: join(dir, 's.sock'), ipam: memoryIpam(), nodeName: 'n1', stateDir: join(dir, 'att'), dataplane: dp, sweepIntervalMs: 0 });
    expect(dp.calls).toContain('delete uplorphan0001');
    expect(await metric('uplink_cni_orphaned_interfaces_total')).toBe(orphansBefore + 1);

    const events: string[] = [];
    server.on('attach', (a: Attachment) => events.push(`attach ${a.containerId} ${a.ipv4}`));
    server.on('detach', (a: Attachment) => events.push(`detach ${a.containerId}`));
    const conf = { cniVersion: '1.0.0', name: 'uplink', type: 'uplink' };
    const okBefore = await metric('uplink_cni_requests_total', { command: 'ADD', result: '0' });
    const failBefore = await metric('uplink_cni_requests_total', { command: 'ADD', result: '101' });
    const env = (id: string, cmd = 'ADD') => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: '/var/run/netns/none', CNI_IFNAME: 'eth0' });
    expect((await call(server.socketPath, env('a'), conf)).code).toBe(0);
    expect((await call(server.socketPath, env('b'), conf)).code).toBe(0);
    const third = await call(server.socketPath, env('c'), conf);
    expect(third.code).toBe(1);
    expect(JSON.parse(third.body)).toMatchObject({ code: 101, msg: expect.stringContaining('exhausted') });
    expect(await metric('uplink_cni_requests_total', { command: 'ADD', result: '0' })).toBe(okBefore + 2);
    expect(await metric('uplink_cni_requests_total', { command: 'ADD', result: '101' })).toBe(failBefore + 1);
    expect(await metric('uplink_cni_request_duration_seconds', { command: 'ADD', result: '0' })).toBeGreaterThanOrEqual(2);
    expect(await metric('uplink_cni_attachments')).toBe(2);
    expect(server.attachments().map((a) => a.containerId).sort()).toEqual(['a', 'b']);

    expect((await call(server.socketPath, env('a', 'DEL'), conf)).code).toBe(0);
    expect(events).toEqual(['attach a 10.0.0.1', 'attach b 10.0.0.2', 'detach a']);
    expect(await metric('uplink_cni_attachments')).toBe(1);
  });
});

describe('CNI server shutdown: ADDs in flight finish within the grace or are rolled back', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const conf = { cniVersion: '1.0.0', name: 'uplink', type: 'uplink' };
  const env = (id: string) => ({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: '/var/run/netns/none', CNI_IFNAME: 'eth0' });

  async function run(stallMs: number, graceMs: number) {
    dir = mkdtempSync(join(tmpdir(), 'ulc-srv-'));
    const dp = new RecordingDataplane();
    const ipam = memoryIpam();
    const server = await startCniServer({
      socketPath: join(dir, 's.sock'), ipam, nodeName: 'n1', stateDir: join(dir, 'att'), dataplane: dp, sweepIntervalMs: 0,
      shutdownGraceMs: graceMs, testHooks: { stallBefore: { step: 'host-routes', ms: stallMs } },
    });
    const add = call(server.socketPath, env('slow'), conf);
    // The ADD has allocated, created and configured its veth and now sits before host-routes.
    while (!dp.calls.includes(`host ${dp.calls.find((c) => c.startsWith('create '))?.slice(7)}`)) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    const closing = server.close();
    // A new ADD during the shutdown is refused at once: the socket is closed.
    await expect(call(server.socketPath, env('late'), conf)).rejects.toThrow(/ENOENT|ECONNREFUSED/);
    const r = await add;
    await closing;
    return { r, dp, ipam, server, closeMs: Date.now() - t0 };
  }

  it('a step that cannot finish within the grace: rolled back, the caller gets error 11, nothing is left', async () => {
    const rollbacks = await metric('uplink_cni_add_rollbacks_total');
    const { r, dp, ipam, server, closeMs } = await run(600, 100);
    expect(r.code).toBe(1);
    const err = JSON.parse(r.body) as { code: number; msg: string; details: string };
    expect(err.code).toBe(11);
    expect(err.msg).toBe('uplinkd is shutting down: ADD of slow/eth0 did not finish within the 0.1 s shutdown grace and was rolled back');
    expect(err.details).toMatch(/^stopped before step host-routes; undone: allocate, create-veth; nothing of it is left/);
    const hostIf = dp.calls.find((c) => c.startsWith('create '))!.slice(7);
    expect(dp.calls.slice(-1)).toEqual([`delete ${hostIf}`]);
    expect(dp.links.has(hostIf)).toBe(false);
    expect(ipam.held.size).toBe(0);
    expect(server.attachments()).toEqual([]);
    expect(closeMs).toBeGreaterThanOrEqual(500);
    expect(closeMs).toBeLessThan(2000);
    expect(await metric('uplink_cni_add_rollbacks_total')).toBe(rollbacks + 1);
  });

  it('an ADD that finishes within the grace is answered normally before the server closes', async () => {
    const { r, ipam, server } = await run(100, 2000);
    expect(r.code, r.body).toBe(0);
    expect(ipam.held.size).toBe(1);
    expect(server.attachments().map((a) => a.containerId)).toEqual(['slow']);
  });
});
