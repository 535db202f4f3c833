// Mutation fuzzer for bgpd/wire. Seeds: ExaBGP's QA vectors, the captures under test/vectors/ and the
// regression corpus. Each execution mutates a seed, decodes it under a (possibly varied) context and
// checks: no exception escapes decodeMessage, the internal-error guard is never reached, decoding
// finishes (a watchdog thread catches hangs), and a message that decodes re-encodes and decodes to the
// same value. Findings are written to bgpd/wire/test/corpus/ and replayed by corpus.test.ts.
//
//   npx tsc -p . && node dist/bgpd/wire/fuzz/fuzz.js --seconds 120 [--save]
//
// Without --save, findings are printed, not written.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { familyKey, fromHex, toHex, type FamilyKey } from '../index.js';
import { DEFAULT_CTX, check, type Finding, type Seed, type SeedContext } from './check.js';

/** The checkout: the first ancestor of this file (or of the working directory) holding bgpd/wire. */
function repoRoot(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let d = start;
    for (;;) {
      if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'bgpd/wire/test'))) return d;
      const up = dirname(d);
      if (up === d) break;
      d = up;
    }
  }
  throw new Error('repository root not found (run from the checkout)');
}


function loadSeeds(root: string): Seed[] {
  const seeds: Seed[] = [];
  const exa = join(root, 'bgpd/wire/test/vectors/exabgp');
  const enc = join(exa, 'encoding');
  if (existsSync(enc)) {
    for (const f of readdirSync(enc)) {
      const addPath: FamilyKey[] = /addpath|path-information/.test(f) ? [familyKey(1, 1), familyKey(2, 1)] : [];
      for (const line of readFileSync(join(enc, f), 'utf8').split('\n')) {
        const m = /^\w+:raw:(.*)$/.exec(line);
        if (m) seeds.push({ hex: m[1]!.replace(/:/g, ''), context: { ...DEFAULT_CTX, fourOctetAs: !/no-asn4/.test(f), addPath } });
      }
    }
  }
  const vec = join(root, 'test/vectors');
  if (existsSync(vec)) {
    for (const d of readdirSync(vec, { withFileTypes: true })) {
      if (!d.isDirectory()) continue;
      for (const f of readdirSync(join(vec, d.name))) {
        if (!f.endsWith('.json')) continue;
        const list = JSON.parse(readFileSync(join(vec, d.name, f), 'utf8')) as unknown;
        if (!Array.isArray(list)) continue;
        for (const v of list as { hex?: string; context?: Partial<SeedContext> & { addPath?: FamilyKey[] } }[]) {
          if (typeof v.hex !== 'string') continue;
          const c = v.context ?? {};
          seeds.push({
            hex: v.hex,
            context: {
              fourOctetAs: c.fourOctetAs ?? true,
              extendedMessage: c.extendedMessage ?? false,
              addPath: c.addPath ?? [],
              extendedNextHop: c.extendedNextHop ?? [],
            },
          });
        }
      }
    }
  }
  const corpus = join(root, 'bgpd/wire/test/corpus');
  if (existsSync(corpus)) {
    for (const f of readdirSync(corpus)) {
      if (!f.endsWith('.json')) continue;
      const c = JSON.parse(readFileSync(join(corpus, f), 'utf8')) as Finding;
      seeds.push({ hex: c.hex, context: c.context });
    }
  }
  return seeds;
}

/** xorshift32: fast and reproducible from --seed. */
class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
}

function mutate(rng: Rng, src: Uint8Array, other: Uint8Array): Uint8Array {
  let b = new Uint8Array(src);
  const rounds = 1 + rng.below(4);
  for (let i = 0; i < rounds; i++) {
    const at = rng.below(b.length);
    switch (rng.below(8)) {
      case 0: // bit flip
        if (b.length) b[at] = b[at]! ^ (1 << rng.below(8));
        break;
      case 1: // interesting byte
        if (b.length) b[at] = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40][rng.below(8)]!;
        break;
      case 2: // truncate
        b = b.slice(0, at);
        break;
      case 3: {
        // 2-byte length-like field corruption
        if (at + 1 < b.length) {
          const v = [0, 1, 2, 3, 4, 0xff, 0x100, 0xffff, b.length, b.length - at][rng.below(10)]!;
          b[at] = (v >>> 8) & 255;
          b[at + 1] = v & 255;
        }
        break;
      }
      case 4: {
        // insert random bytes
        const n = 1 + rng.below(8);
        const ins = new Uint8Array(n).map(() => rng.below(256));
        b = new Uint8Array([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
        break;
      }
      case 5: {
        // delete a range
        const n = 1 + rng.below(8);
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + n)]);
        break;
      }
      case 6: {
        // duplicate a range (repeats attributes, prefixes, capabilities)
        const n = 1 + rng.below(16);
        b = new Uint8Array([...b.subarray(0, at + n), ...b.subarray(at, at + n), ...b.subarray(at + n)]);
        break;
      }
      default: {
        // splice the tail of another seed
        const o = rng.below(other.length);
        b = new Uint8Array([...b.subarray(0, at), ...other.subarray(o)]);
      }
    }
  }
  // Most of the time keep the header length consistent, so the body parsers are exercised.
  if (b.length >= 19 && rng.below(4) !== 0) {
    const len = Math.min(b.length, 0xffff);
    b = b.slice(0, len);
    b[16] = len >>> 8;
    b[17] = len & 255;
  }
  return b;
}

