import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PcapError, PcapErrorCode, readBgpMessages, readBgpTcpStreams, LinkType } from './index.js';
import { linkFrame, packet, pcapFile, pcapngFile, type SynthSegment } from './synth.test-helper.js';

const PCAP_DIR = join(import.meta.dirname, '..', '..', 'test', 'vectors', 'pcap');
const RECORDINGS = ['frr-bird', 'frr-gobgp', 'bird-gobgp', 'exabgp-frr'];

function load(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(PCAP_DIR, `${name}.pcap`)));
}

/** tshark's view of the same capture: "stream type length" per BGP message, in wire order per direction. */
function tsharkMessages(file: string): Map<string, string[]> {
  const out = execFileSync('tshark', ['-r', file, '-Y', 'bgp', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
    '-e', 'tcp.stream', '-e', 'tcp.srcport', '-e', 'bgp.type', '-e', 'bgp.length'], { encoding: 'utf8' });
  const by = new Map<string, string[]>();
  for (const line of out.trim().split('\n')) {
    const [stream, sport, types, lengths] = line.split('\t');
    const t = (types ?? '').split(',');
    const l = (lengths ?? '').split(',');
    const key = `${stream}/${sport}`;
    const list = by.get(key) ?? [];
    t.forEach((x, i) => list.push(`${x}:${l[i]}`));
    by.set(key, list);
  }
  return by;
}

