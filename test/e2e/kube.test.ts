// Issue 7's end-to-end on the Kubernetes datastore: two nodes (namespaces) running the real uplinkd with
// `datastore: kubernetes` and a kubeconfig file, one FRR ToR, pods attached through the real CNI shim.
// The API server is a FAKE (ipam/test/fake-kube-api-server.ts with the core/v1 fake of
// uplinkd/kube/test/ mounted under /api/): nothing real can run here. The agents reach it through a
// unix socket (a TCP->unix forwarder in each node namespace), exactly as a kubeconfig URL.
// The fake runs in this test process, so nothing here may block the event loop while an agent waits on
// the API: agents and the CNI shim are driven asynchronously (ctlAsync, cniAsync, the control socket).
// What it shows, each read back from the API server, FRR or the kernel rather than from the agent:
//   - the Node objects' annotations give each agent its ASN and router ID (the config file has none);
//   - BGPPeer resources created after start, selecting nodes by a Node label, make the agents peer
//     with the ToR (the config file has no peers);
//   - pods attach, IPAM state lands in the API server as IPAMBlock/BlockAffinity/IPAMHandle objects,
//     the other node's kernel gets the block route, pods ping across nodes;
//   - the informers survive dropped watches and a 410 Gone (relist), and a Pod deleted meanwhile, its
//     veth gone, is garbage-collected (its address released);
//   - a Pod deleted while its agent is down is garbage-collected after the agent restarts, and its
//     attachment (veth, host route) is torn down before its address is freed;
//   - a Node deleted from the API server is removed from the cluster: its blocks are reclaimed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns, link } from '../harness/netns.js';
import { startFrr, waitFor, type FrrPeer } from '../harness/peers/index.js';
import { forwardTcpToUnix, makeAgent, requireBuilt, writeKubeconfig, type AgentProc } from '../harness/agent.js';
import { FakeKubeApiServer } from '../../ipam/test/fake-kube-api-server.js';
import { FakeCoreApiServer } from '../../uplinkd/kube/test/fake-core-api-server.js';
import { GROUP, KEY_ANNOTATION, VERSION, objectName } from '../../ipam/datastore/kube-mapping.js';
import type { HandleRecord } from '../../ipam/types.js';

interface Routes { dst: string; gateway?: string; protocol?: string }
interface Cr<T> { metadata: { name: string; annotations?: Record<string, string> }; spec: { value: T } }
interface BlockValue { cidr: string; affinity?: string | null; allocations: Record<string, { handle: string }> }
interface AffinityValue { node: string; cidr: string; state: string }

const API_PORT = 6443;

