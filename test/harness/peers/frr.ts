// FRR 8.4 (Debian `frr`): zebra + bgpd started in a Netns with a private path space, so several
// instances run side by side. Every socket, pid file and log lives in the instance's run directory:
// `-z` zserv socket, `--vty_socket` directory for vtysh, `-i` pid files, `-P 0` (no vty TCP port).
// The daemons drop privileges to the `frr` user, so the run directory is chowned to it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import type { Netns } from '../netns.js';
import { chownTree, killPid, makeRunDir, OutputBuffer, PeerError, PeerErrorCode, readTail, readyOrCleanup, removeDir, waitFor, type Peer } from './common.js';

const FRR_LIBEXEC = '/usr/lib/frr';

export interface FrrOptions {
  /** bgpd configuration text (frr.conf syntax: `router bgp ...`). */
  config: string;
  /** zebra configuration text; defaults to empty (interfaces come from the kernel). */
  zebraConfig?: string;
  /** readiness timeout, default 20 s. */
  timeoutMs?: number;
  /** extra bgpd arguments, e.g. ['-p', '1179'] for another listen port. */
  bgpdArgs?: string[];
}

function frrIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export class FrrPeer implements Peer {
  readonly kind = 'frr' as const;
  constructor(
    readonly ns: Netns,
    readonly runDir: string,
    private readonly zebra: ChildProcess,
    private readonly bgpd: ChildProcess,
    private readonly out: { zebra: OutputBuffer; bgpd: OutputBuffer },
  ) {}

  get bgpdLogPath(): string {
    return join(this.runDir, 'bgpd.log');
  }

  log(): string {
    return `${readTail(this.bgpdLogPath)}\n${this.out.bgpd.text()}\n--- zebra ---\n${readTail(join(this.runDir, 'zebra.log'), 1500)}${this.out.zebra.text()}`;
  }

  /** Run vtysh commands against this instance's bgpd/zebra; returns stdout. */
  vtysh(...commands: string[]): string {
    const args = ['--vty_socket', this.runDir];
    for (const c of commands) args.push('-c', c);
    try {
      return execFileSync('vtysh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new PeerError(PeerErrorCode.Query, `vtysh ${commands.join(' ; ')}: ${e.stderr || e.stdout || e.message}`, { cause: err });
    }
  }

  /** A `show ... json` command, parsed. */
  vtyshJson<T = Record<string, unknown>>(command: string): T {
    const out = this.vtysh(command);
    try {
      return JSON.parse(out) as T;
    } catch (err) {
      throw new PeerError(PeerErrorCode.Query, `vtysh ${command}: not JSON: ${out.slice(0, 200)}`, { cause: err });
    }
  }

  /** Apply configuration lines in `configure terminal` mode, e.g. ['router bgp 65001', 'neighbor X shutdown']. */
  configure(lines: string[]): string {
    return this.vtysh('configure terminal', ...lines);
  }

  /** Wait until `neighbor` (address or interface name) reaches `state` (default Established). */
  async waitState(neighbor: string, state = 'Established', timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `frr neighbor ${neighbor} ${state}`,
      () => {
        const j = this.vtyshJson<Record<string, { bgpState?: string }>>(`show bgp neighbors ${neighbor} json`);
        return j[neighbor]?.bgpState === state ? true : undefined;
      },
      { timeoutMs, describe: () => this.log() },
    );
  }

  async stop(opts: { cleanup?: boolean } = {}): Promise<void> {
    await killPid(this.bgpd.pid);
    await killPid(this.zebra.pid);
    if (opts.cleanup) removeDir(this.runDir);
  }
}

export async function startFrr(ns: Netns, opts: FrrOptions): Promise<FrrPeer> {
  const dir = makeRunDir('frr');
  ns.onDestroy(() => removeDir(dir));
  const zconf = join(dir, 'zebra.conf');
  const bconf = join(dir, 'bgpd.conf');
  writeFileSync(zconf, opts.zebraConfig ?? '');
  writeFileSync(bconf, opts.config);
  writeFileSync(join(dir, 'vtysh.conf'), '');
  const { uid, gid } = frrIds();
  chownTree(dir, uid, gid);
  const common = (name: string): string[] => [
    '-i', join(dir, `${name}.pid`),
    '-z', join(dir, 'zserv.api'),
    '--vty_socket', dir,
    '-P', '0',
    '--log', `file:${join(dir, `${name}.log`)}`,
  ];
  // Foreground (no -d): `ip netns exec` execs the daemon, so the spawned PID is the daemon's own and
  // the Netns kills it on destroy().
  const zebra = ns.spawn(`${FRR_LIBEXEC}/zebra`, ['-f', zconf, ...common('zebra')]);
  const zout = new OutputBuffer(zebra);
  const peerDescribe = (): string => `${readTail(join(dir, 'zebra.log'))}\n${zout.text()}`;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  // bgpd connects to zebra's zserv socket at start; zebra must be listening first.
  await readyOrCleanup(
    waitFor('frr zebra', () => (zebraReady(dir) ? true : undefined), { timeoutMs, describe: peerDescribe, child: zebra }),
    async () => {
      await killPid(zebra.pid);
      removeDir(dir);
    },
  );
  const bgpd = ns.spawn(`${FRR_LIBEXEC}/bgpd`, ['-f', bconf, ...common('bgpd'), ...(opts.bgpdArgs ?? [])]);
  const bout = new OutputBuffer(bgpd);
  const peer = new FrrPeer(ns, dir, zebra, bgpd, { zebra: zout, bgpd: bout });
  await readyOrCleanup(waitFor(
    'frr bgpd answers vtysh',
    () => {
      execFileSync('vtysh', ['--vty_socket', dir, '-d', 'bgpd', '-c', 'show bgp summary json'], { stdio: 'pipe' });
      return true;
    },
    { timeoutMs, describe: () => peer.log(), child: bgpd },
  ), () => peer.stop({ cleanup: true }));
  return peer;
}

function zebraReady(dir: string): boolean {
  try {
    execFileSync('vtysh', ['--vty_socket', dir, '-d', 'zebra', '-c', 'show version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
