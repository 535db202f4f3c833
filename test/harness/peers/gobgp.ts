// GoBGP 3.x (Debian `gobgpd`) in a Netns: a TOML/YAML config and its own gRPC API address on
// 127.0.0.1 inside the namespace (so instances in different namespaces never clash), queried with
// the `gobgp` CLI run in the same namespace.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from '../netns.js';
import { killPid, makeRunDir, OutputBuffer, PeerError, PeerErrorCode, readyOrCleanup, removeDir, waitFor, type Peer } from './common.js';

export interface GobgpOptions {
  /** gobgpd configuration text. */
  config: string;
  /** 'toml' (default), 'yaml' or 'json'. */
  configType?: 'toml' | 'yaml' | 'json';
  /** gRPC port on 127.0.0.1 inside the namespace, default 50051. */
  apiPort?: number;
  timeoutMs?: number;
}

export class GobgpPeer implements Peer {
  readonly kind = 'gobgp' as const;
  constructor(
    readonly ns: Netns,
    readonly runDir: string,
    readonly apiPort: number,
    private readonly child: ChildProcess,
    private readonly out: OutputBuffer,
  ) {}

  log(): string {
    return this.out.text();
  }

  /** Run the `gobgp` CLI against this instance, e.g. gobgp('neighbor'); returns stdout. */
  gobgp(...args: string[]): string {
    try {
      return this.ns.exec('gobgp', ['-u', '127.0.0.1', '-p', String(this.apiPort), ...args]);
    } catch (err) {
      throw new PeerError(PeerErrorCode.Query, `gobgp ${args.join(' ')}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** `gobgp ... -j`, parsed. */
  gobgpJson<T = unknown>(...args: string[]): T {
    const out = this.gobgp(...args, '-j');
    try {
      return JSON.parse(out) as T;
    } catch (err) {
      throw new PeerError(PeerErrorCode.Query, `gobgp ${args.join(' ')} -j: not JSON: ${out.slice(0, 200)}`, { cause: err });
    }
  }

  /** The neighbor's session state ("established", "active", ...) as GoBGP reports it. */
  neighborState(address: string): string | undefined {
    const j = this.gobgpJson<{ state?: { session_state?: number | string } }>('neighbor', address);
    const s = j.state?.session_state;
    // The API enum: 1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established.
    const names = ['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'];
    return typeof s === 'number' ? names[s] : s;
  }

  async waitState(address: string, state = 'established', timeoutMs = 30_000): Promise<void> {
    await waitFor(`gobgp neighbor ${address} ${state}`, () => (this.neighborState(address) === state ? true : undefined), {
      timeoutMs,
      describe: () => this.log(),
    });
  }

  async stop(opts: { cleanup?: boolean } = {}): Promise<void> {
    await killPid(this.child.pid);
    if (opts.cleanup) removeDir(this.runDir);
  }
}

export async function startGobgp(ns: Netns, opts: GobgpOptions): Promise<GobgpPeer> {
  const dir = makeRunDir('gobgp');
  ns.onDestroy(() => removeDir(dir));
  const type = opts.configType ?? 'toml';
  const conf = join(dir, `gobgpd.${type}`);
  writeFileSync(conf, opts.config);
  const port = opts.apiPort ?? 50051;
  const child = ns.spawn('gobgpd', ['-f', conf, '-t', type, '-p', '--api-hosts', `127.0.0.1:${port}`, '--pprof-disable']);
  const out = new OutputBuffer(child);
  const peer = new GobgpPeer(ns, dir, port, child, out);
  await readyOrCleanup(waitFor(
    'gobgpd answers gobgp',
    () => {
      peer.gobgp('global');
      return true;
    },
    { timeoutMs: opts.timeoutMs ?? 20_000, describe: () => peer.log(), child },

  ), () => peer.stop({ cleanup: true }));
  return peer;
}
