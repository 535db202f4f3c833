// The shared-process mode's configuration rules: `netns` parsed to a path, and a group refused
// when two agents would share a node, namespace, socket, lock file or state directory.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/config-check.js';
import { checkGroup } from './agent-group.js';
import { parseAgentConfig, type AgentConfig } from './config.js';

const cfg = (node: string, extra: Record<string, unknown> = {}): AgentConfig =>
  parseAgentConfig({
    nodeName: node,
    netns: `ulm-${node}`,
    stateDir: `/tmp/ulm/${node}`,
    control: { socket: `/tmp/ulm/${node}/control.sock` },
    cni: { socket: `/tmp/ulm/${node}/cni.sock` },
    routes: { lockFile: `/tmp/ulm/${node}/fib.lock` },
    ...extra,
  });

describe('agent config netns', () => {
  it('a name means /var/run/netns/NAME, a path is kept, absent means our own', () => {
    expect(cfg('a').netns).toBe('/var/run/netns/ulm-a');
    expect(cfg('a', { netns: '/proc/1/ns/net' }).netns).toBe('/proc/1/ns/net');
    expect(parseAgentConfig({ nodeName: 'x' }).netns).toBeUndefined();
    expect(() => cfg('a', { netns: '' })).toThrow(ConfigError);
    expect(() => cfg('a', { netns: 7 })).toThrow(ConfigError);
  });
});

describe('checkGroup', () => {
  it('accepts agents with their own namespace, sockets, lock and state', () => {
    expect(() => checkGroup([cfg('a'), cfg('b'), cfg('c')])).not.toThrow();
  });

  it.each([
    ['netns', { netns: 'ulm-a' }],
    ['control.socket', { control: { socket: '/tmp/ulm/a/control.sock' } }],
    ['cni.socket', { cni: { socket: '/tmp/ulm/a/cni.sock' } }],
    ['routes.lockFile', { routes: { lockFile: '/tmp/ulm/a/fib.lock' } }],
    ['stateDir', { stateDir: '/tmp/ulm/a' }],
  ])('refuses two agents sharing %s', (key, extra) => {
    expect(() => checkGroup([cfg('a'), cfg('b', extra)])).toThrow(expect.objectContaining({ message: expect.stringContaining(key) }));
  });

  it('refuses a duplicate node and an agent without a namespace', () => {
    expect(() => checkGroup([cfg('a'), cfg('a', { netns: 'ulm-z', stateDir: '/z', control: { socket: '/z/c' }, cni: { socket: '/z/n' }, routes: { lockFile: '/z/l' } })])).toThrow(/nodeName/);
    const noNs = parseAgentConfig({ nodeName: 'b' });
    expect(() => checkGroup([cfg('a'), noNs])).toThrow(/netns/);
  });
});

const MAIN = join(import.meta.dirname, '..', 'dist', 'uplinkd', 'main.js');

describe.skipIf(!existsSync(MAIN))('uplinkd with several --config files', () => {
  const raw = (node: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    nodeName: node, netns: `ulm-${node}`, stateDir: `/tmp/ulm/${node}`,
    control: { socket: `/tmp/ulm/${node}/control.sock` }, cni: { socket: `/tmp/ulm/${node}/cni.sock` },
    routes: { lockFile: `/tmp/ulm/${node}/fib.lock` }, ...extra,
  });
  const check = (docs: Array<Record<string, unknown>>): { code: number | null; out: string; err: string } => {
    const dir = mkdtempSync(join(tmpdir(), 'ulm-group-'));
    try {
      const files = docs.map((d, i) => {
        const f = join(dir, `${i}.yaml`);
        writeFileSync(f, stringify(d));
        return f;
      });
      const r = spawnSync(process.execPath, [MAIN, ...files.flatMap((f) => ['--config', f]), '--check'], { encoding: 'utf8', timeout: 30_000 });
      return { code: r.status, out: r.stdout, err: r.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('--check validates every file and the group rules; exit 2 names the clash', () => {
    const ok = check([raw('a'), raw('b')]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain('2 configurations: ok');
    const clash = check([raw('a'), raw('b', { control: { socket: '/tmp/ulm/a/control.sock' } })]);
    expect(clash.code).toBe(2);
    expect(clash.err).toContain('control.socket');
    const noNs = check([raw('a'), { ...raw('b'), netns: undefined }]);
    expect(noNs.code).toBe(2);
    expect(noNs.err).toContain('netns');
  });
});
