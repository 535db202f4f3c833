// An FRR node: Debian's FRR daemons (/usr/lib/frr) run inside the node's namespace with a private
// path space. containerlab binds `frr.conf` and `daemons` at /etc/frr/; we copy every file bound
// under /etc/frr/ into the node's private dir and point the daemons there: `-N <netns>` (path
// space), `-z` zserv socket, `--vty_socket`, `-i` pid file, `--log`. Daemons start in the order of
// FRR's frrcommon.sh (zebra first; zebra and staticd always, as frrcommon.sh forces them), with the
// `<daemon>_options` of the daemons file minus `--daemon` (we keep them in the foreground so the
// PID we record is the daemon's). The integrated frr.conf is then loaded with `vtysh -b`, exactly as
// FRR's init script does — so per-daemon parts of the file reach the right daemon.
// Not emulated: watchfrr (no restart of a crashed daemon; `up` notices and rebuilds).
import { chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { LabNode } from './clab-file.js';
import { LabError, LabErrorCode } from './errors.js';
import { splitWords } from './shell-words.js';
import { pidAlive, pidNetns, run, startInNetns, tail, waitUntil } from './sys.js';
import type { ProcRecord } from './state.js';

export const FRR_LIBEXEC = '/usr/lib/frr';

/** frrcommon.sh's DAEMONS order (FRR 8.4), plus mgmtd (FRR >= 9) which starts right after zebra. */
const ORDER = ['zebra', 'mgmtd', 'bgpd', 'ripd', 'ripngd', 'ospfd', 'ospf6d', 'isisd', 'babeld', 'pimd', 'pim6d', 'ldpd', 'nhrpd', 'eigrpd', 'sharpd', 'pbrd', 'staticd', 'bfdd', 'fabricd', 'vrrpd', 'pathd'];
const ALWAYS = new Set(['zebra', 'staticd']);

export interface FrrDaemon {
  name: string;
  options: string[];
}

/** Parse a FRR `daemons` file (shell variable assignments) into the daemons to start, in order. */
export function parseDaemonsFile(text: string): FrrDaemon[] {
  const vars = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    const words = splitWords(m[2]!);
    vars.set(m[1]!, words.join(' '));
  }
  const out: FrrDaemon[] = [];
  for (const name of ORDER) {
    const enabled = ALWAYS.has(name) || vars.get(name) === 'yes';
    if (!enabled) continue;
    const opts = splitWords(vars.get(`${name}_options`) ?? '').filter((w) => w !== '--daemon' && w !== '-d');
    out.push({ name, options: opts });
  }
  return out;
}

export function frrIds(): { uid: number; gid: number } {
  const uid = Number(run('id', ['-u', 'frr']).trim());
  const gid = Number(run('id', ['-g', 'frr']).trim());
  return { uid, gid };
}

/** vtysh against this node's daemons. */
export function vtyshArgs(dir: string): string[] {
  return ['--vty_socket', dir, '--config_dir', dir];
}

function vtyshAnswers(ns: string, dir: string, daemon: string): boolean {
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'vtysh', ...vtyshArgs(dir), '-d', daemon, '-c', 'show version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The daemons drop to the frr user, which must be able to walk down to `dir`. A state dir under a
 * 0700 directory (mkdtemp) would make zebra exit with "Can't create pid lock file"; say so instead.
 */
function assertTraversable(dir: string, uid: number): void {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = statSync(d);
    if (st.uid !== uid && (st.mode & 0o001) === 0) {
      throw new LabError(LabErrorCode.Daemon, `FRR runs as user frr, which cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)}); use a state dir it can reach`);
    }
    if (d === dirname(d)) return;
  }
}

export interface FrrStartResult {
  skipped: string[];
}

/**
 * Prepare the private dir and start the node's daemons. `record` is called for each started
 * process before we wait on it, so an interrupted start is still cleaned up by PID.
 */
export async function startFrrNode(node: LabNode, ns: string, dir: string, record: (p: ProcRecord) => void, timeoutMs = 20_000, signal?: AbortSignal): Promise<FrrStartResult> {
  mkdirSync(dir, { recursive: true });
  for (const b of node.binds) {
    if (!b.container.startsWith('/etc/frr/')) continue;
    if (!existsSync(b.host)) throw new LabError(LabErrorCode.BadTopology, `${node.name}: bound file ${b.host} does not exist`);
    copyFileSync(b.host, join(dir, basename(b.container)));
  }
  if (!existsSync(join(dir, 'vtysh.conf'))) writeFileSync(join(dir, 'vtysh.conf'), 'service integrated-vtysh-config\n');
  if (!existsSync(join(dir, 'frr.conf'))) writeFileSync(join(dir, 'frr.conf'), '');
  const daemonsFile = join(dir, 'daemons');
  const daemons = parseDaemonsFile(existsSync(daemonsFile) ? readFileSync(daemonsFile, 'utf8') : '');
  // The daemons drop privileges to the frr user: the dir and its files must be theirs.
  const { uid, gid } = frrIds();
  assertTraversable(dir, uid);
  chownSync(dir, uid, gid);
  for (const f of readdirSync(dir)) chownSync(join(dir, f), uid, gid);

  const skipped: string[] = [];
  const nsId = pidNetns(process.pid);
  for (const d of daemons) {
    const bin = join(FRR_LIBEXEC, d.name);
    if (!existsSync(bin)) {
      skipped.push(d.name);
      continue;
    }
    const log = join(dir, `${d.name}.out`);
    const args = [
      ...d.options,
      '-N', ns,
      '-f', '/dev/null',
      '-i', join(dir, `${d.name}.pid`),
      '-z', join(dir, 'zserv.api'),
      '--vty_socket', dir,
      '--log', `file:${join(dir, `${d.name}.log`)}`,
    ];
    const pid = startInNetns(ns, bin, args, log);
    // Record the namespace id as soon as `ip netns exec` has entered it.
    let netnsId = '';
    await waitUntil(`${node.name} ${d.name} entered ${ns}`, () => {
      const id = pidNetns(pid);
      if (id !== undefined && id !== nsId) netnsId = id;
      return netnsId !== '' || !pidAlive(pid);
    }, 5000);
    record({ name: d.name, pid, netnsId, log });
    await waitUntil(
      `${node.name}: ${d.name} answers vtysh`,
      () => {
        if (!pidAlive(pid)) throw new LabError(LabErrorCode.Daemon, `${node.name}: ${d.name} exited\n${tail(log)}\n${tail(join(dir, `${d.name}.log`))}`);
        return vtyshAnswers(ns, dir, d.name);
      },
      timeoutMs,
      () => `${tail(log)}\n${tail(join(dir, `${d.name}.log`))}`,
      signal,
    );
  }
  // vtysh -b: the integrated config, split per daemon by vtysh itself (frrinit.sh does the same).
  // vtysh -b exits non-zero when any line is rejected; that is a broken lab, not a warning.
  run('ip', ['netns', 'exec', ns, 'vtysh', ...vtyshArgs(dir), '-b']);
  return { skipped };
}
