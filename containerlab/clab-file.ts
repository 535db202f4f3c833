// Reads a containerlab topology file (`*.clab.yml`) into resolved nodes and links: the subset that
// containerlab documents for `linux` nodes (https://containerlab.dev/manual/topo-def-file/).
// Inheritance follows containerlab: node > group > kind (`topology.kinds`) > `topology.defaults`.
// Scalars take the first value found along that chain; `env` and `labels` are merged key by key;
// `binds` are merged by container path, the more specific level winning; `exec` is taken whole
// from the most specific level that has one (containerlab does not concatenate exec lists).
// Ignored with a note in `ignored`: `mgmt-ipv4/6`, `mgmt` (no management network: there is no
// Docker bridge here), `ports`, `startup-config` of other kinds.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LabError, LabErrorCode } from './errors.js';

export interface Bind {
  host: string;
  container: string;
  readOnly: boolean;
}

export interface LabNode {
  name: string;
  kind: string;
  image: string;
  binds: Bind[];
  exec: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  cmd?: string;
}

export interface LabEndpoint {
  node: string;
  iface: string;
}

export interface LabLink {
  a: LabEndpoint;
  b: LabEndpoint;
  mtu: number;
}

export interface LabTopology {
  name: string;
  /** containerlab's `prefix`: undefined = "clab"; "" = bare node names. */
  prefix: string | undefined;
  /** The directory of the topology file: relative bind paths resolve against it. */
  dir: string;
  nodes: LabNode[];
  links: LabLink[];
  /** Keys we read but do not emulate, as "node.key: why". */
  ignored: string[];
}

/** containerlab's default veth MTU. */
export const DEFAULT_MTU = 9500;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(msg: string): never {
  throw new LabError(LabErrorCode.BadTopology, msg);
}

function strOf(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return bad(`${where}: expected a string`);
}

function mapOf(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) return bad(`${where}: expected a mapping`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) out[k] = strOf(val, `${where}.${k}`) ?? '';
  return out;
}

function listOf(v: unknown, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return bad(`${where}: expected a list`);
  return v.map((x, i) => strOf(x, `${where}[${i}]`) ?? bad(`${where}[${i}]: empty`));
}

export function parseBind(spec: string, dir: string, where: string): Bind {
  // host:container[:ro|rw|...]; containerlab resolves relative host paths against the file's dir.
  const parts = spec.split(':');
  if (parts.length < 2 || !parts[0] || !parts[1]) bad(`${where}: bind "${spec}" is not host:container[:opts]`);
  const host = isAbsolute(parts[0]!) ? parts[0]! : resolve(dir, parts[0]!.replace(/^~(?=\/)/, process.env.HOME ?? '~'));
  return { host, container: parts[1]!, readOnly: (parts[2] ?? '').split(',').includes('ro') };
}

const MGMT_KEYS = ['mgmt-ipv4', 'mgmt-ipv6', 'ports', 'network-mode', 'startup-delay', 'wait-for', 'stages'];

export function loadLabTopology(file: string): LabTopology {
  const text = readFileSync(file, 'utf8');
  return parseLabTopology(text, dirname(resolve(file)));
}

