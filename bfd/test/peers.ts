// Real BFD peers for bfd/'s interop tests: FRR's bfdd (with its own zebra, private path space and vty
// socket, so several instances coexist) and BIRD 2's `protocol bfd`. Built on the shared peer harness
// (test/harness/peers/common.ts): run directories, readiness polling with the daemon's log, kill by PID.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import type { Netns } from '../../test/harness/netns.js';
import { chownTree, killPid, makeRunDir, OutputBuffer, readTail, removeDir, waitFor } from '../../test/harness/peers/common.js';
import { startBird, type BirdPeer } from '../../test/harness/peers/bird.js';

/** One entry of FRR's `show bfd peers json`. */
export interface FrrBfdPeer {
  peer: string;
  status: string;
  diagnostic: string;
  'remote-diagnostic': string;
  id: number;
  'remote-id': number;
  'receive-interval': number;
  'transmit-interval': number;
  'detect-multiplier': number;
  'remote-receive-interval': number;
  'remote-transmit-interval': number;
  'remote-detect-multiplier': number;
  interface?: string;
}

export class FrrBfdd {
  constructor(
    readonly ns: Netns,
    readonly runDir: string,
    readonly zebra: ChildProcess,
    readonly bfdd: ChildProcess,
    private readonly out: OutputBuffer,
  ) {}

  log(): string {
    return `${readTail(join(this.runDir, 'bfdd.log'))}\n${this.out.text()}`;
  }

  vtysh(...commands: string[]): string {
    const args = ['--vty_socket', this.runDir, '-d', 'bfdd'];
    for (const c of commands) args.push('-c', c);
    return execFileSync('vtysh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  peers(): FrrBfdPeer[] {
    return JSON.parse(this.vtysh('show bfd peers json')) as FrrBfdPeer[];
  }

  peer(addr: string): FrrBfdPeer | undefined {
    return this.peers().find((p) => p.peer === addr);
  }

  async stop(): Promise<void> {
    await killPid(this.bfdd.pid, 500);
    await killPid(this.zebra.pid, 500);
    removeDir(this.runDir);
  }
}

export async function startFrrBfdd(ns: Netns, config: string): Promise<FrrBfdd> {
  const dir = makeRunDir('frrbfd');
  ns.onDestroy(() => removeDir(dir));
  writeFileSync(join(dir, 'zebra.conf'), '');
  writeFileSync(join(dir, 'bfdd.conf'), config);
  writeFileSync(join(dir, 'vtysh.conf'), '');
  const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
  chownTree(dir, uid, gid);
  const common = (name: string): string[] => [
    '-i', join(dir, `${name}.pid`),
    '-z', join(dir, 'zserv.api'),
    '--vty_socket', dir,
    '-P', '0',
    '--log', `file:${join(dir, `${name}.log`)}`,
  ];
  const zebra = ns.spawn('/usr/lib/frr/zebra', ['-f', join(dir, 'zebra.conf'), ...common('zebra')]);
  const zout = new OutputBuffer(zebra);
  await waitFor(
    'frr zebra',
    () => {
      execFileSync('vtysh', ['--vty_socket', dir, '-d', 'zebra', '-c', 'show version'], { stdio: 'ignore' });
      return true;
    },
    { describe: () => `${readTail(join(dir, 'zebra.log'))}\n${zout.text()}`, child: zebra },
  );
  // bfdd's data-plane control socket defaults to a system path; give each instance its own.
  const bfdd = ns.spawn('/usr/lib/frr/bfdd', ['-f', join(dir, 'bfdd.conf'), '--bfdctl', join(dir, 'bfdd.sock'), ...common('bfdd')]);
  const out = new OutputBuffer(bfdd);
  const peer = new FrrBfdd(ns, dir, zebra, bfdd, out);
  await waitFor(
    'frr bfdd answers vtysh',
    () => {
      peer.vtysh('show bfd peers json');
      return true;
    },
    { describe: () => peer.log(), child: bfdd },
  );
  return peer;
}

/** One session as BIRD's `show bfd sessions` prints it. */
export interface BirdBfdSession {
  address: string;
  interface: string;
  state: string;
  since: string;
  intervalMs: number;
  timeoutMs: number;
}

export function birdBfdSessions(bird: BirdPeer, protocol = 'bfd1'): BirdBfdSession[] {
  // Columns: IP address, Interface, State, Since (one or two words), Interval, Timeout.
  const lines = bird.birdc(`show bfd sessions ${protocol}`).split('\n');
  const out: BirdBfdSession[] = [];
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^[0-9a-f.:]+$/i.test(f[0]!) || !f[0]!.match(/[.:]/)) continue;
    const interval = Number(f[f.length - 2]);
    const timeout = Number(f[f.length - 1]);
    if (Number.isNaN(interval) || Number.isNaN(timeout)) continue;
    out.push({
      address: f[0]!,
      interface: f[1]!,
      state: f[2]!,
      since: f.slice(3, -2).join(' '),
      intervalMs: interval * 1000,
      timeoutMs: timeout * 1000,
    });
  }
  return out;
}

export { startBird, type BirdPeer };
