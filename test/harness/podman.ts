// Podman for tests: Debian 12's podman 4.3 with the CNI network backend, everything private to one temp
// dir (CONTAINERS_CONF, storage.conf, --root/--runroot, --network-config-dir) so a test never reads or
// writes the machine's container config. runc (crun fails on this VM's cgroups), vfs storage, cgroupfs,
// and ulimits pinned to this process's hard limits (podman's default nofile exceeds them here). The
// image is built locally from busybox-static and `podman import`ed: no registry is reachable.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';
const PODMAN_NPROC_CAP = 32768;
const APPLETS = ['sh', 'ip', 'ping', 'sleep', 'cat', 'ls', 'ifconfig', 'route', 'true'];

export interface PodmanOptions {
  /** CNI plugin dirs (the runtime's CNI_PATH). */
  pluginDirs: string[];
}

export interface PodmanRun {
  code: number;
  stdout: string;
  stderr: string;
}

function hardLimit(name: string): string {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
  const cols = line?.slice(26).trim().split(/\s+/);
  if (!cols?.[1]) throw new Error(`cannot read the hard limit "${name}" from /proc/self/limits`);
  return cols[1] === 'unlimited' ? '-1' : cols[1];
}

export class Podman {
  readonly dir: string;
  readonly netDir: string;
  readonly image = 'localhost/ulc-busybox:latest';
  private readonly env: NodeJS.ProcessEnv;

  constructor(opts: PodmanOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'ulc-podman-'));
    this.netDir = join(this.dir, 'net.d');
    mkdirSync(this.netDir);
    const q = (s: string): string => JSON.stringify(s);
    writeFileSync(join(this.dir, 'containers.conf'), [
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = [${opts.pluginDirs.map(q).join(', ')}]`,
      `network_config_dir = ${q(this.netDir)}`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'runtime = "runc"',
      'events_logger = "file"',
      `events_logfile_path = ${q(join(this.dir, 'events.log'))}`,
      `tmp_dir = ${q(join(this.dir, 'tmp'))}`,
      `static_dir = ${q(join(this.dir, 'root', 'libpod'))}`,
      `volume_path = ${q(join(this.dir, 'root', 'volumes'))}`,
      '',
    ].join('\n'));
    writeFileSync(join(this.dir, 'storage.conf'), [
      '[storage]',
      'driver = "vfs"',
      `graphroot = ${q(join(this.dir, 'root'))}`,
      `runroot = ${q(join(this.dir, 'runroot'))}`,
      '',
    ].join('\n'));
    writeFileSync(join(this.dir, 'registries.conf'), 'unqualified-search-registries = []\n');
    this.env = {
      PATH: process.env.PATH,
      HOME: this.dir,
      CONTAINERS_CONF: join(this.dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(this.dir, 'storage.conf'),
      CONTAINERS_REGISTRIES_CONF: join(this.dir, 'registries.conf'),
    };
  }

  run(args: string[], timeoutMs = 120_000): Promise<PodmanRun> {
    const full = [
      '--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), '--storage-driver', 'vfs',
      '--cgroup-manager', 'cgroupfs', '--runtime', 'runc', '--network-config-dir', this.netDir,
      '--events-backend', 'file', ...args,
    ];
    return new Promise((resolve) => {
      execFile('podman', full, { env: this.env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async ok(args: string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** A busybox image from the static binary, imported from a tarball (no registry). */
  async importBusybox(): Promise<void> {
    const rootfs = join(this.dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    for (const d of ['proc', 'sys', 'dev', 'etc', 'tmp']) mkdirSync(join(rootfs, d), { recursive: true });
    copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const a of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
    const tar = join(this.dir, 'rootfs.tar');
    await new Promise<void>((resolve, reject) =>
      execFile('tar', ['-C', rootfs, '-cf', tar, '.'], (err) => (err ? reject(err) : resolve())));
    await this.ok(['import', '--change', 'ENV=PATH=/bin', '--change', 'CMD=["/bin/sh"]', tar, this.image]);
  }

  /** `--ulimit` flags pinned to this process's hard limits: runc fails to raise them past the hard ones. */
  ulimitArgs(): string[] {
    const nofile = hardLimit('Max open files');
    // podman 4.3 lowers its own RLIMIT_NPROC to 32768 before it starts conmon (measured: conmon's
    // /proc/<pid>/limits), and runc cannot raise a hard limit: pin nproc to the lower of the two.
    const nproc = String(Math.min(Number(hardLimit('Max processes')) >>> 0, PODMAN_NPROC_CAP));
    return ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`];
  }

  writeConflist(name: string, conflist: Record<string, unknown>): void {
    writeFileSync(join(this.netDir, `${name}.conflist`), JSON.stringify(conflist, null, 2));
  }

  /** Removes every container (so podman runs CNI DEL), then the private dirs. */
  async destroy(): Promise<void> {
    await this.run(['rm', '-a', '-f', '-t', '0']);
    await this.run(['rmi', '-a', '-f']);
    // vfs layers and mounts go with the directory.
    await new Promise<void>((r) => execFile('umount', ['-R', join(this.dir, 'runroot')], () => r()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
