// How datastore keys map onto Kubernetes objects (group uplink.dev, v1alpha1, cluster-scoped; manifests
// in k8s/crds/). The key's prefix picks the kind; the object name is a DNS-safe slug of the key plus a
// hash (keys hold `/`, `:` and upper case, names may not); the exact key travels in the annotation
// `uplink.dev/key` and the JSON value in `spec.value`. Keys outside the typed kinds (leader election)
// go to the generic DatastoreEntry kind.
import { createHash } from 'node:crypto';

export const GROUP = 'uplink.dev';
export const VERSION = 'v1alpha1';
export const KEY_ANNOTATION = 'uplink.dev/key';
export const LEASE_LABEL = 'uplink.dev/lease';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'uplink' } as const;

export interface KindMapping {
  readonly prefix: string;
  readonly plural: string;
  readonly kind: string;
}

export const KINDS: readonly KindMapping[] = [
  { prefix: 'ipam/pools/', plural: 'ippools', kind: 'IPPool' },
  { prefix: 'ipam/blocks/', plural: 'ipamblocks', kind: 'IPAMBlock' },
  { prefix: 'ipam/affinities/', plural: 'blockaffinities', kind: 'BlockAffinity' },
  { prefix: 'ipam/handles/', plural: 'ipamhandles', kind: 'IPAMHandle' },
  { prefix: 'bgp/peers/', plural: 'bgppeers', kind: 'BGPPeer' },
  { prefix: 'bgp/configuration/', plural: 'bgpconfigurations', kind: 'BGPConfiguration' },
  { prefix: 'tors/', plural: 'tors', kind: 'ToR' },
];
export const FALLBACK: KindMapping = { prefix: '', plural: 'datastoreentries', kind: 'DatastoreEntry' };

export function kindFor(key: string): KindMapping {
  return KINDS.find((k) => key.startsWith(k.prefix)) ?? FALLBACK;
}

/** Every kind that can hold a key under `prefix`. */
export function kindsFor(prefix: string): KindMapping[] {
  const typed = KINDS.filter((k) => k.prefix.startsWith(prefix) || prefix.startsWith(k.prefix));
  const insideTyped = KINDS.some((k) => prefix.startsWith(k.prefix));
  return insideTyped ? typed : [...typed, FALLBACK];
}

export function objectName(key: string): string {
  const k = kindFor(key);
  const slug = key
    .slice(k.prefix.length)
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 200);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
  return slug ? `${slug}-${hash}` : `k-${hash}`;
}
