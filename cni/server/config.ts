// Decoding and validating what the runtime sent: the CNI_* parameters (CNI SPEC "Parameters") and the
// network configuration on stdin (CNI SPEC "Section 1: Network configuration format" and "Section 3:
// Execution of network configurations" for the fields the runtime injects). Every rejection names the
// field so the person on call can fix the file: error 4 for the environment, 6 for JSON that does not
// parse, 7 for a config that parses but is wrong, 1 for a version we do not speak.
import { CniCode, CniError } from '../errors.js';

export const Command = {
  Add: 'ADD',
  Del: 'DEL',
  Check: 'CHECK',
  Gc: 'GC',
  Status: 'STATUS',
  Version: 'VERSION',
} as const;
export type Command = (typeof Command)[keyof typeof Command];

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

export interface CniEnv {
  command: Command;
  containerId: string;
  netns: string;
  ifname: string;
  args: Map<string, string>;
  path: string;
}

export interface ValidAttachment {
  containerID: string;
  ifname: string;
}

export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  mtu: number;
  /** Pool names to allocate from; empty means the agent's defaults. */
  pools: string[];
  prevResult?: unknown;
  /** GC only (CNI SPEC "GC"): attachments the runtime still uses. */
  validAttachments?: ValidAttachment[];
  raw: Record<string, unknown>;
}

/** Required parameters per command (CNI SPEC "Parameters" table). */
const required: Record<Command, Array<keyof CniEnv>> = {
  ADD: ['containerId', 'netns', 'ifname'],
  DEL: ['containerId', 'ifname'],
  CHECK: ['containerId', 'netns', 'ifname'],
  GC: [],
  STATUS: [],
  VERSION: [],
};
const envName: Partial<Record<keyof CniEnv, string>> = {
  containerId: 'CNI_CONTAINERID',
  netns: 'CNI_NETNS',
  ifname: 'CNI_IFNAME',
};