describe('uplinkd end to end on the Kubernetes datastore (fake API server), two nodes, one FRR ToR', () => {
  const spaces: Netns[] = [];
  let tor: Netns, n1: Netns, n2: Netns, pod1: Netns, pod2: Netns, pod3: Netns;
  let frr: FrrPeer;
  let a1: AgentProc, a2: AgentProc;
  let api: FakeKubeApiServer;
  let core: FakeCoreApiServer;
  let url = '';
  let dir = '';
  let ip1 = '', ip2 = '';

  const crs = async <T>(plural: string): Promise<Array<Cr<T>>> => {
    const r = await fetch(`${url}/apis/${GROUP}/${VERSION}/${plural}`);
    expect(r.status).toBe(200);
    return ((await r.json()) as { items: Array<Cr<T>> }).items;
  };
  const handles = async (): Promise<HandleRecord[]> => (await crs<HandleRecord>('ipamhandles')).map((o) => o.spec.value);
  const allocated = async (): Promise<Set<string>> =>
    new Set((await crs<BlockValue>('ipamblocks')).flatMap((b) => Object.values(b.spec.value.allocations).map((a) => a.handle)));
  /** A BGPPeer as `kubectl apply` writes it: the CR format of k8s/crds/bgppeer.yaml. */
  const createBgpPeer = async (name: string, value: Record<string, unknown>): Promise<void> => {
    const key = `bgp/peers/${name}`;
    const r = await fetch(`${url}/apis/${GROUP}/${VERSION}/bgppeers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: `${GROUP}/${VERSION}`, kind: 'BGPPeer', metadata: { name: objectName(key), annotations: { [KEY_ANNOTATION]: key } }, spec: { value } }),
    });
    expect(r.status, await r.text()).toBe(201);
  };
  /** GET on the agent's control socket (a file: reachable from the test's namespace). */
  const agentGet = <T>(a: AgentProc, path: string): Promise<T> => new Promise((resolve, reject) => {
    request({ socketPath: a.control, path }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve(JSON.parse(body) as T));
    }).on('error', reject).end();
  });
  const journal = async (a: AgentProc): Promise<string[]> => (await agentGet<Array<{ kind: string; message: string }>>(a, '/events?limit=500')).map((e) => `${e.kind}: ${e.message}`);
  const addrOf = (out: string): string => (JSON.parse(out) as { ips: Array<{ address: string }> }).ips[0]!.address.split('/')[0]!;
  const logs = (): string => `--- node1\n${a1?.log() ?? ''}\n--- node2\n${a2?.log() ?? ''}`;

  beforeAll(async () => {
    requireBuilt();
    dir = mkdtempSync(join(tmpdir(), 'uplink-kube-e2e-'));
    api = new FakeKubeApiServer();
    core = new FakeCoreApiServer();
    api.mount('/api/', core.serve);
    url = await api.start();
    const sock = join(dir, 'api.sock');
    await api.listenUnix(sock);
    const kubeconfig = writeKubeconfig(join(dir, 'kubeconfig'), `http://127.0.0.1:${API_PORT}`);

    // Identity lives on the Node objects only: ASN and router ID annotations, rack label.
    core.putNode('node1', { labels: { 'uplink.dev/rack': 'r1' }, annotations: { 'uplink.dev/asn': '65101', 'uplink.dev/router-id': '10.255.0.11' } });
    core.putNode('node2', { labels: { 'uplink.dev/rack': 'r2' }, annotations: { 'uplink.dev/asn': '65102', 'uplink.dev/router-id': '10.255.0.12' } });

    for (let i = 0; i < 6; i++) spaces.push(Netns.create('ulk'));
    [tor, n1, n2, pod1, pod2, pod3] = spaces as [Netns, Netns, Netns, Netns, Netns, Netns];
    link(tor, 'to-n1', n1, 'up0', ['10.0.1.0/31'], ['10.0.1.1/31']);
    link(tor, 'to-n2', n2, 'up0', ['10.0.2.0/31'], ['10.0.2.1/31']);
    for (const ns of [tor, n1, n2]) ns.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await forwardTcpToUnix(n1, API_PORT, sock);
    await forwardTcpToUnix(n2, API_PORT, sock);
    // The ToR expects the ASNs of the annotations: an agent using any other ASN is refused (Bad Peer AS).
    frr = await startFrr(tor, {
      config: [
        'router bgp 65000',
        ' bgp router-id 10.0.0.1',
        ' no bgp ebgp-requires-policy',
        ' neighbor 10.0.1.1 remote-as 65101',
        ' neighbor 10.0.2.1 remote-as 65102',
        ' neighbor 10.0.1.1 timers 3 9',
        ' neighbor 10.0.2.1 timers 3 9',
        ' neighbor 10.0.1.1 timers connect 1',
        ' neighbor 10.0.2.1 timers connect 1',
        '',
      ].join('\n'),
    });
    // No asn, routerId or peers in the file: BGP is on (holdTime), the rest comes from the API server.
    const agent = (ns: Netns, name: string): AgentProc => makeAgent(ns, name, {
      datastorePath: '',
      bgp: { bgp: { holdTime: 9, connectRetry: 1 } },
      extra: {
        datastore: { type: 'kubernetes', kubeconfig, namespace: 'uplink-system' },
        kubernetes: { podGcIntervalSeconds: 1, podGcGraceSeconds: 2 },
      },
    });
    a1 = agent(n1, 'node1');
    a2 = agent(n2, 'node2');
    a1.start();
    a2.start();
    for (const a of [a1, a2]) {
      await waitFor(`${a.name} up`, async () => {
        try {
          return (await agentGet<{ node: string }>(a, '/status')).node === a.name ? true : undefined;
        } catch {
          return undefined;
        }
      }, { timeoutMs: 30_000, ...(a.child ? { child: a.child } : {}), describe: () => a.log() });
    }
  }, 120_000);

  afterAll(async () => {
    // UPLINK_E2E_LOGS=FILE keeps both agents' last log lines for a post-mortem of a slow or failed run.
    if (process.env.UPLINK_E2E_LOGS) writeFileSync(process.env.UPLINK_E2E_LOGS, logs());
    await a1?.stop('SIGKILL');
    await a2?.stop('SIGKILL');
    for (const ns of spaces) ns.destroy();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const a of [a1, a2]) if (a) rmSync(a.dir, { recursive: true, force: true });
  });

  it('BGPPeers created after start, selecting nodes by Node label, bring up sessions with the ASN and router ID of the Node annotations', async () => {
    // Before any BGPPeer exists the agents have no peer at all.
    expect(await agentGet<unknown[]>(a1, '/neighbors')).toEqual([]);
    expect(await agentGet<unknown[]>(a2, '/neighbors')).toEqual([]);
    await createBgpPeer('tor-r1', { peerIP: '10.0.1.0', asNumber: 65000, nodeSelector: 'uplink.dev/rack == "r1"', holdTime: 9 });
    await createBgpPeer('tor-r2', { peerIP: '10.0.2.0', asNumber: 65000, nodeSelector: 'uplink.dev/rack == "r2"', holdTime: 9 });
    try {
      await frr.waitState('10.0.1.1', 'Established', 30_000);
      await frr.waitState('10.0.2.1', 'Established', 30_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs()}`);
    }
    const nb = frr.vtyshJson<Record<string, { remoteAs: number; remoteRouterId: string }>>('show bgp neighbors json');
    expect([nb['10.0.1.1']?.remoteAs, nb['10.0.1.1']?.remoteRouterId]).toEqual([65101, '10.255.0.11']);
    expect([nb['10.0.2.1']?.remoteAs, nb['10.0.2.1']?.remoteRouterId]).toEqual([65102, '10.255.0.12']);
    // Each node got only the peer its rack label selects, named after the resource.
    const peersOf = async (a: AgentProc): Promise<string[][]> => (await agentGet<Array<{ peer: string; address: string }>>(a, '/neighbors')).map((n) => [n.peer, n.address]);
    expect(await peersOf(a1)).toEqual([['bgppeer/tor-r1', '10.0.1.0']]);
    expect(await peersOf(a2)).toEqual([['bgppeer/tor-r2', '10.0.2.0']]);
  }, 60_000);

  it('pods attach; IPAM state is in the API server as CRs; the other node routes to them', async () => {
    core.putPod('default', 'web-1', 'node1');
    core.putPod('default', 'web-2', 'node2');
    const r1 = await a1.cniAsync('ADD', 'c0ffee000001', pod1.path, 'web-1');
    const r2 = await a2.cniAsync('ADD', 'c0ffee000002', pod2.path, 'web-2');
    expect(r1.code, r1.out).toBe(0);
    expect(r2.code, r2.out).toBe(0);
    ip1 = addrOf(r1.out);
    ip2 = addrOf(r2.out);
    const hs = await handles();
    const h1 = hs.find((h) => h.attrs.pod === 'web-1');
    const h2 = hs.find((h) => h.attrs.pod === 'web-2');
    expect(h1).toMatchObject({ attrs: { node: 'node1', namespace: 'default' } });
    expect(h1!.addresses.map((a) => a.address)).toContain(ip1);
    expect(h2).toMatchObject({ attrs: { node: 'node2', namespace: 'default' } });
    expect(await allocated()).toEqual(new Set([h1!.handle, h2!.handle]));
    const affinities = (await crs<AffinityValue>('blockaffinities')).map((o) => o.spec.value);
    expect(affinities.map((a) => a.node).sort()).toEqual(['node1', 'node2']);
    expect((await crs('ippools')).length).toBe(1);
    const block1 = affinities.find((a) => a.node === 'node1')!.cidr;
    // node2's kernel learns node1's block via the ToR (read back from the kernel).
    await waitFor('node1 block in node2 kernel', () => {
      const rs = n2.ipJson<Routes[]>('route', 'show', 'proto', '77');
      return rs.find((r) => r.dst === block1 && r.gateway === '10.0.2.0') ? true : undefined;
    }, { timeoutMs: 20_000, describe: logs });
    pod2.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', ip1]);
    pod1.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', ip2]);
    // The CLI reads the same state through the agent.
    const show = await a1.ctlAsync<{ pools: Array<{ name: string; used: number }> }>('ipam', 'show');
    expect(show.pools.find((p) => p.name === 'pods-v4')?.used).toBe(2);
  }, 60_000);

  it('informers survive dropped watches and a 410 Gone: a Pod deleted meanwhile (its veth gone) is garbage-collected, a relabelled Node and a new BGPPeer take effect', async () => {
    core.putPod('default', 'web-3', 'node1');
    const r3 = await a1.cniAsync('ADD', 'c0ffee000003', pod3.path, 'web-3');
    expect(r3.code, r3.out).toBe(0);
    const h3 = (await handles()).find((h) => h.attrs.pod === 'web-3')!;
    expect(h3).toBeDefined();
    const listsBefore = { nodes: core.count('list nodes'), pods: core.count('list pods') };
    // Every watch ends and no Node/Pod watch may reconnect until we say so. Meanwhile the pod goes away
    // with its veth, node1 gets a new label, the event logs are compacted (so only a relist shows these
    // changes: 410 Gone on resume) and a BGPPeer selecting the new label is created.
    core.holdWatches();
    core.dropWatches();
    api.dropWatches();
    const veth = JSON.parse(r3.out) as { interfaces: Array<{ name: string; sandbox?: string }> };
    n1.ip('link', 'del', veth.interfaces.find((i) => !i.sandbox)!.name);
    core.deletePod('default', 'web-3');
    core.putNode('node1', { labels: { 'uplink.dev/rack': 'r1', 'uplink.dev/extra': 'yes' }, annotations: { 'uplink.dev/asn': '65101', 'uplink.dev/router-id': '10.255.0.11' } });
    core.compact();
    api.compact();
    await createBgpPeer('tor-extra', { peerIP: '10.0.1.9', asNumber: 65000, nodeSelector: 'uplink.dev/extra == "yes"', passive: true });
    core.releaseWatches();
    // Release frees the address in the block first, then deletes the handle: wait for both.
    const released = async (h: string): Promise<true | undefined> =>
      !(await allocated()).has(h) && !(await handles()).some((x) => x.handle === h) ? true : undefined;
    await waitFor('web-3 address released', () => released(h3.handle), { timeoutMs: 20_000, describe: logs });
    // It was the pod GC (no CNI DEL was sent) that released it; live pods are untouched.
    expect((await journal(a1)).filter((e) => e.startsWith('ipam: pod GC released'))).toEqual([expect.stringContaining(h3.handle)]);
    expect((await handles()).map((h) => h.attrs.pod).sort()).toEqual(['web-1', 'web-2']);
    expect((await allocated()).size).toBe(2);
    // Its attachment was torn down first (no route to the old sandbox once the address can be reused):
    // gone from the agent's records and from node1's kernel.
    expect((await agentGet<Array<{ containerId: string }>>(a1, '/attachments')).map((x) => x.containerId)).toEqual(['c0ffee000001']);
    const ip3 = addrOf(r3.out);
    expect(n1.ipJson<Routes[]>('route', 'show').filter((r) => r.dst === ip3)).toEqual([]);
    // The Node and Pod informers listed again after the 410.
    expect(core.count('list pods')).toBeGreaterThan(listsBefore.pods);
    expect(core.count('list nodes')).toBeGreaterThan(listsBefore.nodes);
    // The new label (seen by the Node relist) and the new BGPPeer (seen by the datastore relist) give
    // node1, and only node1, a second peer.
    await waitFor('tor-extra applied on node1', async () => {
      const peers = (await agentGet<Array<{ address: string }>>(a1, '/neighbors')).map((n) => n.address).sort();
      return peers.length === 2 ? peers : undefined;
    }, { timeoutMs: 15_000, describe: logs });
    expect((await agentGet<Array<{ address: string }>>(a1, '/neighbors')).map((n) => n.address).sort()).toEqual(['10.0.1.0', '10.0.1.9']);
    expect((await agentGet<Array<{ address: string }>>(a2, '/neighbors')).map((n) => n.address)).toEqual(['10.0.2.0']);
    // The relabel did not disturb the ToR session.
    expect(frr.vtyshJson<Record<string, { bgpState?: string }>>('show bgp neighbors 10.0.1.1 json')['10.0.1.1']?.bgpState).toBe('Established');
    // IPAM and CNI still work after the relists: a new pod in the same sandbox namespace gets an address
    // (possibly web-3's, freed above) with exactly one host route, to its own veth, and the other node
    // reaches it.
    core.putPod('default', 'web-4', 'node1');
    const r4 = await a1.cniAsync('ADD', 'c0ffee000004', pod3.path, 'web-4');
    expect(r4.code, r4.out).toBe(0);
    const ip4 = addrOf(r4.out);
    const host4 = (JSON.parse(r4.out) as { interfaces: Array<{ name: string; sandbox?: string }> }).interfaces.find((i) => !i.sandbox)!.name;
    expect(n1.ipJson<Array<Routes & { dev?: string }>>('route', 'show').filter((r) => r.dst === ip4).map((r) => r.dev)).toEqual([host4]);
    pod2.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', ip4]);
  }, 60_000);

  it('a Pod deleted while its agent is down is garbage-collected after the restart', async () => {
    const h2 = (await handles()).find((h) => h.attrs.pod === 'web-2')!;
    await a2.stop('SIGTERM');
    core.deletePod('default', 'web-2');
    a2.start();
    await waitFor('web-2 address released', async () => (!(await allocated()).has(h2.handle) && (await handles()).length === 2 ? true : undefined), { timeoutMs: 20_000, describe: logs });
    expect((await handles()).map((h) => h.attrs.pod).sort()).toEqual(['web-1', 'web-4']);
    // The veth and the host route of the gone pod are removed too (read back from node2's kernel).
    await waitFor('web-2 detached', async () => ((await agentGet<unknown[]>(a2, '/attachments')).length === 0 ? true : undefined), { timeoutMs: 10_000, describe: logs });
    expect(n2.ipJson<Array<{ ifname: string }>>('link', 'show', 'type', 'veth').filter((l) => l.ifname.startsWith('upl'))).toEqual([]);
    expect(n2.ipJson<Routes[]>('route', 'show').filter((r) => r.dst === ip2)).toEqual([]);
    expect((await journal(a2)).filter((e) => e.startsWith('ipam: pod GC released'))).toEqual([expect.stringContaining(h2.handle)]);
  }, 60_000);

  it('a Node deleted from the API server is removed from the cluster: its blocks are reclaimed and withdrawn', async () => {
    const block2 = (await crs<AffinityValue>('blockaffinities')).map((o) => o.spec.value).find((a) => a.node === 'node2')!.cidr;
    await waitFor('node2 block in node1 kernel', () => (n1.ipJson<Routes[]>('route', 'show', 'proto', '77').some((r) => r.dst === block2) ? true : undefined), { timeoutMs: 20_000, describe: logs });
    core.deleteNode('node2');
    // The informers report the deletion, an agent deletes the `nodes/node2` record (a DatastoreEntry
    // object), and the cluster GC leader reclaims node2's block.
    await waitFor('node2 record gone', async () => {
      const keys = (await crs('datastoreentries')).map((o) => o.metadata.annotations?.[KEY_ANNOTATION]);
      return keys.includes('nodes/node1') && !keys.includes('nodes/node2') ? true : undefined;
    }, { timeoutMs: 15_000, describe: logs });
    await waitFor('node2 block reclaimed', async () => {
      const nodes = (await crs<AffinityValue>('blockaffinities')).map((o) => o.spec.value.node);
      return nodes.length === 1 && nodes[0] === 'node1' ? true : undefined;
    }, { timeoutMs: 20_000, describe: logs });
    // node2's agent follows its affinities: the block is withdrawn, node1's kernel forgets it.
    await waitFor('node2 block withdrawn', () => (n1.ipJson<Routes[]>('route', 'show', 'proto', '77').some((r) => r.dst === block2) ? undefined : true), { timeoutMs: 20_000, describe: logs });
  }, 60_000);
});
