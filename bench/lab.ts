// Lab runner figures from one run: build time of the default fabric (FRR spines/ToRs, plain nodes),
// time to BGP convergence, the idempotent re-`up` check, a link drill, and teardown.
// Anchor: the 9 s BGP hold time of the generated configs — the link drill's session-loss time is
// reported as a ratio to it (well below 1 means carrier loss, not the hold timer, ended the session).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkDrill } from '../containerlab/drill.js';
import { down, execIn, up, type LabOptions } from '../containerlab/runner.js';
import { writeLab } from '../topology/clab.js';
import { devicesOf, loadTopology } from '../topology/resolve.js';

const HOLD_MS = 9000;
const line = (name: string, value: number | string, unit: string): void => console.log(`bench lab ${name}: ${value} ${unit}`);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench lab needs root (network namespaces)');
  const out = mkdtempSync(join(tmpdir(), 'ull-bench-'));
  chmodSync(out, 0o755);
  const opts: LabOptions = { prefix: `ullb${randomBytes(2).toString('hex')}`, stateDir: join(out, '.state') };
  const fabric = loadTopology(join(process.cwd(), 'topology', 'examples', 'default.yaml'));
  const file = writeLab(fabric, out, { agents: false });
  try {
    const t0 = performance.now();
    await up(file, opts);
    const tUp = performance.now() - t0;
    line('up-default', Math.round(tUp), 'ms');
    line('up-per-node', Math.round(tUp / fabric.devices.size), 'ms');
    const spines = devicesOf(fabric, 'spine');
    const tors = devicesOf(fabric, 'tor').length;
    for (;;) {
      const ok = spines.every((s) => {
        const j = JSON.parse(execIn(file, s.name, ['vtysh', '-c', 'show bgp summary json'], opts)) as { ipv4Unicast?: { peers?: Record<string, { state: string }> } };
        const peers = Object.values(j.ipv4Unicast?.peers ?? {});
        return peers.length === tors && peers.every((p) => p.state === 'Established');
      });
      if (ok) break;
      if (performance.now() - t0 > 120_000) throw new Error('fabric did not converge in 120 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    line('converged-default', Math.round(performance.now() - t0), 'ms (from up start to all ToR-spine sessions Established)');
    const t1 = performance.now();
    const again = await up(file, opts);
    line('up-unchanged', Math.round(performance.now() - t1), `ms (${again.action})`);
    const d = await linkDrill(file, 'spine1:eth1', opts);
    const loss = Math.max(...Object.values(d.downMs));
    line('drill-link-loss', loss, 'ms');
    line('drill-link-loss-vs-hold-time', (loss / HOLD_MS).toFixed(3), 'x');
    line('drill-link-restore', Math.max(...Object.values(d.restoreMs)), 'ms');
    const t2 = performance.now();
    await down(file, opts);
    line('down-default', Math.round(performance.now() - t2), 'ms');
  } finally {
    await down(file, opts);
    rmSync(out, { recursive: true, force: true });
  }
}

await main();
