// uplinkd's configuration file (YAML). The BGP keys (routerId, asn, listen, peers, listenRanges,
// advertise, policies) are parsed by bgpd/config.ts; this file owns the agent-level keys. Every error
// names the key it is about, and unknown keys are errors (a typo must not silently change behaviour).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse } from 'yaml';
import type { DatastoreConfig, IpPool } from '../ipam/index.js';
import {
  ConfigError, arr, bool, noExtraKeys, obj, oneOf, optInt, optObj, optStr, str, type Obj,
} from '../lib/config-check.js';

// Must match the keys bgpd/config.ts parseBgpConfig accepts (it rejects unknown ones itself).
export const BGP_KEYS = [
  'routerId', 'asn', 'listen', 'holdTime', 'connectRetry', 'gracefulRestart', 'maxPaths', 'multipathRelax', 'clusterId',
  'peers', 'listenRanges', 'advertise', 'importPools', 'importAllow', 'policies', 'bfd',
] as const;
const AGENT_KEYS = ['nodeName', 'nodeLabels', 'netns', 'stateDir', 'datastore', 'pools', 'cni', 'routes', 'control', 'metrics', 'log', 'bgp', 'kubernetes', 'explain'] as const;

export interface AgentConfig {
  nodeName: string;
  nodeLabels: Record<string, string>;
  /**
   * The node's network namespace (a path such as /var/run/netns/x or /proc/PID/ns/net); absent = the
   * process's own. Every socket and netlink request of the agent is made there, so one process can host
   * the agents of many simulated nodes (uplinkd --config a.yaml --config b.yaml, uplinkd/agent-group.ts).
   */
  netns?: string;
  /** Where the agent keeps attachment records and the embedded datastore by default. */
  stateDir: string;
  datastore: DatastoreConfig;
  /** Pools to create when absent (the lab and single-host installs; clusters manage them with CRDs). */
  pools: IpPool[];
  /**
   * shutdownGraceSeconds: on SIGTERM, how long CNI ADDs in flight may take to finish before they are
   * rolled back (their callers get CNI error 11). Optional so hand-built configs need not know it
   * (absent = 10); keep it below the pod's terminationGracePeriodSeconds.
   */
  cni: { enabled: boolean; socket: string; sweepIntervalSeconds: number; shutdownGraceSeconds?: number };
  routes: { enabled: boolean; table: number; resyncIntervalSeconds: number; staleTimeoutSeconds: number; lockFile: string };
  /** statusIntervalSeconds: how often the agent publishes its status record (TTL = 3x). */
  control: { socket: string; statusIntervalSeconds: number };
  metrics: { listen: string | null };
  logLevel: string;
  /**
   * Pod-list IPAM GC (datastore: kubernetes only): how often it runs and how long a pod must be missing
   * from the API server before its addresses are released (uplinkd/kube/pod-gc.ts explains the grace).
   * Optional so code that builds an AgentConfig by hand need not know it; absent = the defaults.
   */
  kubernetes?: { podGcIntervalSeconds: number; podGcGraceSeconds: number };
  /**
   * `uplinkctl explain`: routeRefresh false = never send ROUTE-REFRESH to ask a peer whether it took
   * our route (each one makes the peer resend its table); refreshCacheSeconds = reuse a peer's answer
   * this long; ownerTimeoutSeconds = how long to wait for the owner node's agent to answer through the
   * datastore. Optional like `kubernetes`; absent = the defaults (true, 30, 12).
   */
  explain?: { routeRefresh: boolean; refreshCacheSeconds: number; ownerTimeoutSeconds: number };
  /** The BGP part, still raw: bgpd/config.ts validates it (undefined = BGP disabled). */
  bgp: Obj | undefined;
  /** Where this config came from, for reload. */
  file: string | undefined;
}

export function loadAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(file, `not valid YAML: ${(err as Error).message}`);
  }
  const cfg = parseAgentConfig(doc ?? {});
  cfg.file = file;
  return cfg;
}

