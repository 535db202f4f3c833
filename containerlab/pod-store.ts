// The lab's record of its pods (<stateDir>/pods.json), kept apart from pods.ts so the runner's
// teardown can remove pod namespaces without importing the CNI side (which imports the runner).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killPid, netnsDelete, netnsExists, netnsPids } from './sys.js';

export interface PodRecord {
  node: string;
  name: string;
  netns: string;
  containerId: string;
  /** Addresses without prefix length, as CNI's result gave them. */
  ips: string[];
}

const podsFile = (stateDir: string): string => join(stateDir, 'pods.json');

export function listPods(stateDir: string): PodRecord[] {
  const f = podsFile(stateDir);
  if (!existsSync(f)) return [];
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as PodRecord[];
  } catch {
    return [];
  }
}

export function savePods(stateDir: string, pods: PodRecord[]): void {
  const tmp = `${podsFile(stateDir)}.${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(pods, null, 2)}\n`);
  renameSync(tmp, podsFile(stateDir));
}

/** For teardown: kill whatever runs in the pods' namespaces and delete them (no CNI: the nodes go too). */
export async function removePodNamespaces(stateDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const p of listPods(stateDir)) {
    if (!netnsExists(p.netns)) continue;
    for (const pid of netnsPids(p.netns)) await killPid(pid, 500);
    netnsDelete(p.netns);
    removed.push(p.netns);
  }
  return removed;
}

/** Forget a pod whose node lost it (its namespace is deleted, no CNI call). */
export function removePodRecord(stateDir: string, pod: PodRecord): void {
  if (netnsExists(pod.netns)) {
    netnsDelete(pod.netns);
  }
  savePods(stateDir, listPods(stateDir).filter((p) => !(p.node === pod.node && p.name === pod.name)));
}
