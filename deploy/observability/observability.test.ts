// The dashboard and the alert rules may only reference metrics the agent really exports: a renamed
// metric must break this test, not silently blank a panel or mute an alert at 3 a.m.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { registry, enableDefaultMetrics } from '../../lib/metrics.js';

const here = dirname(fileURLToPath(import.meta.url));

async function exportedNames(): Promise<Set<string>> {
  // Importing each component's metrics module registers its metrics on the shared registry.
  await import('../../cni/server/metrics.js');
  await import('../../routes/metrics.js');
  await import('../../ipam/metrics.js');
  await import('../../bgpd/metrics.js');
  await import('../../bfd/metrics.js');
  await import('../../uplinkd/pool-metrics.js');
  await import('../../uplinkd/cluster-gc.js');
  enableDefaultMetrics();
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (m.type === ('histogram' as unknown)) for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

function referenced(expr: string): string[] {
  return [...expr.matchAll(/\b(uplink_[a-z0-9_]+)/g)].map((m) => m[1]!);
}

describe('observability bundle', () => {
  it('alert rules reference only exported metrics and pass promtool', async () => {
    const names = await exportedNames();
    const doc = parse(readFileSync(join(here, 'alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const r of rules) {
      const refs = referenced(r.expr);
      expect(refs.length, `${r.alert} references no uplink metric`).toBeGreaterThan(0);
      for (const n of refs) expect(names.has(n), `${r.alert}: ${n} is not exported`).toBe(true);
    }
    const out = execFileSync('promtool', ['check', 'rules', join(here, 'alerts.yaml')], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('dashboard panels reference only exported metrics', async () => {
    const names = await exportedNames();
    const dash = JSON.parse(readFileSync(join(here, 'dashboard.json'), 'utf8')) as { panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }> };
    const panels = dash.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(12);
    for (const p of panels) {
      for (const t of p.targets ?? []) for (const n of referenced(t.expr)) expect(names.has(n), `panel "${p.title}": ${n} is not exported`).toBe(true);
    }
    // The three audiences the design asks for.
    const rows = dash.panels.filter((p) => p.type === 'row').map((p) => p.title.split(':')[0]);
    expect(rows).toEqual(['Executive', 'On-call', 'Debug']);
  });
});
