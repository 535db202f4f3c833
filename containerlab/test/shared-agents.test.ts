// `up --shared-agents` on the default lab (2 spines, 4 ToRs, 4 agent nodes, FRR routers): every
// agent runs in ONE uplinkd process on the host, each in its node's namespace. Asserted from the
// kernels and /proc, not from the agents' reports:
//   - one PID, in the host's namespace, recorded on every agent node; no uplinkd inside any node;
//   - every BGP session Established (the agents' sockets live in their nodes' namespaces: the ToRs
//     peer with the node addresses, which exist only there);
//   - pods added through the CNI shim get their host veth and /32 route in their node's namespace,
//     the node's kernel routes the other nodes' blocks, and pods on two racks reach each other;
//   - `status` is healthy and a re-`up` is a no-op;
//   - stopping one node's agent by PID is refused (it would stop every node's agent), and so are the
//     agent-restart and node-removal drills.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTopology } from '../../topology/resolve.js';
import { writeLab } from '../../topology/clab.js';
import { DRILLS, DrillName } from '../drills.js';
import { addPod } from '../pods.js';
import { stopNode } from '../node-control.js';
import { down, openLab, status, up, type LabOptions } from '../runner.js';
import { NodeRole, readState, type NodeState } from '../state.js';
import { netnsPids, pidNetns, run } from '../sys.js';
import { waitBgp } from '../wait.js';
import { eventually, ipJson, namespacesWith } from './lab-util.js';

const isRoot = process.getuid?.() === 0;
const REPO = join(import.meta.dirname, '..', '..');
const built = existsSync(join(REPO, 'build', 'Release', 'uplink_cni_shim')) && existsSync(join(REPO, 'dist', 'uplinkd', 'agent-group.js'));

const v4 = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
/** `ip` inside IPv4 `cidr`. */
function inV4(cidr: string, ip: string): boolean {
  const [net, len] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return Math.floor(v4(ip) / size) === Math.floor(v4(net!) / size);
}

describe.skipIf(!isRoot || !built)('default lab with --shared-agents', () => {
  const prefix = `ulm${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'ulm-shared-'));
  chmodSync(dir, 0o755); // FRR (user frr) traverses to its private dir under the state dir
  const opts: LabOptions = { prefix, stateDir: join(dir, '.state'), sharedAgents: true };
  const file = writeLab(loadTopology(join(REPO, 'topology', 'examples', 'default.yaml')), dir, { agent: { root: join(dir, 'agents') } });
  let agents: NodeState[] = [];

  beforeAll(async () => {
    await up(file, opts);
    agents = Object.values(readState(openLab(file, opts).stateDir)!.nodes).filter((n) => n.role === NodeRole.Agent);
  }, 120_000);

  afterAll(async () => {
    await down(file, opts);
    expect(namespacesWith(prefix)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('one process in the host namespace hosts every agent; none runs inside a node', () => {
    expect(agents.length).toBeGreaterThanOrEqual(4);
    const pids = new Set(agents.flatMap((a) => a.procs.map((p) => p.pid)));
    expect(pids.size).toBe(1);
    const [pid] = [...pids];
    expect(pidNetns(pid!)).toBe(pidNetns(process.pid));
    for (const a of agents) {
      expect(a.procs[0]!.shared).toBe(true);
      expect(netnsPids(a.netns), `${a.name} runs no process of its own`).toEqual([]);
    }
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline.filter((w) => w === '--config')).toHaveLength(agents.length);
  });

  it('sessions come up from the nodes\' namespaces; pods get host ends and routes in theirs and reach across racks', async () => {
    await waitBgp(file, opts, 90_000);
    const a = addPod(file, 'node1', 'web1', opts).pod;
    const b = addPod(file, 'node4', 'web1', opts).pod;
    for (const [pod, node] of [[a, 'node1'], [b, 'node4']] as const) {
      const ns = openLab(file, opts).netns(node);
      const routes = ipJson<Array<{ dst: string; dev?: string; protocol?: string }>>(ns, '-4', 'route', 'show', 'proto', '77');
      expect(routes.map((r) => r.dst), `${node}'s kernel holds ${pod.ips[0]}/32`).toContain(pod.ips[0]);
      // The host end is in the node's namespace, not in the host's.
      const dev = routes.find((r) => r.dst === pod.ips[0])!.dev!;
      expect(run('ip', ['link', 'show', 'dev', dev], { allowFail: true })).toBe('');
      // The other node's block arrives over BGP into this node's kernel (the FIB reconciler's netns).
      await eventually(`${node} routes the other node's block`, () => {
        const other = pod === a ? b : a;
        const blocks = ipJson<Array<{ dst: string; type?: string }>>(ns, '-4', 'route', 'show', 'proto', '77').filter((r) => r.dst.endsWith('/26') && r.type !== 'blackhole');
        return blocks.some((r) => inV4(r.dst, other.ips[0]!)) ? true : undefined;
      }, 30_000, 300);
    }
    for (const [x, y] of [[a, b], [b, a]] as const) {
      await eventually(`${x.node} pod reaches ${y.ips[0]}`, () => (run('ip', ['netns', 'exec', x.netns, 'ping', '-c', '1', '-W', '1', y.ips[0]!], { allowFail: true }).includes(' 0% packet loss') ? true : undefined), 30_000, 300);
    }
  }, 150_000);

  it('status is healthy, re-up is a no-op, and one node\'s agent cannot be stopped by PID', async () => {
    const s = status(file, opts);
    expect(s.problems).toEqual([]);
    expect(s.up).toBe(true);
    expect((await up(file, opts)).action).toBe('unchanged');
    await expect(stopNode(file, agents[0]!.name, 'SIGTERM', opts, ['agent'])).rejects.toMatchObject({ code: 'LAB_UNSUPPORTED' });
    // So do the drills that stop one node's agent, before they touch the lab.
    for (const d of [DrillName.AgentRestart, DrillName.NodeRemoval]) {
      await expect(DRILLS[d](file, { ...opts, silent: true })).rejects.toMatchObject({ code: 'LAB_UNSUPPORTED' });
    }
    // The refusal signalled nothing: the process still runs every agent.
    expect(status(file, opts).problems).toEqual([]);
  }, 60_000);
});
