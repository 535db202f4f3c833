// The CNI DEL a runtime never sent, replayed by the agent for a pod the API server no longer has.
//
// Why: pod GC (pod-gc.ts) frees the addresses of deleted pods whose DEL was missed (kubelet crashed,
// the agent was down when kubelet tried). Freeing only the address would leave the attachment behind:
// its host veth and its /32 route (the "pods" route source) keep pointing at the old sandbox, and the
// freed address, handed to a new pod on this node, would then have two routes. So before releasing a
// handle, the agent tears down the attachment that holds it by speaking the shim's own protocol to its
// own CNI server (cni/server/protocol.ts: CNI_* lines, a blank line, the network config). DEL is the
// one command that is idempotent by the CNI spec (a missing netns, link or address is success), so
// racing a late DEL from the runtime is harmless.
import { connect } from 'node:net';
import { KubeError, KubeErrorCode } from './errors.js';

/** What the DEL needs from an attachment record (cni/server/attachments.ts `Attachment`). */
export interface DetachTarget {
  readonly containerId: string;
  readonly ifname: string;
  readonly netns: string;
  /** The CNI network name the attachment was made for (the server only tears down its own). */
  readonly network: string;
}

/** Sends CNI DEL for `a` to the CNI server on `socketPath`; throws KubeError `detach-failed` on a non-zero reply. */
export async function cniDel(socketPath: string, a: DetachTarget, timeoutMs = 10_000): Promise<void> {
  const env = [
    'CNI_COMMAND=DEL',
    `CNI_CONTAINERID=${a.containerId}`,
    `CNI_IFNAME=${a.ifname}`,
    ...(a.netns ? [`CNI_NETNS=${a.netns}`] : []),
    'CNI_PATH=/usr/lib/cni',
  ];
  const conf = JSON.stringify({ cniVersion: '1.0.0', name: a.network, type: 'uplink' });
  const reply = await new Promise<string>((resolve, reject) => {
    const sock = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => sock.destroy(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    sock.on('error', reject);
    sock.on('close', () => clearTimeout(timer));
    // The server answers after our half-close (it reads the request to its end).
    sock.end(`${env.join('\n')}\n\n${conf}`);
  }).catch((err: unknown) => {
    throw new KubeError(KubeErrorCode.DetachFailed, `CNI DEL of ${a.containerId}/${a.ifname}: ${(err as Error).message}`, { cause: err });
  });
  const nl = reply.indexOf('\n');
  const code = nl < 0 ? reply : reply.slice(0, nl);
  if (code !== '0') throw new KubeError(KubeErrorCode.DetachFailed, `CNI DEL of ${a.containerId}/${a.ifname} failed (${code}): ${reply.slice(nl + 1).trim()}`);
}
