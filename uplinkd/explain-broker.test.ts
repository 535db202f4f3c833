// explain's question to the owner node, carried by the datastore (explain-broker.ts): on the embedded
// store (two handles on one file, as two agents on one host) and on a real etcd (two clients, as two
// machines). Each backend: a round trip, the owner answers only its own requests, the timeout names the
// node, and a crashed asker's request and answer vanish with its lease.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatastore, type Datastore, type DatastoreConfig, type Json, type Lease } from '../ipam/index.js';
import { startEtcd, type EtcdHandle } from '../test/harness/etcd.js';
import { FakeKubeApiServer } from '../ipam/test/fake-kube-api-server.js';
import {
  EXPLAIN_ANSWERS_PREFIX, EXPLAIN_REQUESTS_PREFIX, ExplainAsker, ExplainBrokerError, ExplainResponder, MAX_TARGET_LENGTH, type ExplainRequest,
} from './explain-broker.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function keysUnder(store: Datastore, prefix: string): Promise<string[]> {
  return (await store.list(prefix)).items.map((i) => i.key);
}

function brokerSuite(name: string, config: () => DatastoreConfig): void {
  describe(`explain broker on ${name}`, () => {
    // asker side, owner side, and an observer: three clients of one store, as three agents.
    let a: Datastore, b: Datastore, obs: Datastore;
    beforeAll(async () => {
      [a, b, obs] = await Promise.all([openDatastore(config()), openDatastore(config()), openDatastore(config())]);
    });
    afterAll(async () => {
      await Promise.all([a, b, obs].map((s) => s?.close()));
    });

    it('round trip: the owner runs its steps for the target and the asker gets them; nothing is left behind', async () => {
      const seen: ExplainRequest[] = [];
      const owner = new ExplainResponder(b, 'node2', async (req) => {
        seen.push(req);
        return [{ step: 'peer accepted', ok: true, detail: `node2 answered for ${req.target}` }] as Json;
      });
      await owner.start();
      try {
        const t0 = performance.now();
        const steps = await new ExplainAsker(a, 'node1').ask('node2', '10.244.1.5', { timeoutMs: 5000, noRefresh: true });
        console.log(`explain-broker round trip on ${name}: ${(performance.now() - t0).toFixed(0)} ms`);
        expect(steps).toEqual([{ step: 'peer accepted', ok: true, detail: 'node2 answered for 10.244.1.5' }]);
        expect(seen).toHaveLength(1);
        expect(seen[0]).toMatchObject({ from: 'node1', to: 'node2', target: '10.244.1.5', noRefresh: true });
        // The asker revoked its lease: request and answer are gone at once.
        expect(await keysUnder(obs, 'explain/')).toEqual([]);
      } finally {
        owner.stop();
      }
    });

    it('an owner answers only requests addressed to it; a request for a node without an agent times out naming it', async () => {
      let calls = 0;
      const owner = new ExplainResponder(b, 'node2', async () => {
        calls++;
        return [];
      });
      await owner.start();
      try {
        const t0 = Date.now();
        const err = await new ExplainAsker(a, 'node1').ask('node3', '10.244.9.9', { timeoutMs: 1200 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ExplainBrokerError);
        expect((err as ExplainBrokerError).code).toBe('owner-timeout');
        expect((err as Error).message).toBe('owner node node3 did not answer within 1.2 s (its agent is down or cannot reach the datastore)');
        expect(Date.now() - t0).toBeGreaterThanOrEqual(1150);
        expect(calls).toBe(0);
        // A forged request under node2's prefix but addressed elsewhere is ignored too.
        const lease = await obs.grantLease(5);
        await obs.create(`${EXPLAIN_REQUESTS_PREFIX}node2/forged`, { id: 'forged', from: 'x', to: 'node3', target: '1.2.3.4', noRefresh: false, lease: lease.id, deadline: Date.now() + 5000 }, { lease: lease.id });
        await sleep(300);
        expect(calls).toBe(0);
        expect(await keysUnder(obs, EXPLAIN_ANSWERS_PREFIX)).toEqual([]);
        await lease.revoke();
        expect(await keysUnder(obs, 'explain/')).toEqual([]);
      } finally {
        owner.stop();
      }
    });

    it('the owner\'s error comes back as the reason; over-long targets are refused before anything is written', async () => {
      const owner = new ExplainResponder(b, 'node2', async () => {
        throw new Error('the BGP speaker is not running');
      });
      await owner.start();
      try {
        await expect(new ExplainAsker(a, 'node1').ask('node2', '10.244.1.5', { timeoutMs: 5000 }))
          .rejects.toThrow('node node2 could not answer: the BGP speaker is not running');
        await expect(new ExplainAsker(a, 'node1').ask('node2', 'x'.repeat(MAX_TARGET_LENGTH + 1), { timeoutMs: 5000 }))
          .rejects.toMatchObject({ code: 'bad-request' });
      } finally {
        owner.stop();
      }
    });

    it('one request in flight per asker: concurrent asks reach the owner one after another', async () => {
      let inFlight = 0;
      let most = 0;
      const owner = new ExplainResponder(b, 'node2', async (req) => {
        most = Math.max(most, ++inFlight);
        await sleep(100);
        inFlight--;
        return req.target;
      });
      await owner.start();
      try {
        const asker = new ExplainAsker(a, 'node1');
        const got = await Promise.all(['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((t) => asker.ask('node2', t, { timeoutMs: 5000 })));
        expect(got).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
        expect(most).toBe(1);
      } finally {
        owner.stop();
      }
    });

    it('a crashed asker leaves nothing: its request and the late answer expire with its lease', async () => {
      // A crash, as the datastore sees it: the asker's lease is never revoked. Its client is wrapped so
      // revoke() does nothing; everything else is the real store.
      const fakeGrant = async (ttl: number): Promise<Lease> => {
        const l = await a.grantLease(ttl);
        return { id: l.id, ttlSeconds: l.ttlSeconds, keepAlive: () => l.keepAlive(), revoke: async () => undefined };
      };
      const crashing = new Proxy(a, {
        get(t, p) {
          if (p === 'grantLease') return fakeGrant;
          const v: unknown = Reflect.get(t, p, t);
          return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(t) : v;
        },
      });
      let release: () => void = () => undefined;
      const answering = new Promise<void>((r) => { release = r; });
      const owner = new ExplainResponder(b, 'node2', async () => {
        await answering;
        return ['late'];
      });
      await owner.start();
      try {
        const pending = new ExplainAsker(crashing, 'node1').ask('node2', '10.244.1.7', { timeoutMs: 1000 }).catch((e: unknown) => e);
        // The request is visible to everyone while the asker lives.
        await expect.poll(() => keysUnder(obs, EXPLAIN_REQUESTS_PREFIX), { timeout: 2000, interval: 50 }).toHaveLength(1);
        // The asker gives up (1 s) and "dies" without revoking; then the owner's slow answer arrives.
        expect(await pending).toMatchObject({ code: 'owner-timeout' });
        release();
        // The owner answers under the asker's lease, which is still live: the answer is written ...
        await expect.poll(() => owner.answered, { timeout: 2000, interval: 50 }).toBe(1);
        // ... and vanishes with the request when the lease runs out (1 s wait + 2 s margin).
        expect(await keysUnder(obs, EXPLAIN_ANSWERS_PREFIX)).toHaveLength(1);
        await expect.poll(() => keysUnder(obs, 'explain/'), { timeout: 8000, interval: 250 }).toEqual([]);
      } finally {
        owner.stop();
      }
    }, 15_000);
  });
}

let dir = '';
brokerSuite('the embedded store', () => {
  dir ||= mkdtempSync(join(tmpdir(), 'uplink-explain-broker-'));
  return { kind: 'embedded', path: join(dir, 'uplink.db'), pollMs: 20 };
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let etcd: EtcdHandle | undefined;
const etcdPrefix = `/uplink-broker-${process.pid}/`;
describe('explain broker on etcd', () => {
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(async () => {
    await etcd?.stop();
  });
  brokerSuite('a real etcd', () => ({ kind: 'etcd', endpoints: [etcd!.endpoint], prefix: etcdPrefix }));
});

// No API server can run here: the fake of its semantics (ipam/test/fake-kube-api-server.ts) stands in,
// so this checks the broker against the kubernetes backend's lease emulation, not a real cluster.
let fake: FakeKubeApiServer | undefined;
let server = '';
describe('explain broker on the kubernetes backend (FAKE API server)', () => {
  beforeAll(async () => {
    fake = new FakeKubeApiServer();
    server = await fake.start();
  });
  afterAll(async () => {
    await fake?.stop();
  });
  brokerSuite('kubernetes CRDs', () => ({ kind: 'kubernetes', server, token: 'fake' }));
});