/** CNI_ARGS is "FOO=BAR;ABC=123" (CNI SPEC "Parameters"). */
export function parseCniArgs(s: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of s.split(';')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CniError(CniCode.InvalidEnvironment, `CNI_ARGS: "${part}" is not KEY=VALUE`, 'CNI_ARGS is a ;-separated list of KEY=VALUE pairs');
    out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

export function parseEnv(env: Record<string, string>): CniEnv {
  const cmd = env.CNI_COMMAND ?? '';
  if (!(Object.values(Command) as string[]).includes(cmd)) {
    throw new CniError(CniCode.InvalidEnvironment, `CNI_COMMAND "${cmd}" is not one of ADD, DEL, CHECK, GC, STATUS, VERSION`);
  }
  const e: CniEnv = {
    command: cmd as Command,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    args: parseCniArgs(env.CNI_ARGS ?? ''),
    path: env.CNI_PATH ?? '',
  };
  for (const k of required[e.command]) {
    if (!e[k]) throw new CniError(CniCode.InvalidEnvironment, `${envName[k]} is required for ${e.command}`, 'set by the container runtime (CNI SPEC, Parameters)');
  }
  // CNI SPEC "Parameters": container ID is alphanumeric plus - _ . ; interface names are kernel names.
  if (e.containerId && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(e.containerId)) {
    throw new CniError(CniCode.InvalidEnvironment, `CNI_CONTAINERID "${e.containerId}" has characters outside [A-Za-z0-9_.-]`);
  }
  if (e.ifname && (e.ifname.length > 15 || e.ifname === '.' || e.ifname === '..' || /[/:\s]/.test(e.ifname))) {
    throw new CniError(CniCode.InvalidEnvironment, `CNI_IFNAME "${e.ifname}" is not a valid interface name (at most 15 bytes, no / : or spaces)`);
  }
  return e;
}

function fail(field: string, why: string): never {
  throw new CniError(CniCode.InvalidConfig, `network config field "${field}" ${why}`, 'fix the CNI network configuration (conflist) on this node');
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function parseNetConf(stdin: string, command: Command): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CniCode.DecodeFailure, 'network config on stdin is not valid JSON', (err as Error).message, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CniError(CniCode.DecodeFailure, 'network config on stdin is not a JSON object');
  }
  const o = raw as Record<string, unknown>;
  const str = (k: string, req: boolean): string | undefined => {
    const v = o[k];
    if (v === undefined) {
      if (req) fail(k, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v === '') fail(k, `must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  };
  const version = str('cniVersion', true) as string;
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(CniCode.IncompatibleVersion, `cniVersion "${version}" is not supported`, `supported versions: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  // CNI SPEC "CHECK" exists from 0.4.0, "GC" and "STATUS" from 1.1.0; the reference skel rejects older
  // configs with code 1 and so do we.
  if (command === Command.Check && compareVersions(version, '0.4.0') < 0) {
    throw new CniError(CniCode.IncompatibleVersion, `config version ${version} does not allow CHECK`, 'CHECK needs cniVersion 0.4.0 or later');
  }
  if ((command === Command.Gc || command === Command.Status) && compareVersions(version, '1.1.0') < 0) {
    throw new CniError(CniCode.IncompatibleVersion, `config version ${version} does not allow ${command}`, `${command} needs cniVersion 1.1.0`);
  }
  const name = str('name', true) as string;
  const type = str('type', true) as string;
  let mtu = 1500;
  if (o.mtu !== undefined) {
    if (typeof o.mtu !== 'number' || !Number.isInteger(o.mtu) || o.mtu < 1280 || o.mtu > 65535) {
      fail('mtu', `must be an integer from 1280 to 65535, got ${JSON.stringify(o.mtu)}`);
    }
    mtu = o.mtu;
  }
  let pools: string[] = [];
  if (o.pools !== undefined) {
    if (!Array.isArray(o.pools)) fail('pools', `must be an array of pool names, got ${JSON.stringify(o.pools)}`);
    pools = o.pools.map((p, i) => {
      if (typeof p !== 'string' || p === '') fail(`pools[${i}]`, `must be a non-empty string, got ${JSON.stringify(p)}`);
      return p;
    });
  }
  if (o.agentSocket !== undefined && (typeof o.agentSocket !== 'string' || !o.agentSocket.startsWith('/'))) {
    fail('agentSocket', `must be an absolute path, got ${JSON.stringify(o.agentSocket)}`);
  }
  if (o.agentTimeoutMs !== undefined && (typeof o.agentTimeoutMs !== 'number' || o.agentTimeoutMs <= 0)) {
    fail('agentTimeoutMs', `must be a positive number, got ${JSON.stringify(o.agentTimeoutMs)}`);
  }
  const conf: NetConf = { cniVersion: version as CniVersion, name, type, mtu, pools, raw: o };
  if (o.prevResult !== undefined) {
    if (typeof o.prevResult !== 'object' || o.prevResult === null) fail('prevResult', 'must be an object');
    conf.prevResult = o.prevResult;
  }
  if (command === Command.Gc) conf.validAttachments = parseValidAttachments(o['cni.dev/valid-attachments']);
  return conf;
}

function parseValidAttachments(v: unknown): ValidAttachment[] {
  // CNI SPEC "GC": an absent list means no attachment is valid... but a runtime that forgot it would
  // wipe the node, so we insist on the field being present.
  if (!Array.isArray(v)) fail('cni.dev/valid-attachments', 'must be an array of {containerID, ifname} for GC');
  return v.map((a, i) => {
    const o = a as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || typeof o.containerID !== 'string' || typeof o.ifname !== 'string') {
      fail(`cni.dev/valid-attachments[${i}]`, 'must be an object with string containerID and ifname');
    }
    return { containerID: o.containerID, ifname: o.ifname };
  });
}
