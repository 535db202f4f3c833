// Pool utilisation for the "pool > 80 % used" alert: computed from the datastore every status period.
import { Gauge } from 'prom-client';
import { registry } from '../lib/metrics.js';
import { readSnapshot, showIpam, type Datastore } from '../ipam/index.js';

const poolSize = new Gauge({ name: 'uplink_ipam_pool_size', help: 'Addresses in the pool', labelNames: ['pool'], registers: [registry] });
const poolUsed = new Gauge({ name: 'uplink_ipam_pool_used', help: 'Addresses allocated from the pool', labelNames: ['pool'], registers: [registry] });

export async function updatePoolGauges(store: Datastore): Promise<void> {
  const s = showIpam(await readSnapshot(store));
  for (const p of s.pools) {
    poolSize.set({ pool: p.name }, p.size);
    poolUsed.set({ pool: p.name }, p.used);
  }
}
