// Generated containerlab files must validate against containerlab's own schema, unchanged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { generateLab } from '../../topology/clab.js';
import { loadTopology } from '../../topology/resolve.js';
import { validateClab } from './schema.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'topology', 'examples');

describe('containerlab schema', () => {
  it('accepts containerlab\'s own frr01 example', () => {
    expect(validateClab(readFileSync(join(import.meta.dirname, '..', 'examples', 'frr01', 'frr01.clab.yml'), 'utf8'))).toEqual([]);
  });

  it('rejects what containerlab rejects (so the validator is not vacuous)', () => {
    const bad = { name: 'x', topology: { nodes: { a: { kind: 'linux', image: 'i' } }, links: [{ endpoints: ['a', 'a:eth1'] }] } };
    const errs = validateClab(stringify(bad));
    // "a" is not node:interface: the 2020-12 prefixItems rule from the schema applies.
    expect(errs.some((e) => e.instancePath === '/topology/links/0/endpoints/0' && e.keyword === 'pattern')).toBe(true);
    expect(validateClab(stringify({ name: 'x', topology: { nodes: { a: { kind: 'no-such-kind' } } } })).length).toBeGreaterThan(0);
    expect(validateClab(stringify({ name: 'x', topology: { nodes: { a: { kind: 'linux', imagee: 'typo' } } } })).length).toBeGreaterThan(0);
  });

  for (const example of ['default.yaml', 'dualstack-as-per-node.yaml']) {
    for (const agents of [true, false]) {
      it(`accepts the generated lab of ${example} (agents: ${agents})`, () => {
        const f = loadTopology(join(EXAMPLES, example));
        const files = generateLab(f, { agents });
        const text = files.get(`${f.spec.name}.clab.yml`);
        expect(text).toBeDefined();
        expect(validateClab(text!)).toEqual([]);
        // Every bound file is generated alongside.
        const doc = parseYaml(text!) as { topology: { nodes: Record<string, { binds?: string[] }> } };
        for (const n of Object.values(doc.topology.nodes)) for (const b of n.binds ?? []) expect(files.has(b.split(':')[0]!)).toBe(true);
      });
    }
  }
});
