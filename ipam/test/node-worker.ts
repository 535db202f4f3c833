// One simulated node in its own process, for the multi-process concurrency tests: random allocate and
// release on a shared store, `parallel` requests in flight. It prints one JSON line per event:
//   {"ev":"begin","handle":...}  before an allocate starts
//   {"ev":"alloc","handle":...,"addresses":[...]}  after it returned
//   {"ev":"rbegin","handle":...}  before a release starts
//   {"ev":"release","handle":...}  after a release returned
//   {"ev":"error","handle":...,"code":...}  an allocate failed (exhausted etc.)
//   {"ev":"done"}
// argv: <datastore config JSON> <node> <ops> <parallel> <seed>
import { openDatastore } from '../datastore/open.js';
import { Ipam } from '../ipam.js';
import { handleId } from '../types.js';
import type { DatastoreConfig } from '../datastore/types.js';

const [configJson, node, opsText, parallelText, seedText] = process.argv.slice(2);
const config = JSON.parse(configJson!) as DatastoreConfig;
let seed = Number(seedText ?? '1') >>> 0 || 1;
// xorshift32: reproducible per seed.
const rand = (): number => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x1_0000_0000;
};

const out = (o: object): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

const store = await openDatastore(config);
const ipam = new Ipam(store, { node: node!, blockHoldMs: 0, poolRefreshMs: 60_000 });
await ipam.start();
const held: string[] = [];
let remaining = Number(opsText);
let n = 0;
const loop = async (): Promise<void> => {
  while (remaining-- > 0) {
    if (held.length > 0 && rand() < 0.4) {
      const h = held.splice(Math.floor(rand() * held.length), 1)[0]!;
      out({ ev: 'rbegin', handle: h });
      await ipam.release(h);
      out({ ev: 'release', handle: h });
    } else {
      const cid = `${node}-${process.pid}-${n++}`;
      const h = handleId(cid, 'eth0');
      out({ ev: 'begin', handle: h });
      try {
        const a = await ipam.allocate({ containerId: cid, ifname: 'eth0', pod: cid, namespace: 'default' });
        held.push(h);
        out({ ev: 'alloc', handle: h, addresses: a.addresses.map((x) => x.address) });
      } catch (err) {
        out({ ev: 'error', handle: h, code: (err as { code?: string }).code ?? String(err) });
      }
    }
  }
};
await Promise.all(Array.from({ length: Number(parallelText) }, loop));
out({ ev: 'done' });
await store.close();
