// Pods in the namespace lab: a pod is a network namespace attached by the real CNI plugin — the
// shim (build/Release/uplink_cni_shim) run inside the node's namespace with the CNI environment and
// a network config naming that node's agent socket, exactly as a container runtime calls it
// (CNI spec 1.0, "Execution Protocol"). Pods are recorded in <stateDir>/pods.json so `down` removes
// them with the lab, and `add` of an existing healthy pod leaves it alone (idempotent).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { agentConfigFile, agentPaths } from './agent-state.js';
import { LabError, LabErrorCode } from './errors.js';
import { openLab, type LabOptions } from './runner.js';
import { repoRoot } from './roles.js';
import { NodeRole, readState } from './state.js';
import { listPods, savePods, type PodRecord } from './pod-store.js';
import { netnsAdd, netnsDelete, netnsExists, run } from './sys.js';

export { listPods, type PodRecord };

export const shimPath = (): string => join(repoRoot(), 'build', 'Release', 'uplink_cni_shim');

interface NodeCtx {
  netns: string;
  cniSocket: string;
}

function nodeCtx(file: string, node: string, opts: LabOptions): NodeCtx & { stateDir: string; lab: string } {
  const lab = openLab(file, opts);
  const n = lab.topo.nodes.find((x) => x.name === node);
  if (!n) throw new LabError(LabErrorCode.UnknownNode, `no node "${node}" in ${lab.topo.name}`);
  const st = readState(lab.stateDir)?.nodes[node];
  if (!st || !netnsExists(st.netns)) throw new LabError(LabErrorCode.NotUp, `${node} is not up`);
  if (st.role !== NodeRole.Agent) throw new LabError(LabErrorCode.Unsupported, `${node} runs no agent: pods need the Uplink CNI plugin`);
  const cfg = agentConfigFile(n);
  const cniSocket = cfg ? agentPaths(cfg).cniSocket : undefined;
  if (!cniSocket) throw new LabError(LabErrorCode.BadTopology, `${node}: the agent config names no cni.socket`);
  return { netns: st.netns, cniSocket, stateDir: lab.stateDir, lab: lab.topo.name };
}

type CniCommand = 'ADD' | 'DEL' | 'CHECK';

/** One CNI call through the shim inside the node's namespace; stdout is the CNI result or error. */
function cni(ctx: NodeCtx, command: CniCommand, pod: Pick<PodRecord, 'name' | 'netns' | 'containerId'>): { code: number; out: string } {
  const shim = shimPath();
  if (!existsSync(shim)) throw new LabError(LabErrorCode.Daemon, `${shim} is not built (run npm ci / npm run build)`);
  const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'uplink', type: 'uplink', agentSocket: ctx.cniSocket, mtu: 1400 });
  try {
    const out = execFileSync('ip', ['netns', 'exec', ctx.netns, shim], {
      input: conf,
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CNI_COMMAND: command,
        CNI_CONTAINERID: pod.containerId,
        CNI_NETNS: `/var/run/netns/${pod.netns}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: '/usr/lib/cni',
        CNI_ARGS: `K8S_POD_NAME=${pod.name};K8S_POD_NAMESPACE=default`,
      },
    });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function podHealthy(p: PodRecord): boolean {
  if (!netnsExists(p.netns) || p.ips.length === 0) return false;
  const out = run('ip', ['-j', '-n', p.netns, 'addr', 'show', 'dev', 'eth0'], { allowFail: true });
  if (!out.trim()) return false;
  const have = new Set((JSON.parse(out) as Array<{ addr_info?: Array<{ local?: string }> }>).flatMap((l) => (l.addr_info ?? []).map((a) => a.local)));
  return p.ips.every((ip) => have.has(ip));
}

/** Pod namespaces sit beside the node's: <prefix>-<lab>-<node>-<pod> (the node's netns name + pod). */
const podNetns = (nodeNetns: string, name: string): string => `${nodeNetns}-${name}`;

export type AddPodResult = { action: 'unchanged' | 'added'; pod: PodRecord };

export function addPod(file: string, node: string, name: string, opts: LabOptions = {}): AddPodResult {
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(name)) throw new LabError(LabErrorCode.BadTopology, `pod name "${name}": lower-case letters, digits and - (max 31)`);
  const ctx = nodeCtx(file, node, opts);
  const pods = listPods(ctx.stateDir);
  const existing = pods.find((p) => p.node === node && p.name === name);
  // Healthy = its namespace exists and eth0 still holds the recorded addresses (read from the kernel;
  // CNI CHECK would need the runtime's cached prevResult, which this lab does not keep).
  if (existing && podHealthy(existing)) return { action: 'unchanged', pod: existing };
  if (existing) delPodRecord(ctx, existing);
  // A stable container ID per (lab, node, pod): a retried ADD after a crash is the same container.
  const containerId = createHash('sha256').update(`${ctx.lab}/${node}/${name}`).digest('hex').slice(0, 32);
  const pod: PodRecord = { node, name, netns: podNetns(ctx.netns, name), containerId, ips: [] };
  if (!netnsExists(pod.netns)) netnsAdd(pod.netns);
  const r = cni(ctx, 'ADD', pod);
  if (r.code !== 0) {
    netnsDelete(pod.netns);
    throw new LabError(LabErrorCode.Command, `${node}/${name}: CNI ADD failed (exit ${r.code}): ${r.out.trim()}`);
  }
  const result = JSON.parse(r.out) as { ips?: Array<{ address: string }> };
  pod.ips = (result.ips ?? []).map((i) => i.address.split('/')[0]!);
  savePods(ctx.stateDir, [...listPods(ctx.stateDir).filter((p) => !(p.node === node && p.name === name)), pod]);
  return { action: 'added', pod };
}

function delPodRecord(ctx: NodeCtx & { stateDir: string }, pod: PodRecord): void {
  // DEL is idempotent in CNI (spec: "should not return an error if the container is already gone").
  const r = netnsExists(pod.netns) ? cni(ctx, 'DEL', pod) : { code: 0, out: '' };
  if (netnsExists(pod.netns)) netnsDelete(pod.netns);
  savePods(ctx.stateDir, listPods(ctx.stateDir).filter((p) => !(p.node === pod.node && p.name === pod.name)));
  if (r.code !== 0) throw new LabError(LabErrorCode.Command, `${pod.node}/${pod.name}: CNI DEL failed (exit ${r.code}): ${r.out.trim()}`);
}

/** CNI DEL, then remove the pod's namespace. Returns false if no such pod was recorded. */
export function delPod(file: string, node: string, name: string, opts: LabOptions = {}): boolean {
  const ctx = nodeCtx(file, node, opts);
  const pod = listPods(ctx.stateDir).find((p) => p.node === node && p.name === name);
  if (!pod) return false;
  delPodRecord(ctx, pod);
  return true;
}