export function parseAgentConfig(doc: unknown): AgentConfig {
  const root = obj(doc, '(top level)');
  noExtraKeys(root, '', [...AGENT_KEYS, ...BGP_KEYS]);
  const nodeName = optStr(root.nodeName, 'nodeName', process.env.UPLINK_NODE_NAME ?? hostname());
  const stateDir = optStr(root.stateDir, 'stateDir', '/var/lib/uplink');

  const labels = optObj(root, 'nodeLabels', 'nodeLabels');
  const nodeLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) nodeLabels[k] = str(v, `nodeLabels.${k}`);

  const cniO = optObj(root, 'cni', 'cni');
  noExtraKeys(cniO, 'cni', ['enabled', 'socket', 'sweepIntervalSeconds', 'shutdownGraceSeconds']);
  const routesO = optObj(root, 'routes', 'routes');
  noExtraKeys(routesO, 'routes', ['enabled', 'table', 'resyncIntervalSeconds', 'staleTimeoutSeconds', 'lockFile']);
  const controlO = optObj(root, 'control', 'control');
  noExtraKeys(controlO, 'control', ['socket', 'statusIntervalSeconds']);
  const metricsO = optObj(root, 'metrics', 'metrics');
  noExtraKeys(metricsO, 'metrics', ['listen']);
  const kubeO = optObj(root, 'kubernetes', 'kubernetes');
  noExtraKeys(kubeO, 'kubernetes', ['podGcIntervalSeconds', 'podGcGraceSeconds']);
  const explainO = optObj(root, 'explain', 'explain');
  noExtraKeys(explainO, 'explain', ['routeRefresh', 'refreshCacheSeconds', 'ownerTimeoutSeconds']);
  const logO = optObj(root, 'log', 'log');
  noExtraKeys(logO, 'log', ['level']);

  // BGP keys may sit at the top level (the documented form) or under `bgp:`; not both.
  let bgp: Obj | undefined;
  const topBgp = BGP_KEYS.filter((k) => root[k] !== undefined);
  if (root.bgp !== undefined) {
    if (topBgp.length) throw new ConfigError(topBgp[0]!, 'BGP keys are given both at the top level and under bgp:');
    bgp = obj(root.bgp, 'bgp');
  } else if (topBgp.length) {
    bgp = Object.fromEntries(topBgp.map((k) => [k, root[k]]));
  }

  const netns = root.netns === undefined || root.netns === null ? undefined : netnsPath(str(root.netns, 'netns'));
  return {
    nodeName,
    nodeLabels,
    ...(netns !== undefined ? { netns } : {}),
    stateDir,
    datastore: parseDatastore(root.datastore, stateDir),
    pools: arr(root.pools, 'pools').map((p, i) => parsePool(p, `pools[${i}]`)),
    cni: {
      enabled: bool(cniO.enabled, 'cni.enabled', true),
      socket: optStr(cniO.socket, 'cni.socket', '/run/uplink/cni.sock'),
      sweepIntervalSeconds: optInt(cniO.sweepIntervalSeconds, 'cni.sweepIntervalSeconds', 0, 86_400, 60),
      shutdownGraceSeconds: optInt(cniO.shutdownGraceSeconds, 'cni.shutdownGraceSeconds', 0, 600, 10),
    },
    routes: {
      enabled: bool(routesO.enabled, 'routes.enabled', true),
      table: optInt(routesO.table, 'routes.table', 1, 0xfffffffe, 254),
      resyncIntervalSeconds: optInt(routesO.resyncIntervalSeconds, 'routes.resyncIntervalSeconds', 1, 86_400, 60),
      staleTimeoutSeconds: optInt(routesO.staleTimeoutSeconds, 'routes.staleTimeoutSeconds', 1, 3600, 120),
      lockFile: optStr(routesO.lockFile, 'routes.lockFile', '/run/uplink/fib.lock'),
    },
    control: {
      socket: optStr(controlO.socket, 'control.socket', '/run/uplink/control.sock'),
      statusIntervalSeconds: optInt(controlO.statusIntervalSeconds, 'control.statusIntervalSeconds', 1, 300, 10),
    },
    metrics: { listen: metricsO.listen === null || metricsO.listen === '' ? null : optStr(metricsO.listen, 'metrics.listen', '127.0.0.1:9641') },
    kubernetes: {
      podGcIntervalSeconds: optInt(kubeO.podGcIntervalSeconds, 'kubernetes.podGcIntervalSeconds', 1, 86_400, 30),
      podGcGraceSeconds: optInt(kubeO.podGcGraceSeconds, 'kubernetes.podGcGraceSeconds', 0, 86_400, 120),
    },
    explain: {
      routeRefresh: bool(explainO.routeRefresh, 'explain.routeRefresh', true),
      refreshCacheSeconds: optInt(explainO.refreshCacheSeconds, 'explain.refreshCacheSeconds', 0, 3600, 30),
      ownerTimeoutSeconds: optInt(explainO.ownerTimeoutSeconds, 'explain.ownerTimeoutSeconds', 1, 25, 12),
    },
    logLevel: oneOf(logO.level, 'log.level', ['trace', 'debug', 'info', 'warn', 'error'] as const, 'info'),
    bgp,
    file: undefined,
  };
}