function variant(rng: Rng, c: SeedContext): SeedContext {
  if (rng.below(4) !== 0) return c;
  return {
    fourOctetAs: rng.below(2) === 0,
    extendedMessage: rng.below(2) === 0,
    addPath: rng.below(2) === 0 ? [familyKey(1, 1), familyKey(2, 1)] : [],
    extendedNextHop: rng.below(2) === 0 ? [familyKey(1, 1)] : [],
  };
}

interface WorkerInit {
  seeds: Seed[];
  seed: number;
  shared: SharedArrayBuffer;
}

// Shared layout (Int32): [0] executions, [1] current input length, [2..] context flags, then bytes.
const HDR_INTS = 8;

function workerMain(init: WorkerInit): void {
  const rng = new Rng(init.seed);
  const counters = new Int32Array(init.shared, 0, HDR_INTS);
  const current = new Uint8Array(init.shared, HDR_INTS * 4);
  const seeds = init.seeds.map((s) => ({ bytes: fromHex(s.hex), context: s.context }));
  for (;;) {
    const s = seeds[rng.below(seeds.length)]!;
    const other = seeds[rng.below(seeds.length)]!.bytes;
    const input = mutate(rng, s.bytes, other).subarray(0, current.length);
    const ctx = variant(rng, s.context);
    current.set(input);
    counters[1] = input.length;
    counters[2] = (ctx.fourOctetAs ? 1 : 0) | (ctx.extendedMessage ? 2 : 0) | (ctx.addPath.length ? 4 : 0) | (ctx.extendedNextHop.length ? 8 : 0);
    const f = check(input, ctx);
    if (f !== null) parentPort!.postMessage(f);
    Atomics.add(counters, 0, 1);
  }
}

function ctxFromFlags(flags: number): SeedContext {
  return {
    fourOctetAs: (flags & 1) !== 0,
    extendedMessage: (flags & 2) !== 0,
    addPath: flags & 4 ? [familyKey(1, 1), familyKey(2, 1)] : [],
    extendedNextHop: flags & 8 ? [familyKey(1, 1)] : [],
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string, def: string): string => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
  };
  const seconds = Number(arg('--seconds', '30'));
  const seed = Number(arg('--seed', String(Date.now() & 0x7fffffff)));
  const save = args.includes('--save');
  const root = repoRoot();
  const seeds = loadSeeds(root);
  if (seeds.length === 0) throw new Error('no seeds found (bgpd/wire/test/vectors/exabgp missing?)');
  const corpusDir = join(root, 'bgpd/wire/test/corpus');
  const findings = new Map<string, Finding>();
  const record = (f: Finding): void => {
    const id = `${f.kind}-${createHash('sha256').update(f.hex + JSON.stringify(f.context)).digest('hex').slice(0, 12)}`;
    if (findings.has(id)) return;
    findings.set(id, f);
    console.log(`finding ${id}: ${f.detail}`);
    if (save) {
      mkdirSync(corpusDir, { recursive: true });
      writeFileSync(join(corpusDir, `${id}.json`), JSON.stringify(f, null, 1) + '\n');
    }
  };

  let total = 0;
  const deadline = Date.now() + seconds * 1000;
  let restarts = 0;
  while (Date.now() < deadline) {
    const shared = new SharedArrayBuffer(HDR_INTS * 4 + 70000);
    const counters = new Int32Array(shared, 0, HDR_INTS);
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { seeds, seed: seed + restarts, shared } satisfies WorkerInit });
    worker.on('message', (f: Finding) => record(f));
    worker.on('error', (e) => record({ kind: 'exception', hex: '', context: DEFAULT_CTX, detail: `worker error: ${String(e)}` }));
    let last = 0;
    let stuckSince = Date.now();
    let hung = false;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const n = Atomics.load(counters, 0);
      if (n !== last) {
        last = n;
        stuckSince = Date.now();
      } else if (Date.now() - stuckSince > 5000) {
        // No progress for 5 s: the current input hangs the decoder.
        const len = counters[1]!;
        const bytes = new Uint8Array(shared, HDR_INTS * 4, len).slice();
        record({ kind: 'hang', hex: toHex(bytes), context: ctxFromFlags(counters[2]!), detail: 'no progress for 5 s' });
        hung = true;
        break;
      }
    }
    total += Atomics.load(counters, 0);
    await worker.terminate();
    if (!hung) break;
    restarts++;
  }
  console.log(`bench wire fuzz-executions: ${total} execs`);
  console.log(`bench wire fuzz-rate: ${Math.round(total / seconds)} execs/s`);
  console.log(`fuzz seeds: ${seeds.length}, findings: ${findings.size}${save ? ` (saved to ${corpusDir})` : ''}`);
}

if (isMainThread) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  workerMain(workerData as WorkerInit);
}
