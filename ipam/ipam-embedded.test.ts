import { describe, expect, it } from 'vitest';
import { ipamScenarios } from './test/scenarios.js';
import { tempEmbeddedStore } from './test/temp-store.js';
import { DatastoreError, type Datastore } from './datastore/types.js';
import { Ipam } from './ipam.js';
import { putPool } from './pools.js';
import { readSnapshot } from './show.js';
import { checkIpam } from './check.js';
import { handleId, isRetryable } from './types.js';

ipamScenarios('embedded', async () => {
  const { store, cleanup } = tempEmbeddedStore({ pollMs: 10 });
  return { store, cleanup };
});

/** Fault injection over a real store: the next block write lands, but the caller is told `timeout`. */
class LostReplyStore {
  armed = false;
  constructor(private readonly inner: Datastore) {}
  wrap(): Datastore {
    return new Proxy(this.inner, {
      get: (target, prop, receiver) => {
        if (prop === 'compareAndSwap') {
          return async (key: string, revision: string, value: unknown) => {
            const out = await target.compareAndSwap(key, revision, value);
            if (this.armed && key.startsWith('ipam/blocks/')) {
              this.armed = false;
              throw new DatastoreError('timeout', 'injected: reply lost after the write landed');
            }
            return out;
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }
}

describe('ipam: a block write that landed but timed out', () => {
  it('the retry adopts the address it got, instead of leaking it', async () => {
    const { store: real, cleanup } = tempEmbeddedStore();
    try {
      const faulty = new LostReplyStore(real);
      const store = faulty.wrap();
      await putPool(store, { name: 'v4', cidr: '10.51.0.0/24' });
      const ipam = new Ipam(store, { node: 'node-a' });
      await ipam.start();
      await ipam.allocate({ containerId: 'warm', ifname: 'eth0' });
      faulty.armed = true;
      const err = await ipam.allocate({ containerId: 'c1', ifname: 'eth0' }).catch((e: unknown) => e);
      expect(isRetryable(err)).toBe(true);
      const before = checkIpam(await readSnapshot(store));
      expect(before.leaks.map((l) => l.handle)).toEqual([handleId('c1', 'eth0')]);
      const retry = await ipam.allocate({ containerId: 'c1', ifname: 'eth0' });
      expect(retry.addresses).toHaveLength(1);
      expect(retry.addresses[0]!.address).toBe(before.leaks[0]!.address);
      expect(checkIpam(await readSnapshot(store))).toMatchObject({ leaks: [], duplicates: [], orphanedHandles: [] });
    } finally {
      await cleanup();
    }
  });
});
