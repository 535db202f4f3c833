// The kernel side of an attachment, as the steps ADD undoes one by one. `Dataplane` is the seam: the
// implementation here drives iproute2 (one `ip -batch` per step, the container side entered with
// nsenter on the netns path the runtime gave us, CNI SPEC "CNI_NETNS"), and never moves the agent's
// own thread into another namespace. NetlinkDataplane (netlink-dataplane.ts) implements the same
// interface over the native addon and is preferred when it is built; this one is the fallback.
// Host side in another namespace (`new IprouteDataplane({ netns })`): the agent of a simulated node
// that shares its process with other nodes' agents (uplinkd/agent-group.ts) makes its host-side
// changes in its node's namespace, entered with nsenter like the container side; sysctls are written
// by the nsenter'd shell because /proc/sys/net resolves against the writer's namespace.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { CniCode, CniError } from '../errors.js';

/** Uplink's route protocol number (routes/netlink/constants.ts UPLINK_RT_PROTO; "77 uplink" in rt_protos.d). */
export const UPLINK_RT_PROTO = 77;
/** Link-local gateways the container routes through (the Calico model: no per-node subnet in the pod). */
export const GATEWAY_V4 = '169.254.1.1';
export const GATEWAY_V6 = 'fe80::1';

export interface LinkPlan {
  hostIf: string;
  hostMac: string;
  ctrIf: string;
  ctrMac: string;
  netns: string;
  mtu: number;
  ipv4?: string;
  ipv6?: string;
}

export interface ContainerState {
  mac: string;
  mtu: number;
  up: boolean;
  addrs: string[];
  routes: Array<{ dst: string; gateway?: string }>;
}
export interface HostState {
  mac: string;
  up: boolean;
  addrs: string[];
  routes: Array<{ dst: string; protocol: string }>;
}

export interface Dataplane {
  createVeth(p: LinkPlan): Promise<void>;
  configureContainer(p: LinkPlan): Promise<void>;
  configureHost(p: LinkPlan): Promise<void>;
  addHostRoutes(p: LinkPlan): Promise<void>;
  deleteHostRoutes(p: LinkPlan): Promise<void>;
  /** Deletes the host end (the kernel removes the peer with it). False when it was already gone. */
  deleteVeth(hostIf: string): Promise<boolean>;
  listHostLinks(prefix: string): Promise<string[]>;
  inspectContainer(netns: string, ifname: string): Promise<ContainerState | null>;
  inspectHost(hostIf: string): Promise<HostState | null>;
  /** Agent-wide: forwarding on in the agent's namespace (the node routes for its pods). */
  enableForwarding(): Promise<void>;
}

export class DataplaneError extends CniError {
  constructor(step: string, msg: string, readonly stderr = '') {
    super(CniCode.DataplaneFailure, `${step}: ${msg}`, stderr.trim());
  }
}

interface Exec { code: number; stdout: string; stderr: string }

