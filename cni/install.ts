// Installs the uplink CNI plugin on a node, as Calico's install-cni does: copy the `uplink` executable
// into the CNI bin dir and write the network config list. Both are written to a temporary name and
// renamed, so a runtime never executes half a binary or reads half a conflist.
//
//   node dist/cni/install.js --bin-dir /opt/cni/bin --conf-dir /etc/cni/net.d [--cni-version 1.0.0]
import { Command as Cli } from 'commander';
import { chmod, copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUPPORTED_VERSIONS } from './server/config.js';

export interface InstallOptions {
  binDir: string;
  confDir: string;
  /** The built shim; default: build/Release/uplink_cni_shim at the package root. */
  shim?: string;
  networkName?: string;
  cniVersion?: string;
  agentSocket?: string;
  mtu?: number;
  pools?: string[];
  /** Chained plugins after uplink, e.g. ["portmap", "bandwidth"]. */
  chain?: string[];
  /** File name of the conflist; runtimes pick the lexically first file. */
  confName?: string;
}

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function defaultShimPath(): string {
  return join(packageRoot, 'build', 'Release', 'uplink_cni_shim');
}

/** The conflist as written to disk. Chained reference plugins get the capabilities they read. */
export function buildConflist(o: InstallOptions): Record<string, unknown> {
  const uplink: Record<string, unknown> = { type: 'uplink', agentSocket: o.agentSocket ?? '/run/uplink/cni.sock', mtu: o.mtu ?? 1500 };
  if (o.pools?.length) uplink.pools = o.pools;
  const caps: Record<string, Record<string, boolean>> = {
    portmap: { portMappings: true },
    bandwidth: { bandwidth: true },
  };
  const chained = (o.chain ?? []).map((type) => (caps[type] ? { type, capabilities: caps[type] } : { type }));
  return { cniVersion: o.cniVersion ?? '1.0.0', name: o.networkName ?? 'uplink', plugins: [uplink, ...chained] };
}

async function atomicWrite(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  await write(tmp);
  await rename(tmp, path);
}

export async function install(o: InstallOptions): Promise<{ binary: string; conflist: string }> {
  if (o.cniVersion && !(SUPPORTED_VERSIONS as readonly string[]).includes(o.cniVersion)) {
    throw new Error(`--cni-version ${o.cniVersion} is not one of ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  await mkdir(o.binDir, { recursive: true });
  await mkdir(o.confDir, { recursive: true });
  const binary = join(o.binDir, 'uplink');
  // rename() over the old file: a runtime executing the previous binary keeps its inode (no ETXTBSY).
  await atomicWrite(binary, async (tmp) => {
    await copyFile(o.shim ?? defaultShimPath(), tmp);
    await chmod(tmp, 0o755);
  });
  const conflist = join(o.confDir, o.confName ?? '10-uplink.conflist');
  await atomicWrite(conflist, (tmp) => writeFile(tmp, JSON.stringify(buildConflist(o), null, 2) + '\n'));
  return { binary, conflist };
}

async function main(argv: string[]): Promise<void> {
  const cli = new Cli('uplink-install-cni')
    .option('--bin-dir <dir>', 'CNI plugin directory', '/opt/cni/bin')
    .option('--conf-dir <dir>', 'CNI network config directory', '/etc/cni/net.d')
    .option('--shim <path>', 'built uplink shim', defaultShimPath())
    .option('--name <name>', 'network name', 'uplink')
    .option('--cni-version <v>', 'cniVersion of the conflist (podman 4.3 needs 1.0.0 or older)', '1.0.0')
    .option('--socket <path>', 'uplinkd CNI socket', '/run/uplink/cni.sock')
    .option('--mtu <n>', 'pod interface MTU', (v) => Number.parseInt(v, 10), 1500)
    .option('--pools <names>', 'comma-separated IP pool names (default: every pool selecting the node)')
    .option('--chain <plugins>', 'comma-separated plugins chained after uplink, e.g. portmap,bandwidth');
  cli.parse(argv);
  const f = cli.opts<{ binDir: string; confDir: string; shim: string; name: string; cniVersion: string; socket: string; mtu: number; pools?: string; chain?: string }>();
  const r = await install({
    binDir: f.binDir, confDir: f.confDir, shim: f.shim, networkName: f.name, cniVersion: f.cniVersion,
    agentSocket: f.socket, mtu: f.mtu,
    pools: f.pools ? f.pools.split(',').filter(Boolean) : [],
    chain: f.chain ? f.chain.split(',').filter(Boolean) : [],
  });
  process.stdout.write(`installed ${r.binary} and ${r.conflist}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv).catch((err: unknown) => {
    process.stderr.write(`uplink-install-cni: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
