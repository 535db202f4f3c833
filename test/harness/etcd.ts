// A real etcd (Debian's etcd-server, /usr/bin/etcd) for tests and benches: a temp data dir, 127.0.0.1
// on random free ports, killed by PID and its directory removed by `stop()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EtcdHandle {
  readonly endpoint: string;
  readonly pid: number;
  readonly dataDir: string;
  /** SIGSTOP, resolved once every thread is stopped: a hung (not dead) etcd, for deadline tests. */
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<void>;
}

function allThreadsStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((t) => {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
    });
  } catch {
    return true;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `fsync: true` keeps etcd's fsync per commit (benches); tests skip it for speed. */
export async function startEtcd(opts: { binary?: string; timeoutMs?: number; fsync?: boolean } = {}): Promise<EtcdHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), 'uplink-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const child: ChildProcess = spawn(
    opts.binary ?? '/usr/bin/etcd',
    [
      '--name', 'uplink-test',
      '--data-dir', dataDir,
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `uplink-test=http://127.0.0.1:${peerPort}`,
      '--log-level', 'error',
      // Tests trade durability for speed: an fsync per write would dominate every test's runtime.
      ...(opts.fsync ? [] : ['--unsafe-no-fsync']),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 10_000) stderr = stderr.slice(-5000);
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('etcd did not start');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGCONT');
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`etcd exited: ${stderr}`);
    }
    try {
      const res = await fetch(`${endpoint}/health`);
      if (res.ok && ((await res.json()) as { health?: string }).health === 'true') break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`etcd not healthy in time: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    pid,
    dataDir,
    pause: async () => {
      process.kill(pid, 'SIGSTOP');
      // The signal stops threads asynchronously; a request sent at once could still be served.
      for (let i = 0; i < 200 && !allThreadsStopped(pid); i++) await new Promise((r) => setTimeout(r, 5));
    },
    resume: () => process.kill(pid, 'SIGCONT'),
    stop,
  };
}
