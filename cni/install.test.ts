// cni/install.ts: copies the shim and writes the conflist atomically; the installed binary answers
// VERSION and the conflist is what a runtime (podman 4.3) can load.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildConflist, install } from './install.js';
import { ensureAgentBuilt, repoRoot, shimBinDir } from './test/support.js';

describe('cni install', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'ulc-install-'));
    dirs.push(d);
    return d;
  };

  it('installs an executable uplink that answers VERSION and a conflist naming the socket', async () => {
    const root = tmp();
    const r = await install({
      binDir: join(root, 'bin'), confDir: join(root, 'net.d'), shim: join(shimBinDir(), 'uplink'),
      agentSocket: '/run/uplink/test.sock', mtu: 1450, pools: ['v4'], chain: ['portmap', 'bandwidth'],
    });
    expect(statSync(r.binary).mode & 0o111).toBe(0o111);
    const v = JSON.parse(execFileSync(r.binary, { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}' }).toString()) as { supportedVersions: string[] };
    expect(v.supportedVersions).toContain('1.1.0');
    const conf = JSON.parse(readFileSync(r.conflist, 'utf8')) as Record<string, unknown>;
    expect(conf).toEqual({
      cniVersion: '1.0.0', name: 'uplink',
      plugins: [
        { type: 'uplink', agentSocket: '/run/uplink/test.sock', mtu: 1450, pools: ['v4'] },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'bandwidth', capabilities: { bandwidth: true } },
      ],
    });
    // Re-installing replaces both files in place.
    await install({ binDir: join(root, 'bin'), confDir: join(root, 'net.d'), shim: join(shimBinDir(), 'uplink'), cniVersion: '1.1.0' });
    expect((JSON.parse(readFileSync(r.conflist, 'utf8')) as { cniVersion: string }).cniVersion).toBe('1.1.0');
  });

  it('rejects a cniVersion the plugin does not speak', async () => {
    const root = tmp();
    await expect(install({ binDir: root, confDir: root, shim: join(shimBinDir(), 'uplink'), cniVersion: '2.0.0' })).rejects.toThrow(/2\.0\.0/);
    expect(buildConflist({ binDir: '', confDir: '' }).cniVersion).toBe('1.0.0');
  });

  it('works as a compiled command with flags for the directories', () => {
    ensureAgentBuilt();
    const root = tmp();
    const out = execFileSync(process.execPath, [join(repoRoot, 'dist', 'cni', 'install.js'),
      '--bin-dir', join(root, 'b'), '--conf-dir', join(root, 'c'), '--shim', join(shimBinDir(), 'uplink'), '--chain', 'portmap']).toString();
    expect(out).toContain(join(root, 'b', 'uplink'));
    expect(JSON.parse(readFileSync(join(root, 'c', '10-uplink.conflist'), 'utf8')).plugins[1]).toEqual({ type: 'portmap', capabilities: { portMappings: true } });
  });
});