/** `ip netns` names live under /var/run/netns; anything with a slash is a path already. */
function netnsPath(v: string): string {
  if (v === '') throw new ConfigError('netns', 'must be a namespace name or path, not empty');
  return v.includes('/') ? v : `/var/run/netns/${v}`;
}

function parseDatastore(v: unknown, stateDir: string): DatastoreConfig {
  if (v === undefined || v === null) return { kind: 'embedded', path: `${stateDir}/uplink.db` };
  const o = obj(v, 'datastore');
  const kind = oneOf(o.type ?? o.kind, 'datastore.type', ['embedded', 'etcd', 'kubernetes'] as const);
  if (kind === 'embedded') {
    noExtraKeys(o, 'datastore', ['type', 'kind', 'path']);
    return { kind, path: optStr(o.path, 'datastore.path', `${stateDir}/uplink.db`) };
  }
  if (kind === 'etcd') {
    noExtraKeys(o, 'datastore', ['type', 'kind', 'endpoints', 'prefix', 'requestTimeoutMs']);
    const endpoints = arr(o.endpoints, 'datastore.endpoints').map((e, i) => str(e, `datastore.endpoints[${i}]`));
    if (!endpoints.length) throw new ConfigError('datastore.endpoints', 'etcd needs at least one endpoint');
    return {
      kind, endpoints,
      prefix: optStr(o.prefix, 'datastore.prefix', '/uplink/'),
      requestTimeoutMs: optInt(o.requestTimeoutMs, 'datastore.requestTimeoutMs', 10, 600_000, 3000),
    };
  }
  noExtraKeys(o, 'datastore', ['type', 'kind', 'kubeconfig', 'namespace']);
  const k: { kind: 'kubernetes'; kubeconfig?: string; namespace?: string } = { kind };
  if (o.kubeconfig !== undefined) k.kubeconfig = str(o.kubeconfig, 'datastore.kubeconfig');
  if (o.namespace !== undefined) k.namespace = str(o.namespace, 'datastore.namespace');
  return k;
}

function parsePool(v: unknown, key: string): IpPool {
  const o = obj(v, key);
  noExtraKeys(o, key, ['name', 'cidr', 'blockSize', 'nodeSelector', 'disabled', 'strictAffinity']);
  const cidr = str(o.cidr, `${key}.cidr`);
  const v6 = cidr.includes(':');
  const pool: { -readonly [K in keyof IpPool]: IpPool[K] } = {
    name: str(o.name, `${key}.name`),
    cidr,
    blockSize: optInt(o.blockSize, `${key}.blockSize`, v6 ? 64 : 8, v6 ? 128 : 32, v6 ? 122 : 26),
  };
  if (o.nodeSelector !== undefined) pool.nodeSelector = str(o.nodeSelector, `${key}.nodeSelector`);
  if (o.disabled !== undefined) pool.disabled = bool(o.disabled, `${key}.disabled`, false);
  if (o.strictAffinity !== undefined) pool.strictAffinity = bool(o.strictAffinity, `${key}.strictAffinity`, false);
  return pool;
}

