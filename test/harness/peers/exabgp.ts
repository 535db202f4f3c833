// ExaBGP 4.2 (Debian `exabgp`) in a Netns. Its environment points every path at the instance's run
// directory and turns off the named-pipe CLI. A small API process (written into the run directory)
// forwards lines appended to `commands` to ExaBGP (announce/withdraw, ExaBGP's API syntax) and
// appends every JSON message ExaBGP hands it to `received.ndjson`.
// Config: reference the process as `api-process` from each neighbor, e.g.
//   neighbor 10.0.0.1 { ...; api { processes [ api-process ]; neighbor-changes; receive { parsed; update; notification; open; } } }
// and leave out the `process api-process { ... }` block: startExabgp() adds it.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from '../netns.js';
import { killPid, makeRunDir, OutputBuffer, PeerError, PeerErrorCode, readyOrCleanup, removeDir, waitFor, type Peer } from './common.js';

export const EXABGP_API_PROCESS = 'api-process';

// Python because ExaBGP already runs on it; threads so reading commands never blocks reading events.
const API_SCRIPT = `import sys, threading, time, os
d = sys.argv[1]
def feed():
    pos = 0
    path = os.path.join(d, 'commands')
    while True:
        try:
            with open(path) as f:
                f.seek(pos)
                for line in f:
                    if line.endswith('\\n'):
                        sys.stdout.write(line); sys.stdout.flush(); pos += len(line.encode())
        except FileNotFoundError:
            pass
        time.sleep(0.1)
threading.Thread(target=feed, daemon=True).start()
with open(os.path.join(d, 'received.ndjson'), 'a') as out:
    for line in sys.stdin:
        out.write(line); out.flush()
`;

export interface ExabgpOptions {
  /** exabgp.conf text (neighbors); the api process block is added. */
  config: string;
  timeoutMs?: number;
}

export interface ExabgpMessage {
  type: string;
  neighbor?: { address?: { peer?: string }; state?: string; message?: Record<string, unknown> };
  [k: string]: unknown;
}

export class ExabgpPeer implements Peer {
  readonly kind = 'exabgp' as const;
  constructor(
    readonly ns: Netns,
    readonly runDir: string,
    private readonly child: ChildProcess,
    private readonly out: OutputBuffer,
  ) {}

  log(): string {
    return this.out.text();
  }

  /** Send an API command, e.g. 'announce route 10.1.0.0/24 next-hop self community [65000:1]'. */
  command(line: string): void {
    appendFileSync(join(this.runDir, 'commands'), `${line}\n`);
  }

  /** Every JSON message ExaBGP reported so far (updates, state changes, notifications, ...). */
  received(): ExabgpMessage[] {
    const f = join(this.runDir, 'received.ndjson');
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as ExabgpMessage);
  }

  /** Wait until ExaBGP reports the session to `peer` up (state message "up"). */
  async waitUp(peer: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `exabgp neighbor ${peer} up`,
      () => {
        const ups = this.received().filter((m) => m.type === 'state' && m.neighbor?.address?.peer === peer);
        return ups.at(-1)?.neighbor?.state === 'up' ? true : undefined;
      },
      { timeoutMs, describe: () => this.log() },
    );
  }

  async stop(opts: { cleanup?: boolean } = {}): Promise<void> {
    await killPid(this.child.pid);
    if (opts.cleanup) removeDir(this.runDir);
  }
}

export async function startExabgp(ns: Netns, opts: ExabgpOptions): Promise<ExabgpPeer> {
  const dir = makeRunDir('exabgp');
  ns.onDestroy(() => removeDir(dir));
  writeFileSync(join(dir, 'api.py'), API_SCRIPT);
  writeFileSync(join(dir, 'commands'), '');
  const conf = join(dir, 'exabgp.conf');
  writeFileSync(
    conf,
    `process ${EXABGP_API_PROCESS} {\n  run /usr/bin/python3 ${join(dir, 'api.py')} ${dir};\n  encoder json;\n}\n\n${opts.config}`,
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    'exabgp.daemon.user': 'root',
    'exabgp.daemon.drop': 'false',
    'exabgp.daemon.pid': join(dir, 'exabgp.pid'),
    'exabgp.api.cli': 'false',
    'exabgp.api.ack': 'false',
    'exabgp.log.destination': 'stdout',
    'exabgp.log.level': 'INFO',
  };
  const child = ns.spawn('exabgp', [conf], { env, stdio: 'pipe' });
  const out = new OutputBuffer(child);
  const peer = new ExabgpPeer(ns, dir, child, out);
  // ExaBGP has no query socket here; it is ready once it logged that it loaded the configuration.
  await readyOrCleanup(waitFor(
    'exabgp started',
    () => (/Loaded|loaded|performing reload|new process|Connected to peer|Performing/i.test(out.text()) ? true : undefined),
    { timeoutMs: opts.timeoutMs ?? 20_000, describe: () => peer.log(), child },

  ), () => peer.stop({ cleanup: true }));
  if (child.exitCode !== null) throw new PeerError(PeerErrorCode.Exited, `exabgp exited: ${peer.log()}`);
  return peer;
}
