// What an agent node leaves on the host: uplinkd's state directory, its sockets and FIB lock, and
// the embedded datastore file. The namespace lab has no mount namespaces, so these live on the
// host's filesystem; `down` reads them from each agent's bound config and removes them, so a lab
// that is taken down and brought up again starts from an empty datastore.
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse } from 'yaml';
import type { LabNode } from './clab-file.js';
import { DEFAULT_AGENTS, type AgentLaunch } from './roles.js';

export interface AgentPaths {
  config: string;
  stateDir?: string;
  controlSocket?: string;
  cniSocket?: string;
  lockFile?: string;
  /** The embedded datastore file (absent for etcd/Kubernetes). */
  datastore?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const sub = (o: Record<string, unknown>, k: string): Record<string, unknown> => {
  const v = o[k];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
};

/** The host path of the agent config bound into `node`, or undefined for a node without one. */
export function agentConfigFile(node: LabNode, agents: AgentLaunch[] = DEFAULT_AGENTS): string | undefined {
  const paths = new Set(agents.map((a) => a.configPath));
  return node.binds.find((b) => paths.has(b.container))?.host;
}

export function agentPaths(configFile: string): AgentPaths {
  const cfg = (parse(readFileSync(configFile, 'utf8')) ?? {}) as Record<string, unknown>;
  const stateDir = str(cfg.stateDir);
  const ds = sub(cfg, 'datastore');
  const kind = str(ds.type) ?? str(ds.kind) ?? 'embedded';
  // uplinkd's default (uplinkd/config.ts): the embedded store lives in the state directory.
  const datastore = kind === 'embedded' ? (str(ds.path) ?? (stateDir ? `${stateDir}/uplink.db` : undefined)) : undefined;
  const out: AgentPaths = { config: configFile };
  const set = <K extends keyof AgentPaths>(k: K, v: AgentPaths[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('stateDir', stateDir);
  set('controlSocket', str(sub(cfg, 'control').socket));
  set('cniSocket', str(sub(cfg, 'cni').socket));
  set('lockFile', str(sub(cfg, 'routes').lockFile));
  set('datastore', datastore);
  return out;
}

function rmdirIfEmpty(dir: string, levels: number): void {
  for (let d = dir, i = 0; i < levels && d !== '/' && d !== '.'; i++, d = dirname(d)) {
    try {
      if (readdirSync(d).length > 0) return;
      rmdirSync(d);
    } catch {
      return;
    }
  }
}

/** Remove an agent's files (call after its process is gone). Returns the paths removed. */
export function removeAgentState(p: AgentPaths): string[] {
  const removed: string[] = [];
  const files = [p.controlSocket, p.cniSocket, p.lockFile, ...(p.datastore ? [p.datastore, `${p.datastore}-wal`, `${p.datastore}-shm`, `${p.datastore}-journal`] : [])];
  for (const f of [p.stateDir, ...files]) {
    if (f === undefined || !existsSync(f)) continue;
    rmSync(f, { recursive: true, force: true });
    removed.push(f);
  }
  // The generated layout is <root>/<node>/{state,run} and <root>/uplink.db: drop the emptied dirs.
  for (const f of [p.stateDir, ...files]) if (f !== undefined) rmdirIfEmpty(dirname(f), 2);
  return removed;
}
