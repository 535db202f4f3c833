// The lab's on-disk record: what `up` made (namespaces, links, processes by PID), written after
// every step so `down` — or the next `up` after a crash or Ctrl-C — can remove exactly that.
// Ownership: one runner process changes a lab at a time — `up` and `down` hold `<stateDir>.lock`
// (the PID of the holder; a lock whose holder is dead is taken over). `status`/`exec` only read.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabLink } from './clab-file.js';
import { LabError, LabErrorCode } from './errors.js';
import { pidAlive } from './sys.js';

export const NodeRole = {
  Frr: 'frr',
  Bird: 'bird',
  Agent: 'agent',
  Plain: 'plain',
} as const;
export type NodeRole = (typeof NodeRole)[keyof typeof NodeRole];

export interface ProcRecord {
  /** daemon name ("zebra", "bgpd", "bird", "agent"). */
  name: string;
  pid: number;
  /** /proc/PID/ns/net at start: a recycled PID in another namespace is never ours. */
  netnsId: string;
  log: string;
  /**
   * One process hosts the agents of several nodes (`up --shared-agents`): the same PID is recorded on
   * each of them, and a signal to it reaches them all, so one node's agent cannot be stopped by PID.
   */
  shared?: boolean;
}

export interface NodeState {
  name: string;
  netns: string;
  role: NodeRole;
  /** Private per-node directory (FRR path space, BIRD socket, logs). */
  dir: string;
  procs: ProcRecord[];
  /** Daemons listed in the node's `daemons` file that this FRR build does not have. */
  skipped: string[];
  execDone: boolean;
}

export interface LabState {
  lab: string;
  file: string;
  /** sha256 of the topology file and every bound file: a changed input means rebuild. */
  hash: string;
  complete: boolean;
  nodes: Record<string, NodeState>;
  links: LabLink[];
  ignored: string[];
  /** Built with every agent in one process (`up --shared-agents`). */
  sharedAgents?: boolean;
}

export const defaultStateDir = (lab: string): string => `/run/uplink-lab/${lab}`;

export function readState(dir: string): LabState | undefined {
  const f = join(dir, 'state.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as LabState;
  } catch {
    // A torn write cannot happen (rename below), but a hand-edited file can: treat as unknown.
    return undefined;
  }
}

export function writeState(dir: string, state: LabState): void {
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `state.json.${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, join(dir, 'state.json'));
}

/** Take the lab's lock or throw LAB_BUSY naming the holder; returns the release function. */
export function acquireLock(stateDir: string): () => void {
  const file = `${stateDir.replace(/\/+$/, '')}.lock`;
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (holder > 0 && pidAlive(holder)) throw new LabError(LabErrorCode.Busy, `lab is being changed by pid ${holder} (${file})`);
      rmSync(file, { force: true });
    }
  }
  throw new LabError(LabErrorCode.Busy, `could not take ${file}`);
}
