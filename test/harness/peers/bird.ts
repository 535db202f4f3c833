// BIRD 2.0 (Debian `bird2`) in a Netns: its own control socket (-s), config (-c) and pid file (-P),
// run in the foreground (-f) so the spawned PID is the daemon's. Queried with `birdc -s`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import type { Netns } from '../netns.js';
import { killPid, makeRunDir, OutputBuffer, PeerError, PeerErrorCode, readTail, readyOrCleanup, removeDir, waitFor, type Peer } from './common.js';

export interface BirdOptions {
  /** bird.conf text. A `log "<runDir>/bird.log" all;` line is prepended unless the config has a `log` line. */
  config: string;
  timeoutMs?: number;
}

export class BirdPeer implements Peer {
  readonly kind = 'bird' as const;
  constructor(
    readonly ns: Netns,
    readonly runDir: string,
    private readonly child: ChildProcess,
    private readonly out: OutputBuffer,
  ) {}

  get socket(): string {
    return join(this.runDir, 'bird.ctl');
  }

  log(): string {
    return `${readTail(join(this.runDir, 'bird.log'))}\n${this.out.text()}`;
  }

  /** `birdc -s sock <command>`; returns stdout (BIRD's CLI has no JSON output). */
  birdc(command: string): string {
    try {
      return execFileSync('birdc', ['-s', this.socket, ...command.split(/\s+/)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new PeerError(PeerErrorCode.Query, `birdc ${command}: ${e.stderr || e.stdout || e.message}`, { cause: err });
    }
  }

  /** The BGP state of protocol `name` as `show protocols` prints it ("Established", "Active", ...). */
  protocolState(name: string): string | undefined {
    const out = this.birdc(`show protocols ${name}`);
    const line = out.split('\n').find((l) => l.startsWith(`${name} `));
    // Columns: Name Proto Table State Since Info; Info is the BGP state for BGP protocols.
    return line?.trim().split(/\s+/).slice(5).join(' ') || undefined;
  }

  async waitState(protocol: string, state = 'Established', timeoutMs = 30_000): Promise<void> {
    await waitFor(`bird protocol ${protocol} ${state}`, () => (this.protocolState(protocol) === state ? true : undefined), {
      timeoutMs,
      describe: () => this.log(),
    });
  }

  async stop(opts: { cleanup?: boolean } = {}): Promise<void> {
    await killPid(this.child.pid);
    if (opts.cleanup) removeDir(this.runDir);
  }
}

export async function startBird(ns: Netns, opts: BirdOptions): Promise<BirdPeer> {
  const dir = makeRunDir('bird');
  ns.onDestroy(() => removeDir(dir));
  const conf = join(dir, 'bird.conf');
  const logLine = /^\s*log\s/m.test(opts.config) ? '' : `log "${join(dir, 'bird.log')}" all;\n`;
  writeFileSync(conf, logLine + opts.config);
  const child = ns.spawn('bird', ['-f', '-c', conf, '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid')]);
  const out = new OutputBuffer(child);
  const peer = new BirdPeer(ns, dir, child, out);
  await readyOrCleanup(waitFor(
    'bird answers birdc',
    () => {
      peer.birdc('show status');
      return true;
    },
    { timeoutMs: opts.timeoutMs ?? 20_000, describe: () => peer.log(), child },

  ), () => peer.stop({ cleanup: true }));
  return peer;
}