describe('pcap reader on the recorded sessions', () => {
  for (const name of RECORDINGS) {
    it(`${name}: the same BGP messages, per direction, as tshark`, () => {
      const file = join(PCAP_DIR, `${name}.pcap`);
      const ours = new Map<string, string[]>();
      for (const item of readBgpMessages(load(name))) {
        expect(item.kind).toBe('message');
        if (item.kind !== 'message') continue;
        const key = `${item.stream}/${item.from.port}`;
        ours.set(key, [...(ours.get(key) ?? []), `${item.bytes[18]}:${item.bytes.length}`]);
      }
      const theirs = tsharkMessages(file);
      expect(ours.size).toBeGreaterThan(0);
      expect(Object.fromEntries(ours)).toEqual(Object.fromEntries(theirs));
    });
  }

  it('reads the pcapng conversion (editcap) identically', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulv-pcap-'));
    try {
      const ng = join(dir, 'frr-bird.pcapng');
      execFileSync('editcap', ['-F', 'pcapng', join(PCAP_DIR, 'frr-bird.pcap'), ng]);
      const a = readBgpMessages(load('frr-bird'));
      const b = readBgpMessages(new Uint8Array(readFileSync(ng)));
      expect(b.length).toBe(a.length);
      b.forEach((m, i) => {
        const x = a[i]!;
        expect(m.kind === 'message' && x.kind === 'message' && Buffer.compare(m.bytes, x.bytes) === 0).toBe(true);
        expect(m.timestamp).toBeCloseTo(x.timestamp, 5);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every golden vector is found at its stream/direction/index with the context tshark derived', () => {
    const root = join(import.meta.dirname, '..', '..', 'test', 'vectors');
    let checked = 0;
    for (const name of RECORDINGS) {
      const items = readBgpMessages(load(name));
      const at = new Map<string, (typeof items)[number]>();
      for (const m of items) if (m.kind === 'message') at.set(`${m.stream}|${m.from.address}:${m.from.port}|${m.index}`, m);
      for (const f of readdirSync(join(root, name))) {
        const vectors = JSON.parse(readFileSync(join(root, name, f), 'utf8')) as {
          hex: string;
          pcap: { stream: number; from: string; index: number };
          context: { fourOctetAs: boolean; extendedMessage: boolean; addPath: string[]; extendedNextHop: string[] };
        }[];
        for (const v of vectors) {
          const m = at.get(`${v.pcap.stream}|${v.pcap.from}|${v.pcap.index}`);
          expect(m, JSON.stringify(v.pcap)).toBeDefined();
          if (m?.kind !== 'message') continue;
          expect(Buffer.from(m.bytes).toString('hex')).toBe(v.hex);
          expect({
            fourOctetAs: m.context.fourOctetAs,
            extendedMessage: m.context.extendedMessage,
            addPath: [...m.context.addPathReceive].sort(),
            extendedNextHop: [...m.context.extendedNextHop].sort(),
          }).toEqual(v.context);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('frr-bird IPv4 session: 4-octet AS, extended messages and add-path negotiated from both OPENs', () => {
    const msgs = readBgpMessages(load('frr-bird')).filter((m) => m.kind === 'message');
    // Stream 0 is the IPv4 session with add-path and extended messages negotiated both ways.
    const s0 = msgs.filter((m) => m.stream === 0);
    expect(s0.length).toBeGreaterThan(4);
    for (const m of s0) {
      if (m.kind !== 'message') continue;
      expect(m.context.fourOctetAs).toBe(true);
      expect(m.context.extendedMessage).toBe(true);
      expect([...m.context.addPathReceive]).toEqual(['1/1']);
    }
  });
});

describe('pcap reader on synthetic captures', () => {
  // Two BGP byte streams from the recordings, cut into segments.
  const streams = readBgpTcpStreams(load('frr-bird'));
  const client = streams[0]!.directions[0].data;
  const server = streams[0]!.directions[1].data;

  function segmentsOf(data: Uint8Array, cuts: number[], fromClient: boolean): SynthSegment[] {
    const points = [...new Set(cuts.map((c) => c % data.length))].sort((a, b) => a - b);
    const out: SynthSegment[] = [{ fromClient, offset: -1, data: new Uint8Array(0), syn: true }];
    let prev = 0;
    for (const p of [...points, data.length]) {
      if (p > prev) out.push({ fromClient, offset: prev, data: data.subarray(prev, p) });
      prev = p;
    }
    return out;
  }

  const linkTypes = [LinkType.Ethernet, LinkType.LinuxSll, LinkType.LinuxSll2, LinkType.Raw];

  it('reassembles any segmentation, order, duplication, link type, IP version and file format', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.constantFrom(...linkTypes),
        fc.constantFrom<4 | 6>(4, 6),
        fc.boolean(),
        fc.boolean(),
        (cutsA, cutsB, shuffle, linkType, family, ng, bigEndian) => {
          const segs = [...segmentsOf(client, cutsA, true), ...segmentsOf(server, cutsB, false)];
          // Keep both SYNs first; shuffle the rest (out of order) and repeat some (retransmits).
          const rest = segs.filter((s) => !s.syn);
          for (let i = 0; i < shuffle.length && rest.length > 1; i++) {
            const a = shuffle[i]! % rest.length;
            const b = (shuffle[i]! >> 3) % rest.length;
            if (i % 4 === 3) rest.push(rest[a]!);
            else [rest[a], rest[b]] = [rest[b]!, rest[a]!];
          }
          const frames = [...segs.filter((s) => s.syn), ...rest].map((s) => linkFrame(packet(s, family), linkType));
          const file = ng ? pcapngFile(frames, linkType) : pcapFile(frames, linkType, !bigEndian);
          const got = readBgpTcpStreams(file);
          expect(got).toHaveLength(1);
          expect(Buffer.compare(got[0]!.directions[0].data, client)).toBe(0);
          expect(Buffer.compare(got[0]!.directions[1].data, server)).toBe(0);
          expect(got[0]!.directions[0].bytesAfterGap).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a capture that starts mid-session resynchronises on the next marker', () => {
    const frames = [
      linkFrame(packet({ fromClient: true, offset: 7, data: client.subarray(7) }, 4), LinkType.Ethernet),
    ];
    const msgs = readBgpMessages(pcapFile(frames, LinkType.Ethernet));
    expect(msgs.length).toBeGreaterThan(0);
    expect(msgs.every((m) => m.kind === 'message' && m.bytes[0] === 0xff)).toBe(true);
  });

  it('a lost segment leaves the bytes after the hole out of the stream', () => {
    const frames = [
      linkFrame(packet({ fromClient: true, offset: -1, data: new Uint8Array(0), syn: true }, 4), LinkType.Ethernet),
      linkFrame(packet({ fromClient: true, offset: 0, data: client.subarray(0, 50) }, 4), LinkType.Ethernet),
      linkFrame(packet({ fromClient: true, offset: 60, data: client.subarray(60) }, 4), LinkType.Ethernet),
    ];
    const [s] = readBgpTcpStreams(pcapFile(frames, LinkType.Ethernet));
    expect(s!.directions[0].data.length).toBe(50);
    expect(s!.directions[0].bytesAfterGap).toBe(client.length - 60);
  });

  it('the synthetic writer makes captures tshark reads as BGP', () => {
    // Guards the synthetic writer itself, so the property test above checks the reader, not the writer.
    const dir = mkdtempSync(join(tmpdir(), 'ulv-pcap-'));
    try {
      const frames = [
        linkFrame(packet({ fromClient: true, offset: -1, data: new Uint8Array(0), syn: true }, 6), LinkType.Ethernet),
        linkFrame(packet({ fromClient: true, offset: 0, data: client.subarray(0, 200) }, 6), LinkType.Ethernet),
      ];
      const f = join(dir, 'one.pcap');
      writeFileSync(f, pcapFile(frames, LinkType.Ethernet));
      // tshark must agree that this is a valid capture with BGP inside.
      const types = execFileSync('tshark', ['-r', f, '-Y', 'bgp', '-T', 'fields', '-e', 'bgp.type'], { encoding: 'utf8' }).trim();
      expect(types.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pcap reader errors', () => {
  const good = load('frr-bird');

  it.each([
    { name: 'empty file', bytes: new Uint8Array(0), code: PcapErrorCode.Truncated },
    { name: 'not a capture', bytes: new TextEncoder().encode('hello world, not a pcap'), code: PcapErrorCode.UnknownFormat },
    { name: 'cut inside the global header', bytes: good.subarray(0, 20), code: PcapErrorCode.Truncated },
    { name: 'cut inside a record', bytes: good.subarray(0, good.length - 5), code: PcapErrorCode.Truncated },
  ])('$name -> $code', ({ bytes, code }) => {
    let err: unknown;
    try {
      readBgpMessages(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PcapError);
    expect((err as PcapError).code).toBe(code);
  });

  it('a pcapng block with a bad trailing length is corrupt', () => {
    const frames = [linkFrame(packet({ fromClient: true, offset: 0, data: new Uint8Array([1, 2, 3]) }, 4), LinkType.Ethernet)];
    const ng = pcapngFile(frames, LinkType.Ethernet);
    ng[ng.length - 1] = 0x7f;
    expect(() => readBgpMessages(ng)).toThrow(PcapError);
  });

  it('any truncation of a real capture is a PcapError or a shorter read, never another exception', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length }), (n) => {
        try {
          readBgpMessages(good.subarray(0, n));
        } catch (e) {
          expect(e).toBeInstanceOf(PcapError);
        }
      }),
      { numRuns: 200 },
    );
  });

});