function exec(cmd: string, args: string[], input?: string): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (child.stdin) {
      // A command that fails before reading its batch closes the pipe: its exit code tells the story.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

const GONE = /Cannot find device|No such device|does not exist|No such process|No such file or directory/;

async function ipBatch(step: string, lines: string[], netns?: string): Promise<void> {
  const r = netns
    ? await exec('nsenter', [`--net=${netns}`, '--', 'ip', '-batch', '-'], lines.join('\n') + '\n')
    : await exec('ip', ['-batch', '-'], lines.join('\n') + '\n');
  if (r.code !== 0) throw new DataplaneError(step, `ip -batch failed (exit ${r.code})`, r.stderr);
}

/** argv running `cmd` in `netns` (nsenter), or as is when the host side is our own namespace. */
const inNs = (netns: string | undefined, cmd: string, args: string[]): [string, string[]] =>
  netns ? ['nsenter', [`--net=${netns}`, '--', cmd, ...args]] : [cmd, args];

/** Writes `value` to each /proc/sys path inside `netns` (one shell), then runs `ip -batch` there. */
async function sysctlsThenBatch(step: string, netns: string, sysctls: Array<[string, string]>, lines: string[]): Promise<void> {
  // Paths and values are ours (interface names are validated hostIfName()s), passed as arguments.
  const script = 'while [ $# -gt 1 ]; do echo "$2" > "$1" || exit 1; shift 2; done; exec ip -batch -';
  const r = await exec('nsenter', [`--net=${netns}`, '--', 'sh', '-c', script, 'sh', ...sysctls.flat()], lines.join('\n') + '\n');
  if (r.code !== 0) throw new DataplaneError(step, `exit ${r.code}`, r.stderr);
}

async function sysctl(path: string, value: string, step: string): Promise<void> {
  try {
    await writeFile(path, value);
  } catch (err) {
    throw new DataplaneError(step, `cannot write ${path}`, (err as Error).message);
  }
}

export interface IprouteDataplaneOptions {
  /** The host side's namespace (path); default: the agent's own. */
  netns?: string;
}

export class IprouteDataplane implements Dataplane {
  /** Host-side namespace; undefined = ours. */
  protected readonly hostNetns: string | undefined;

  constructor(opts: IprouteDataplaneOptions = {}) {
    this.hostNetns = opts.netns;
  }

  async createVeth(p: LinkPlan): Promise<void> {
    // The container end is born inside the pod's netns under its final name: it is never visible in the
    // host namespace, so no rename race with udev or another ADD. `netns PATH`: ip takes a path as well
    // as a name, and the path resolves the same from the node's namespace.
    await ipBatch('create-veth', [
      `link add ${p.hostIf} mtu ${p.mtu} address ${p.hostMac} type veth peer name ${p.ctrIf} mtu ${p.mtu} address ${p.ctrMac} netns ${p.netns}`,
    ], this.hostNetns);
  }

  async configureContainer(p: LinkPlan): Promise<void> {
    const lines: string[] = [];
    if (p.ipv4) lines.push(`addr add ${p.ipv4}/32 dev ${p.ctrIf}`);
    // nodad: the /128 is ours by IPAM; DAD would hold the address tentative for ~1 s (RFC 4862 §5.4).
    if (p.ipv6) lines.push(`addr add ${p.ipv6}/128 dev ${p.ctrIf} nodad`);
    lines.push(`link set ${p.ctrIf} up`);
    if (p.ipv4) {
      // A permanent neighbour for the gateway saves the first ARP round trip; the host also answers
      // 169.254.1.1 by proxy ARP should the entry be flushed.
      lines.push(`neigh replace ${GATEWAY_V4} dev ${p.ctrIf} lladdr ${p.hostMac} nud permanent`);
      lines.push(`route add default via ${GATEWAY_V4} dev ${p.ctrIf} onlink`);
    }
    if (p.ipv6) {
      lines.push(`neigh replace ${GATEWAY_V6} dev ${p.ctrIf} lladdr ${p.hostMac} nud permanent`);
      lines.push(`route add default via ${GATEWAY_V6} dev ${p.ctrIf}`);
    }
    const script = p.ipv6
      ? // accept_dad=0 before the link comes up, so the link-local address is not tentative either.
        `echo 0 > /proc/sys/net/ipv6/conf/${p.ctrIf}/accept_dad && exec ip -batch -`
      : 'exec ip -batch -';
    const r = await exec('nsenter', [`--net=${p.netns}`, '--', 'sh', '-c', script], lines.join('\n') + '\n');
    if (r.code !== 0) throw new DataplaneError('configure-container', `exit ${r.code}`, r.stderr);
  }

  async configureHost(p: LinkPlan): Promise<void> {
    const conf4 = `/proc/sys/net/ipv4/conf/${p.hostIf}`;
    const conf6 = `/proc/sys/net/ipv6/conf/${p.hostIf}`;
    const lines = [`addr add ${GATEWAY_V6}/64 dev ${p.hostIf} nodad`, `link set ${p.hostIf} up`];
    if (this.hostNetns) {
      await sysctlsThenBatch('configure-host', this.hostNetns, [[`${conf4}/proxy_arp`, '1'], [`${conf4}/forwarding`, '1'], [`${conf6}/accept_dad`, '0']], lines);
      return;
    }
    await sysctl(`${conf4}/proxy_arp`, '1', 'configure-host');
    await sysctl(`${conf4}/forwarding`, '1', 'configure-host');
    await sysctl(`${conf6}/accept_dad`, '0', 'configure-host');
    await ipBatch('configure-host', [
      `addr add ${GATEWAY_V6}/64 dev ${p.hostIf} nodad`,
      `link set ${p.hostIf} up`,
    ]);
  }

  async addHostRoutes(p: LinkPlan): Promise<void> {
    const lines: string[] = [];
    if (p.ipv4) lines.push(`route replace ${p.ipv4}/32 dev ${p.hostIf} proto ${UPLINK_RT_PROTO} scope link`);
    if (p.ipv6) lines.push(`route replace ${p.ipv6}/128 dev ${p.hostIf} proto ${UPLINK_RT_PROTO}`);
    if (lines.length) await ipBatch('host-routes', lines, this.hostNetns);
  }

  async deleteHostRoutes(p: LinkPlan): Promise<void> {
    for (const [addr, len] of [[p.ipv4, 32], [p.ipv6, 128]] as const) {
      if (!addr) continue;
      const r = await exec(...inNs(this.hostNetns, 'ip', ['route', 'del', `${addr}/${len}`, 'dev', p.hostIf, 'proto', String(UPLINK_RT_PROTO)]));
      if (r.code !== 0 && !GONE.test(r.stderr)) throw new DataplaneError('delete-host-routes', `exit ${r.code}`, r.stderr);
    }
  }

  async deleteVeth(hostIf: string): Promise<boolean> {
    const r = await exec(...inNs(this.hostNetns, 'ip', ['link', 'del', hostIf]));
    if (r.code === 0) return true;
    if (GONE.test(r.stderr)) return false;
    throw new DataplaneError('delete-veth', `exit ${r.code}`, r.stderr);
  }

  async listHostLinks(prefix: string): Promise<string[]> {
    const r = await exec(...inNs(this.hostNetns, 'ip', ['-j', 'link', 'show', 'type', 'veth']));
    if (r.code !== 0) throw new DataplaneError('list-links', `exit ${r.code}`, r.stderr);
    const links = JSON.parse(r.stdout || '[]') as Array<{ ifname: string }>;
    return links.map((l) => l.ifname).filter((n) => n.startsWith(prefix));
  }

  async inspectContainer(netns: string, ifname: string): Promise<ContainerState | null> {
    const r = await exec('nsenter', [`--net=${netns}`, '--', 'sh', '-c',
      `ip -j addr show dev "$1" && echo '#' && ip -j route show dev "$1" && echo '#' && ip -j -6 route show dev "$1"`, 'sh', ifname]);
    if (r.code !== 0) {
      if (GONE.test(r.stderr)) return null;
      throw new DataplaneError('inspect-container', `exit ${r.code}`, r.stderr);
    }
    const [a, r4, r6] = r.stdout.split('#\n');
    const link = (JSON.parse(a ?? '[]') as Array<{ address: string; mtu: number; flags: string[]; addr_info: Array<{ local: string; prefixlen: number; scope: string }> }>)[0];
    if (!link) return null;
    const routes = [...JSON.parse(r4 || '[]'), ...JSON.parse(r6 || '[]')] as Array<{ dst: string; gateway?: string }>;
    return {
      mac: link.address,
      mtu: link.mtu,
      up: link.flags.includes('UP'),
      addrs: link.addr_info.filter((x) => x.scope === 'global').map((x) => `${x.local}/${x.prefixlen}`),
      routes: routes.map((x) => (x.gateway ? { dst: x.dst, gateway: x.gateway } : { dst: x.dst })),
    };
  }

  async inspectHost(hostIf: string): Promise<HostState | null> {
    const r = await exec(...inNs(this.hostNetns, 'sh', ['-c',
      `ip -j addr show dev "$1" && echo '#' && ip -j route show dev "$1" && echo '#' && ip -j -6 route show dev "$1"`, 'sh', hostIf]));
    if (r.code !== 0) {
      if (GONE.test(r.stderr)) return null;
      throw new DataplaneError('inspect-host', `exit ${r.code}`, r.stderr);
    }
    const [a, r4, r6] = r.stdout.split('#\n');
    const link = (JSON.parse(a ?? '[]') as Array<{ address: string; flags: string[]; addr_info: Array<{ local: string; prefixlen: number }> }>)[0];
    if (!link) return null;
    const routes = [...JSON.parse(r4 || '[]'), ...JSON.parse(r6 || '[]')] as Array<{ dst: string; protocol?: string }>;
    return {
      mac: link.address,
      up: link.flags.includes('UP'),
      addrs: link.addr_info.map((x) => `${x.local}/${x.prefixlen}`),
      routes: routes.map((x) => ({ dst: x.dst, protocol: String(x.protocol ?? '') })),
    };
  }

  async enableForwarding(): Promise<void> {
    if (this.hostNetns) {
      await sysctlsThenBatch('forwarding', this.hostNetns, [['/proc/sys/net/ipv4/ip_forward', '1'], ['/proc/sys/net/ipv6/conf/all/forwarding', '1']], []);
      return;
    }
    await sysctl('/proc/sys/net/ipv4/ip_forward', '1', 'forwarding');
    await sysctl('/proc/sys/net/ipv6/conf/all/forwarding', '1', 'forwarding');
  }
}
