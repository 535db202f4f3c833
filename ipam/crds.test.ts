// The CRD manifests in k8s/crds/ match what the kubernetes datastore writes: every kind it maps to has
// a manifest, and the objects an IPAM run leaves on the (fake) API server validate against the CRDs'
// openAPIV3Schema (Ajv; `nullable` as in OpenAPI 3, x-kubernetes-* extensions ignored).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { expect, it } from 'vitest';
import { KINDS, FALLBACK } from './datastore/kube-mapping.js';
import { KubernetesDatastore } from './datastore/kubernetes.js';
import { FakeKubeApiServer } from './test/fake-kube-api-server.js';
import { Ipam } from './ipam.js';
import { putPool } from './pools.js';
import { handleId } from './types.js';

const dir = fileURLToPath(new URL('../k8s/crds/', import.meta.url));

interface Crd {
  kind: string;
  spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: { name: string; schema: { openAPIV3Schema: object } }[] };
}

function crds(): Map<string, Crd> {
  const out = new Map<string, Crd>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const doc = parse(readFileSync(join(dir, f), 'utf8')) as Crd;
    if (doc.kind === 'CustomResourceDefinition') out.set(doc.spec.names.plural, doc);
  }
  return out;
}

it('every mapped kind has a CRD in uplink.dev/v1alpha1, including BGPPeer, BGPConfiguration and ToR', () => {
  const all = crds();
  for (const k of [...KINDS, FALLBACK]) {
    const crd = all.get(k.plural);
    expect(crd, `missing CRD for ${k.plural}`).toBeDefined();
    expect(crd!.spec).toMatchObject({ group: 'uplink.dev', scope: 'Cluster', names: { kind: k.kind } });
    expect(crd!.spec.versions.map((v) => v.name)).toEqual(['v1alpha1']);
  }
  for (const kind of ['IPPool', 'IPAMBlock', 'BlockAffinity', 'IPAMHandle', 'BGPPeer', 'BGPConfiguration', 'ToR']) {
    expect([...all.values()].some((c) => c.spec.names.kind === kind)).toBe(true);
  }
});

it('objects written by an IPAM run validate against the CRD schemas', async () => {
  const fake = new FakeKubeApiServer();
  const server = await fake.start();
  const store = await KubernetesDatastore.open({ kind: 'kubernetes', server, token: 'fake' });
  try {
    await putPool(store, { name: 'v4', cidr: '10.40.0.0/24', blockSize: 28, nodeSelector: 'all()' });
    await putPool(store, { name: 'v6', cidr: 'fd00:40::/120' });
    const ipam = new Ipam(store, { node: 'node-a' });
    await ipam.start();
    for (let i = 0; i < 20; i++) await ipam.allocate({ containerId: `c${i}`, ifname: 'eth0', pod: `p${i}`, namespace: 'ns' });
    await ipam.release(handleId('c3', 'eth0'));
    await store.create('leader/gc', { id: 'node-a' });
    const ajv = new Ajv({ strict: false, allErrors: true });
    let checked = 0;
    for (const [plural, crd] of crds()) {
      const validate = ajv.compile(crd.spec.versions[0]!.schema.openAPIV3Schema);
      const res = await fetch(`${server}/apis/uplink.dev/v1alpha1/${plural}`);
      const list = (await res.json()) as { items: unknown[] };
      for (const obj of list.items) {
        expect(validate(obj), `${plural}: ${ajv.errorsText(validate.errors)}`).toBe(true);
        checked++;
      }
    }
    // pools 2 + blocks 3 + affinities 3 + handles 19 + leader 1
    expect(checked).toBe(28);
  } finally {
    await store.close();
    await fake.stop();
  }
});
