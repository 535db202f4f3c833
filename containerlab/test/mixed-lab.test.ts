// One node of each emulation: FRR (image *frr*), BIRD (image *bird*) and an agent image launched
// through the AgentLaunch mapping. The FRR-BIRD session must reach Established (read from both
// daemons), and the agent process must run inside its node's namespace with the bound config.
import { readFileSync, readlinkSync, rmSync, mkdtempSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, execIn, status, up, type LabOptions } from '../runner.js';
import type { AgentLaunch } from '../roles.js';
import { readState } from '../state.js';
import { eventually, testPrefix } from './lab-util.js';

const isRoot = process.getuid?.() === 0;
const DIR = join(import.meta.dirname, 'fixtures', 'mixed');
const FILE = join(DIR, 'mixed.clab.yml');

describe.skipIf(!isRoot)('FRR + BIRD + agent lab', () => {
  const prefix = testPrefix();
  let work = '';
  let argsFile = '';
  let opts: LabOptions = {};
  // The agent mapping under test: a shell stub records its argv and environment, then stays up.
  const agents: AgentLaunch[] = [
    {
      image: /(^|\/)uplink\/agent(:.*)?$/,
      configPath: '/etc/uplink/uplinkd.yaml',
      command: () => ({ cmd: '/bin/sh', args: ['-c', `echo "$ROLE $LAB $*" > ${argsFile}; exec sleep 600`, 'agent'] }),
    },
  ];
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ull-mixed-'));
    chmodSync(work, 0o755);
    argsFile = join(work, 'agent-args');
    opts = { prefix, stateDir: join(work, 'state'), agents };
  });

  afterAll(async () => {
    await down(FILE, opts);
    rmSync(work, { recursive: true, force: true });
  });

  it('brings up FRR and BIRD peering over BGP, and the agent in its namespace', async () => {
    expect(await up(FILE, opts)).toMatchObject({ action: 'built' });
    await eventually(
      'FRR sees BIRD Established',
      () => {
        const j = JSON.parse(execIn(FILE, 'r1', ['vtysh', '-c', 'show bgp neighbors 10.9.0.2 json'], opts)) as Record<string, { bgpState?: string }>;
        return j['10.9.0.2']?.bgpState === 'Established' ? true : undefined;
      },
      30_000,
    );
    expect(execIn(FILE, 'b1', ['birdc', 'show', 'protocols', 'r1'], opts)).toMatch(/Established/);

    const st = readState(opts.stateDir!)!;
    const agent = st.nodes.a1!.procs.find((p) => p.name === 'agent')!;
    const nsInode = execFileSync('ip', ['netns', 'exec', `${prefix}-mixed-a1`, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }).trim();
    expect(readlinkSync(`/proc/${agent.pid}/ns/net`)).toBe(nsInode);
    const args = await eventually('agent wrote its argv', () => readFileSync(argsFile, 'utf8').trim() || undefined, 5000, 100);
    expect(args).toBe(`agent mixed --config ${join(DIR, 'a1', 'uplinkd.yaml')}`);
    expect(status(FILE, opts).nodes.map((n) => n.role)).toEqual(['frr', 'bird', 'agent']);
  }, 90_000);
});
