#!/usr/bin/env node
// `npm run bench`: compile, then run every bench script (dist/bench/<area>.js) one after another so they
// do not compete for the machine's two cores. Each prints `bench <area> <name>: <value> <unit>` lines,
// with ratios against the anchors it measured in the same run. `npm run bench -- wire routes` runs a subset.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
try {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
} catch {
  // tsc still writes its output on type errors; say so loudly and measure what was built.
  console.error('bench: TypeScript reported errors (above); running the benches that compiled');
}
const dir = join(root, 'dist', 'bench');
const wanted = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.js') && f !== 'run.js')
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.js$/, '')))
  .sort();
let failed = 0;
for (const s of scripts) {
  console.log(`# ${s.replace(/\.js$/, '')}`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(dir, s)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`bench ${s.replace(/\.js$/, '')} FAILED: exit ${r.status}`);
  }
}
process.exit(failed ? 1 : 0);