export function parseLabTopology(text: string, dir: string): LabTopology {
  const doc: unknown = parseYaml(text);
  if (!isObj(doc)) bad('topology file: expected a mapping');
  const name = strOf(doc.name, 'name') ?? bad('name: required');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(name)) bad(`name: "${name}" is not a valid lab name`);
  const prefix = doc.prefix === undefined ? undefined : (strOf(doc.prefix, 'prefix') ?? '');
  const topo = isObj(doc.topology) ? doc.topology : bad('topology: required mapping');
  const defaults: Obj = isObj(topo.defaults) ? topo.defaults : {};
  const kinds: Obj = isObj(topo.kinds) ? topo.kinds : {};
  const groups: Obj = isObj(topo.groups) ? topo.groups : {};
  const rawNodes: Obj = isObj(topo.nodes) ? topo.nodes : bad('topology.nodes: required mapping');
  const ignored: string[] = [];

  const nodes: LabNode[] = [];
  for (const [nodeName, raw] of Object.entries(rawNodes)) {
    const where = `topology.nodes.${nodeName}`;
    const n: Obj = raw === null || raw === undefined ? {} : isObj(raw) ? raw : bad(`${where}: expected a mapping`);
    const groupName = strOf(n.group, `${where}.group`);
    const group: Obj = groupName === undefined ? {} : isObj(groups[groupName]) ? (groups[groupName] as Obj) : bad(`${where}.group: unknown group "${groupName}"`);
    const kind = strOf(n.kind, `${where}.kind`) ?? strOf(group.kind, `topology.groups.${groupName}.kind`) ?? strOf(defaults.kind, 'topology.defaults.kind') ?? bad(`${where}: no kind`);
    const kindCfg: Obj = isObj(kinds[kind]) ? (kinds[kind] as Obj) : {};
    // Most specific first.
    const chain: Obj[] = [n, group, kindCfg, defaults];
    const first = (key: string): string | undefined => {
      for (const level of chain) {
        const v = strOf(level[key], `${where}.${key}`);
        if (v !== undefined) return v;
      }
      return undefined;
    };
    const merged = (key: string): Record<string, string> =>
      Object.assign({}, ...[...chain].reverse().map((level) => mapOf(level[key], `${where}.${key}`))) as Record<string, string>;
    const binds = new Map<string, Bind>();
    for (const level of [...chain].reverse()) {
      for (const spec of listOf(level.binds, `${where}.binds`) ?? []) {
        const b = parseBind(spec, dir, `${where}.binds`);
        binds.set(b.container, b);
      }
    }
    let exec: string[] = [];
    for (const level of chain) {
      const e = listOf(level.exec, `${where}.exec`);
      if (e !== undefined) {
        exec = e;
        break;
      }
    }
    for (const k of MGMT_KEYS) if (n[k] !== undefined) ignored.push(`${nodeName}.${k}: no management network or container runtime here`);
    const image = first('image') ?? '';
    const cmd = first('cmd');
    nodes.push({ name: nodeName, kind, image, binds: [...binds.values()], exec, env: merged('env'), labels: merged('labels'), ...(cmd !== undefined ? { cmd } : {}) });
  }

  const names = new Set(nodes.map((n) => n.name));
  const links: LabLink[] = [];
  const used = new Set<string>();
  const rawLinks = Array.isArray(topo.links) ? topo.links : topo.links === undefined ? [] : bad('topology.links: expected a list');
  rawLinks.forEach((raw: unknown, i: number) => {
    const where = `topology.links[${i}]`;
    if (!isObj(raw)) bad(`${where}: expected a mapping`);
    if (raw.type !== undefined && raw.type !== 'veth') {
      throw new LabError(LabErrorCode.Unsupported, `${where}: link type "${String(raw.type)}" is not emulated (only veth)`);
    }
    const eps = Array.isArray(raw.endpoints) ? raw.endpoints : bad(`${where}.endpoints: required list`);
    if (eps.length !== 2) bad(`${where}.endpoints: a veth has exactly two endpoints`);
    const parsed = eps.map((ep: unknown, j: number): LabEndpoint => {
      // Short form "node:iface" or the extended form {node, interface}.
      const s = typeof ep === 'string' ? ep : isObj(ep) ? `${strOf(ep.node, `${where}.endpoints[${j}].node`) ?? ''}:${strOf(ep.interface, `${where}.endpoints[${j}].interface`) ?? ''}` : '';
      const m = /^([^:\s]+):(\S+)$/.exec(s);
      if (!m) bad(`${where}.endpoints[${j}]: "${String(s)}" is not node:interface`);
      const [node, iface] = [m[1]!, m[2]!];
      if (node === 'host' || node === 'mgmt-net' || node.startsWith('macvlan')) {
        throw new LabError(LabErrorCode.Unsupported, `${where}: endpoint "${s}" (host/mgmt-net/macvlan) is not emulated`);
      }
      if (!names.has(node)) bad(`${where}.endpoints[${j}]: unknown node "${node}"`);
      if (iface.length > 15) bad(`${where}.endpoints[${j}]: interface name "${iface}" longer than 15 bytes`);
      if (used.has(s)) bad(`${where}.endpoints[${j}]: "${s}" is already used by another link`);
      used.add(s);
      return { node, iface };
    });
    const mtu = raw.mtu === undefined ? DEFAULT_MTU : typeof raw.mtu === 'number' ? raw.mtu : bad(`${where}.mtu: expected a number`);
    links.push({ a: parsed[0]!, b: parsed[1]!, mtu });
  });
  return { name, prefix, dir, nodes, links, ignored };
}

/** containerlab's container naming: `<prefix>-<lab>-<node>`, prefix "clab" by default, "" = bare. */
export function namespaceName(topo: Pick<LabTopology, 'name' | 'prefix'>, node: string): string {
  const prefix = topo.prefix ?? 'clab';
  if (prefix === '') return node;
  if (prefix === '__lab-name') return `${topo.name}-${node}`;
  return `${prefix}-${topo.name}-${node}`;
}
