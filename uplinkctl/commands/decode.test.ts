// `uplinkctl decode` against the recorded vectors and captures, and against bad input. The expected
// values come from the vectors' tshark-derived `expect`, not from the codec.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDecode, type DecodeOptions } from './decode.js';

const ROOT = join(import.meta.dirname, '..', '..');
const VECTORS = join(ROOT, 'test', 'vectors');
const PCAP = join(VECTORS, 'pcap');

interface Vector {
  name: string;
  hex: string;
  context: { fourOctetAs: boolean; addPath: string[] };
  expect: { type: string; notification?: { code: number; subcode: number; communication?: string }; update?: Record<string, unknown> };
}

function vectors(scenario: string, type: string): Vector[] {
  return JSON.parse(readFileSync(join(VECTORS, scenario, `${type}.json`), 'utf8')) as Vector[];
}

async function decode(args: string[], opts: DecodeOptions = {}, stdin = ''): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runDecode(args, opts, { readStdin: async () => stdin, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

type Obj = Record<string, unknown>;
const parse = (lines: string[]): Obj[] => lines.map((l) => JSON.parse(l) as Obj);

describe('uplinkctl decode (function)', () => {
  const shutdown = vectors('frr-bird', 'notification').find((v) => v.expect.notification?.communication)!;
  const as4 = vectors('exabgp-frr', 'update').find((v) => v.expect.update?.as4Path && !v.context.fourOctetAs)!;
  const addPath = vectors('frr-bird', 'update').find((v) => v.context.addPath.includes('1/1') && (v.expect.update?.nlri as unknown[]).length > 0)!;

  it('names the NOTIFICATION and its shutdown communication (RFC 9003)', async () => {
    const { code, out } = await decode([shutdown.hex]);
    expect(code).toBe(0);
    const [m] = parse(out);
    expect(m).toMatchObject({
      typeName: 'NOTIFICATION',
      code: shutdown.expect.notification!.code,
      subcode: shutdown.expect.notification!.subcode,
      codeName: 'Cease',
      subcodeName: 'AdministrativeShutdown',
      shutdownCommunication: shutdown.expect.notification!.communication,
    });
  });

  it('reads stdin with comments, blank lines, spaces and colons; one object per message', async () => {
    const spaced = shutdown.hex.match(/../g)!.join(' ');
    const colons = as4.hex.match(/../g)!.join(':');
    const { code, out } = await decode([], { twoOctetAs: true }, `# a comment\n\n${spaced}\n  ${colons}  \n`);
    expect(code).toBe(0);
    const objs = parse(out);
    expect(objs.map((o) => o.typeName)).toEqual(['NOTIFICATION', 'UPDATE']);
    expect(objs.map((o) => o.line)).toEqual([3, 4]);
  });

  it('a 2-octet session: AS_TRANS in AS_PATH, the real ASNs in AS4_PATH, prefixes as strings', async () => {
    const { out } = await decode([as4.hex], { twoOctetAs: true });
    const [m] = parse(out) as [{ attributes: Obj[]; nlri: unknown[] }];
    const want = as4.expect.update as { asPath: { asns: number[] }[]; as4Path: { asns: number[] }[]; nlri: { prefix: string }[] };
    const asPath = m.attributes.find((a) => a.kind === 'as-path') as { typeCode: number; segments: { asns: number[] }[] };
    const as4Path = m.attributes.find((a) => a.kind === 'as4-path') as { typeCode: number; segments: { asns: number[] }[] };
    expect(asPath.typeCode).toBe(2);
    expect(as4Path.typeCode).toBe(17);
    expect(asPath.segments.map((s) => s.asns)).toEqual(want.asPath.map((s) => s.asns));
    expect(as4Path.segments.map((s) => s.asns)).toEqual(want.as4Path.map((s) => s.asns));
    expect(m.nlri).toEqual(want.nlri.map((p) => p.prefix));
  });

  it('--add-path decodes path identifiers; without it the same bytes are malformed or different', async () => {
    const want = addPath.expect.update as { nlri: { prefix: string; pathId: number }[] };
    const withAp = parse((await decode([addPath.hex], { addPath: 'ipv4-unicast' })).out)[0] as { nlri: unknown[] };
    expect(withAp.nlri).toEqual(want.nlri.map((p) => ({ prefix: p.prefix, pathId: p.pathId })));
    const without = parse((await decode([addPath.hex])).out)[0] as { nlri?: unknown[] };
    expect(without.nlri).not.toEqual(withAp.nlri);
  });

  it('--reencode prints the same bytes back for every recorded UPDATE and OPEN', async () => {
    for (const [scenario, type] of [['frr-bird', 'update'], ['bird-gobgp', 'open'], ['frr-gobgp', 'update']] as const) {
      for (const v of vectors(scenario, type)) {
        const opts: DecodeOptions = { reencode: true, extendedNexthop: true, twoOctetAs: !v.context.fourOctetAs };
        if (v.context.addPath.length) opts.addPath = v.context.addPath.join(',');
        const { out } = await decode([v.hex], opts);
        expect(out, v.name).toEqual([v.hex]);
      }
    }
  });

  it('a malformed message prints an error object naming the NOTIFICATION and goes on; --strict exits 1', async () => {
    const badMarker = `00${shutdown.hex.slice(2)}`;
    const badLength = `${'ff'.repeat(16)}0005${'04'}`;
    const lines = [badMarker, badLength, shutdown.hex];
    const { code, out, err } = await decode(lines);
    expect(code).toBe(0);
    expect(err).toEqual([]);
    const objs = parse(out) as { error?: { notification: Obj; action: string }; typeName?: string }[];
    expect(objs).toHaveLength(3);
    expect(objs[0]!.error!.notification).toMatchObject({ code: 1, subcode: 1, codeName: 'MessageHeaderError', subcodeName: 'ConnectionNotSynchronized' });
    expect(objs[1]!.error!.notification).toMatchObject({ code: 1, subcode: 2, subcodeName: 'BadMessageLength', data: '0005' });
    expect(objs[0]!.error!.action).toBe('session-reset');
    expect(objs[2]!.typeName).toBe('NOTIFICATION');
    expect((await decode(lines, { strict: true })).code).toBe(1);
  });

  it('an UPDATE with an invalid ORIGIN reports the RFC 7606 action (treat-as-withdraw)', async () => {
    // Find the ORIGIN attribute (flags 0x40, type 1, length 1) in a recorded UPDATE and set value 7.
    const v = vectors('bird-gobgp', 'update').find((x) => x.hex.includes('40010100'))!;
    const bad = v.hex.replace('40010100', '40010107');
    const opts: DecodeOptions = v.context.addPath.length ? { addPath: v.context.addPath.join(',') } : {};
    const [m] = parse((await decode([bad], opts)).out) as [{ action?: string; errors?: { notification: Obj }[]; error?: Obj }];
    expect(m.error).toBeUndefined();
    expect(m.action).toBe('treat-as-withdraw');
    expect(m.errors![0]!.notification).toMatchObject({ code: 3, subcode: 6, subcodeName: 'InvalidOriginAttribute' });
  });

  it.each([
    { name: 'not hex', input: 'ffff zz', msg: /not hex/ },
    { name: 'odd length', input: 'fff', msg: /odd/ },
  ])('bad input ($name): one line on stderr, exit 1', async ({ input, msg }) => {
    const { code, out, err } = await decode([], {}, `${input}\n`);
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(msg);
  });

  it('--add-path with an unknown family is bad input', async () => {
    const { code, err } = await decode([shutdown.hex], { addPath: 'ipv5-unicast' });
    expect(code).toBe(1);
    expect(err[0]).toMatch(/unknown family/);
  });
});

describe('uplinkctl decode --pcap (function)', () => {
  it('follows every stream with the context its OPENs negotiated', async () => {
    const { code, out } = await decode([], { pcap: join(PCAP, 'frr-gobgp.pcap') });
    expect(code).toBe(0);
    const objs = parse(out) as { stream: number; direction: string; timestamp: string; typeName?: string; code?: number; codeName?: string; error?: unknown }[];
    expect(objs.length).toBeGreaterThan(20);
    expect(objs.every((o) => o.error === undefined)).toBe(true);
    // IPv4 and IPv6 sessions, plus FRR's reconnect after the hold timer expired.
    expect([...new Set(objs.map((o) => o.stream))].sort()).toEqual([0, 1, 2]);
    expect(objs.every((o) => /^(\[[0-9a-f:]+\]|[0-9.]+):\d+ -> /.test(o.direction) && !Number.isNaN(Date.parse(o.timestamp)))).toBe(true);
    // The hold timer expiry the recording provoked (tshark saw code 4 subcode 0).
    const want = vectors('frr-gobgp', 'notification')[0]!.expect.notification!;
    expect(objs.find((o) => o.typeName === 'NOTIFICATION')).toMatchObject({ code: want.code, codeName: 'HoldTimerExpired' });
  });

  it('decodes every UPDATE to the prefixes tshark saw, whatever the bare-hex flags say', async () => {
    for (const scenario of ['frr-bird', 'frr-gobgp', 'bird-gobgp', 'exabgp-frr']) {
      // Flags that contradict the captured OPENs must not change the result: the OPENs win.
      const { out } = await decode([], { pcap: join(PCAP, `${scenario}.pcap`), twoOctetAs: true, addPath: 'ipv6-unicast' });
      const ours = new Set<string>();
      for (const o of parse(out) as { typeName?: string; nlri?: (string | { prefix: string; pathId: number })[]; error?: unknown; attributes?: { kind: string; nlri?: unknown[] }[] }[]) {
        expect(o.error, scenario).toBeUndefined();
        if (o.typeName !== 'UPDATE') continue;
        const lists = [o.nlri ?? [], ...(o.attributes ?? []).filter((a) => a.kind === 'mp-reach').map((a) => a.nlri ?? [])];
        for (const p of lists.flat() as (string | { prefix: string; pathId: number })[]) ours.add(typeof p === 'string' ? p : `${p.prefix}#${p.pathId}`);
      }
      const theirs = new Set<string>();
      for (const v of vectors(scenario, 'update')) {
        const u = v.expect.update as { nlri: { prefix: string; pathId?: number }[]; mpReach?: { nlri: { prefix: string; pathId?: number }[] } };
        for (const p of [...u.nlri, ...(u.mpReach?.nlri ?? [])]) theirs.add(p.pathId === undefined ? p.prefix : `${p.prefix}#${p.pathId}`);
      }
      expect(theirs.size, scenario).toBeGreaterThan(0);
      expect([...ours].sort(), scenario).toEqual([...theirs].sort());
    }
  });

  it('a truncated capture is bad input: one line on stderr, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulv-decode-'));
    try {
      const whole = readFileSync(join(PCAP, 'frr-bird.pcap'));
      const cut = join(dir, 'cut.pcap');
      writeFileSync(cut, whole.subarray(0, whole.length - 7));
      const { code, err } = await decode([], { pcap: cut });
      expect(code).toBe(1);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/cut short/);
      const missing = await decode([], { pcap: join(dir, 'nope.pcap') });
      expect(missing.code).toBe(1);
      expect(missing.err[0]).toMatch(/cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Spawns the real CLI entry point (the lead wired registerDecode into uplinkctl/main.ts), compiling
// first when the emitted JS is older than the source.
describe('uplinkctl decode (spawned CLI)', () => {
  const main = join(ROOT, 'dist', 'uplinkctl', 'main.js');
  const compiled = join(ROOT, 'dist', 'uplinkctl', 'commands', 'decode.js');

  beforeAll(() => {
    // Sources this command runs on; recompile when any emitted file is missing or older.
    const sources = [join(ROOT, 'uplinkctl', 'commands', 'decode.ts'), join(ROOT, 'uplinkctl', 'main.ts')];
    for (const dir of ['bgpd/pcap', 'bgpd/wire']) {
      for (const f of readdirSync(join(ROOT, dir))) if (f.endsWith('.ts') && !f.endsWith('.test.ts')) sources.push(join(ROOT, dir, f));
    }
    const stale = sources.some((src) => {
      const out = join(ROOT, 'dist', relative(ROOT, src)).replace(/\.ts$/, '.js');
      return !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs;
    });
    if (stale) {
      // tsc still emits when another package has a type error; the CLI only needs these files.
      spawnSync('npx', ['tsc', '-p', join(ROOT, 'tsconfig.json')], { cwd: ROOT, stdio: 'ignore' });
    }
    expect(existsSync(compiled)).toBe(true);
  }, 180_000);

  function cli(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('node', [main, 'decode', ...args], { input, encoding: 'utf8', cwd: ROOT });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('decodes hex from stdin to NDJSON, exit 0', () => {
    const v = vectors('frr-bird', 'notification')[0]!;
    const r = cli([], `${v.hex}\n`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ typeName: 'NOTIFICATION', code: v.expect.notification!.code });
  });

  it('bad hex: one line on stderr, exit 1', () => {
    const r = cli(['nothex']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--pcap prints one line per message, as many as tshark finds', () => {
    const file = join(PCAP, 'bird-gobgp.pcap');
    const r = cli(['--pcap', file]);
    expect(r.status).toBe(0);
    const ours = r.stdout.trim().split('\n').length;
    const theirs = execFileSync('tshark', ['-r', file, '-Y', 'bgp', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'bgp.type'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .flatMap((l) => l.split(',')).length;
    expect(ours).toBe(theirs);
  });
});
