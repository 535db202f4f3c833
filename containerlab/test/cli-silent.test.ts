// `drill NAME --silent` in the CLI: node-removal takes the flag (the node dies without withdrawing),
// drills without a silent variant refuse it before touching any lab. Runs the built CLI.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'dist', 'containerlab', 'cli.js');
const lab = (...args: string[]): { code: number | null; err: string } => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, err: r.stderr };
};

describe.skipIf(!existsSync(CLI))('uplink-lab drill --silent', () => {
  it('agent-restart and router-restart refuse --silent, naming the drills that have it', () => {
    for (const d of ['agent-restart', 'router-restart']) {
      const r = lab('drill', d, '--silent', '-t', '/nonexistent/lab.clab.yml');
      expect(r.code).toBe(1);
      expect(r.err).toContain('[LAB_UNSUPPORTED]');
      expect(r.err).toContain('node-removal');
    }
  });

  it('node-removal accepts --silent and gets as far as reading the lab', () => {
    const r = lab('drill', 'node-removal', '--silent', '-t', '/nonexistent/lab.clab.yml');
    expect(r.code).toBe(1);
    expect(r.err).not.toContain('LAB_UNSUPPORTED');
    expect(r.err).toContain('/nonexistent/lab.clab.yml');
  });
});
