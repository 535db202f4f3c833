// A BIRD node: bird2 in the node's namespace, config from the file bound at a path ending in
// `bird.conf` (the bird images use /etc/bird/bird.conf or /etc/bird.conf), control socket in the
// node's private dir so `birdc -s` reaches this instance and no other.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LabNode } from './clab-file.js';
import { LabError, LabErrorCode } from './errors.js';
import { pidAlive, pidNetns, run, startInNetns, tail, waitUntil } from './sys.js';
import type { ProcRecord } from './state.js';

export const birdSocket = (dir: string): string => join(dir, 'bird.ctl');

export async function startBirdNode(node: LabNode, ns: string, dir: string, record: (p: ProcRecord) => void, timeoutMs = 15_000, signal?: AbortSignal): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const bind = node.binds.find((b) => b.container.endsWith('bird.conf'));
  if (!bind) throw new LabError(LabErrorCode.BadTopology, `${node.name}: a BIRD node needs a bind to .../bird.conf`);
  if (!existsSync(bind.host)) throw new LabError(LabErrorCode.BadTopology, `${node.name}: bound file ${bind.host} does not exist`);
  const conf = join(dir, 'bird.conf');
  copyFileSync(bind.host, conf);
  // Parse check first: a syntax error should name the file, not time out.
  run('bird', ['-p', '-c', conf]);
  const log = join(dir, 'bird.out');
  const pid = startInNetns(ns, 'bird', ['-f', '-c', conf, '-s', birdSocket(dir), '-P', join(dir, 'bird.pid')], log);
  const hostNs = pidNetns(process.pid);
  let netnsId = '';
  await waitUntil(`${node.name} bird entered ${ns}`, () => {
    const id = pidNetns(pid);
    if (id !== undefined && id !== hostNs) netnsId = id;
    return netnsId !== '' || !pidAlive(pid);
  }, 5000);
  record({ name: 'bird', pid, netnsId, log });
  await waitUntil(`${node.name}: bird answers birdc`, () => {
    if (!pidAlive(pid)) throw new LabError(LabErrorCode.Daemon, `${node.name}: bird exited\n${tail(log)}`);
    return run('birdc', ['-s', birdSocket(dir), 'show', 'status'], { allowFail: true }).includes('Daemon is up');
  }, timeoutMs, () => tail(log), signal);
}
