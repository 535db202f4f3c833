// The manifests must grant exactly what the kubernetes datastore touches: every kind it maps keys to
// (ipam/datastore/kube-mapping.ts, the generic DatastoreEntry included) needs a CRD and a ClusterRole
// rule, and the role grants nothing for which no CRD exists. A fake API server checks no permissions,
// so without this a missing rule would first show as a 403 on a real cluster.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { FALLBACK, GROUP, KINDS, kindFor } from '../../ipam/datastore/kube-mapping.js';
import { EXPLAIN_ANSWERS_PREFIX, EXPLAIN_REQUESTS_PREFIX } from '../../uplinkd/explain-broker.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const src = (p: string): string => join(root.replace(/\/dist$/, ''), p);

interface Doc { kind?: string; metadata?: { name?: string }; spec?: { group?: string; scope?: string; names?: { plural?: string } }; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }

function docs(file: string): Doc[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON() as Doc).filter(Boolean);
}

describe('deploy/k8s manifests', () => {
  const crdDir = src('k8s/crds');
  const crds = readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).flatMap((f) => docs(join(crdDir, f))).filter((d) => d.kind === 'CustomResourceDefinition');
  const rbac = docs(src('deploy/k8s/rbac.yaml'));
  const role = rbac.find((d) => d.kind === 'ClusterRole' && d.metadata?.name === 'uplinkd');
  const granted = new Set((role?.rules ?? []).filter((r) => r.apiGroups.includes(GROUP)).flatMap((r) => r.resources));
  const mapped = [...KINDS, FALLBACK].map((k) => k.plural);

  it('has a cluster-scoped CRD for every kind the datastore writes', () => {
    const plurals = new Map(crds.map((c) => [c.spec?.names?.plural, c]));
    for (const p of mapped) {
      expect(plurals.get(p), `CRD for ${p}`).toBeDefined();
      expect(plurals.get(p)!.spec?.group).toBe(GROUP);
      expect(plurals.get(p)!.spec?.scope).toBe('Cluster');
    }
  });

  it('grants the agent every mapped kind, and nothing without a CRD', () => {
    expect(role, 'ClusterRole uplinkd').toBeDefined();
    expect([...granted].sort()).toEqual([...mapped].sort());
    const verbs = new Set((role?.rules ?? []).filter((r) => r.apiGroups.includes(GROUP)).flatMap((r) => r.verbs));
    for (const v of ['get', 'list', 'watch', 'create', 'update', 'delete']) expect(verbs.has(v), v).toBe(true);
  });

  it('lets explain ask another node through the datastore: its keys\' kind and its Leases may be created, read and deleted', () => {
    // explain-broker.ts: the asker creates a Lease and a request under it; the owner reads the Lease
    // (is it live?) and creates its answer under it; revoking deletes both.
    const need = ['get', 'list', 'watch', 'create', 'delete'];
    for (const key of [`${EXPLAIN_REQUESTS_PREFIX}node2/x`, `${EXPLAIN_ANSWERS_PREFIX}x`]) {
      const plural = kindFor(key).plural;
      const verbs = new Set((role?.rules ?? []).filter((r) => r.apiGroups.includes(GROUP) && r.resources.includes(plural)).flatMap((r) => r.verbs));
      for (const v of need) expect(verbs.has(v), `${plural} ${v}`).toBe(true);
    }
    const leaseRole = rbac.find((d) => d.kind === 'Role' && d.rules?.some((r) => r.apiGroups.includes('coordination.k8s.io')));
    const leaseVerbs = new Set((leaseRole?.rules ?? []).filter((r) => r.resources.includes('leases')).flatMap((r) => r.verbs));
    for (const v of ['get', 'create', 'update', 'delete']) expect(leaseVerbs.has(v), `leases ${v}`).toBe(true);
  });

  it('gives Nodes and Pods read-only access', () => {
    const core = (role?.rules ?? []).filter((r) => r.apiGroups.includes(''));
    expect(core.flatMap((r) => r.resources).sort()).toEqual(['nodes', 'pods']);
    expect(core.flatMap((r) => r.verbs).sort()).toEqual(['get', 'list', 'watch']);
  });
});
