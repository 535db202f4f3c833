// The agent's record of each attachment: what ADD created, so DEL/CHECK/GC can find it after a restart
// and the agent can advertise the pod's /32 and /128. One JSON file per attachment under stateDir,
// written to a temporary name and renamed so a crash never leaves half a record.
//
// Ownership: only the CNI server writes these files; per-attachment operations are serialised by the
// server's key lock, so two writers never race on one file.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CniResult } from './result.js';

export interface Attachment {
  containerId: string;
  ifname: string;
  netns: string;
  hostIf: string;
  hostMac: string;
  ctrMac: string;
  mtu: number;
  ipv4?: string;
  ipv6?: string;
  pod?: string;
  namespace?: string;
  network: string;
  /** Our result in the 1.x shape (our interfaces/IPs only), for CHECK. */
  result: CniResult;
  createdAt: string;
}

export const HOST_IF_PREFIX = 'upl';

function digest(containerId: string, ifname: string): string {
  return createHash('sha256').update(`${containerId}/${ifname}`).digest('hex');
}

/** Predictable host-side name: `upl` + 11 hex of sha256(containerID/ifname), 14 bytes (< IFNAMSIZ). */
export function hostIfName(containerId: string, ifname: string): string {
  return HOST_IF_PREFIX + digest(containerId, ifname).slice(0, 11);
}

/** Locally administered unicast MACs derived from the same hash (so a retried ADD gives the same MACs). */
export function macsFor(containerId: string, ifname: string): { hostMac: string; ctrMac: string } {
  const h = digest(containerId, ifname);
  const bytes = (off: number): string => [0, 1, 2, 3, 4].map((i) => h.slice(off + 2 * i, off + 2 * i + 2)).join(':');
  // 0xee / 0x0a: bit 1 set (locally administered), bit 0 clear (unicast), IEEE 802 §8.2.2.
  return { hostMac: `ee:${bytes(12)}`, ctrMac: `0a:${bytes(22)}` };
}

export function attachmentKey(containerId: string, ifname: string): string {
  return `${containerId}/${ifname}`;
}

export class AttachmentStore {
  private readonly byKey = new Map<string, Attachment>();

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<AttachmentStore> {
    await mkdir(dir, { recursive: true });
    const s = new AttachmentStore(dir);
    for (const f of await readdir(dir)) {
      if (!f.endsWith('.json')) continue;
      const a = JSON.parse(await readFile(join(dir, f), 'utf8')) as Attachment;
      s.byKey.set(attachmentKey(a.containerId, a.ifname), a);
    }
    return s;
  }

  private file(containerId: string, ifname: string): string {
    return join(this.dir, `${digest(containerId, ifname).slice(0, 32)}.json`);
  }

  get(containerId: string, ifname: string): Attachment | undefined {
    return this.byKey.get(attachmentKey(containerId, ifname));
  }

  all(): Attachment[] {
    return [...this.byKey.values()];
  }

  async put(a: Attachment): Promise<void> {
    const f = this.file(a.containerId, a.ifname);
    const tmp = `${f}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(a));
    await rename(tmp, f);
    this.byKey.set(attachmentKey(a.containerId, a.ifname), a);
  }

  async remove(containerId: string, ifname: string): Promise<void> {
    await rm(this.file(containerId, ifname), { force: true });
    this.byKey.delete(attachmentKey(containerId, ifname));
  }
}
