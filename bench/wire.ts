// Benchmark of bgpd/wire, the hot path of convergence. Figures, from one run:
//  (a) UPDATEs packed with ~800 IPv4 /24s, one attribute set (ORIGIN, 4-octet AS_PATH, NEXT_HOP, MED,
//      COMMUNITIES): decode (+ walking every prefix) and encode (packUpdates), messages/s and prefixes/s;
//  (b) IPv6 MP_REACH UPDATEs (440 /64s each): decode and encode;
//  (c) KEEPALIVE and a one-prefix UPDATE: decode and encode, messages/s.
// Anchors measured in the same run: the object-per-prefix way (decode + toArray), and a plain copy of
// the same bytes (Uint8Array.slice), the floor any decoder pays.
//
//   npx tsc -p . && node dist/bench/wire.js
import {
  AttrFlag,
  KEEPALIVE,
  NlriBuilder,
  NlriList,
  decodeMessage,
  encodeMessage,
  makeContext,
  packUpdates,
  parseIpv6,
  type Message,
  type PathAttribute,
} from '../bgpd/wire/index.js';

const ctx = makeContext({ fourOctetAs: true });
const SECONDS = Number(process.env.BENCH_WIRE_SECONDS ?? '1.5');

function line(name: string, value: number, unit: string): void {
  const v = value >= 100 ? Math.round(value).toString() : value.toFixed(2);
  console.log(`bench wire ${name}: ${v} ${unit}`);
}

/** Runs fn repeatedly for SECONDS; returns iterations per second. */
function rate(fn: () => void): number {
  for (let i = 0; i < 50; i++) fn(); // warm-up
  let n = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(Math.round(SECONDS * 1e9));
  let t = t0;
  while (t - t0 < limit) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    t = process.hrtime.bigint();
  }
  return n / (Number(t - t0) / 1e9);
}

const attrs: PathAttribute[] = [
  { kind: 'origin', flags: AttrFlag.Transitive, origin: 0 },
  { kind: 'as-path', flags: AttrFlag.Transitive, segments: [{ type: 2, asns: [4200000001, 65010, 65020] }] },
  { kind: 'next-hop', flags: AttrFlag.Transitive, nextHop: '10.0.0.1' },
  { kind: 'med', flags: AttrFlag.Optional, value: 0 },
  { kind: 'communities', flags: AttrFlag.Optional | AttrFlag.Transitive, communities: [0xfde80001, 0xfde80002, 0xfde80003, 0xffffff01] },
];

// (a) 64 distinct messages of 800 IPv4 /24s.
const v4Lists: NlriList[] = [];
for (let m = 0; m < 64; m++) {
  const b = new NlriBuilder(1, 1, false, 4096);
  for (let i = 0; i < 800; i++) b.addIpv4(((10 << 24) | (m << 18) | (i << 8)) >>> 0, 24);
  v4Lists.push(b.build());
}
const v4Msgs = v4Lists.map((l) => {
  const out = packUpdates(attrs, l, ctx);
  if (out.length !== 1) throw new Error(`expected one UPDATE per 800 prefixes, got ${out.length}`);
  return out[0]!;
});
const v4Decoded: Message[] = v4Msgs.map((b) => {
  const r = decodeMessage(b, ctx);
  if (!r.ok) throw r.error;
  return r.message;
});

// (b) IPv6 /64s in MP_REACH, as many as fit one 4096-byte message.
const mp: PathAttribute = {
  kind: 'mp-reach',
  flags: AttrFlag.Optional,
  afi: 2,
  safi: 1,
  nextHop: new Uint8Array([...parseIpv6('2001:db8::1')!, ...parseIpv6('fe80::1')!]),
  reserved: 0,
  nlri: NlriList.empty(2, 1),
};
const v6Attrs: PathAttribute[] = [attrs[0]!, attrs[1]!, mp, attrs[4]!];
const v6Lists: NlriList[] = [];
const v6Msgs: Uint8Array[] = [];
for (let m = 0; v6Msgs.length < 64; m++) {
  const b = new NlriBuilder(2, 1, false, 8192);
  for (let i = 0; i < 440; i++) b.add(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, m, i >> 8, i & 255, 0), 64);
  const l = b.build();
  const out = packUpdates(v6Attrs, l, ctx);
  if (out.length !== 1) throw new Error(`expected one IPv6 UPDATE per list, got ${out.length}`);
  v6Lists.push(l);
  v6Msgs.push(out[0]!);
}

// (c) small messages.
const ka = encodeMessage(KEEPALIVE, ctx);
const small = packUpdates(attrs, v4Lists[0]!.slice(v4Lists[0]!.entryOffsets(), 0, 1), ctx)[0]!;
const smallDecoded = (() => {
  const r = decodeMessage(small, ctx);
  if (!r.ok) throw r.error;
  return r.message;
})();

let sink = 0;
function walk(m: Message): void {
  if (m.type !== 2) return;
  m.nlri.forEachIpv4((a, len) => {
    sink = (sink + a + len) | 0;
  });
  for (const at of m.attributes) {
    if (at.kind === 'mp-reach') {
      at.nlri.forEach((b, off, len) => {
        sink = (sink + b[off]! + len) | 0;
      });
    }
  }
}

let k = 0;
const decodeV4 = rate(() => {
  const r = decodeMessage(v4Msgs[k++ & 63]!, ctx);
  if (r.ok) walk(r.message);
});
const naiveV4 = rate(() => {
  const r = decodeMessage(v4Msgs[k++ & 63]!, ctx);
  if (r.ok && r.message.type === 2) sink = (sink + r.message.nlri.toArray().length) | 0;
});
const copyV4 = rate(() => {
  sink = (sink + v4Msgs[k++ & 63]!.slice().length) | 0;
});
const encodeV4 = rate(() => {
  sink = (sink + packUpdates(attrs, v4Lists[k++ & 63]!, ctx)[0]!.length) | 0;
});
const reencodeV4 = rate(() => {
  sink = (sink + encodeMessage(v4Decoded[k++ & 63]!, ctx).length) | 0;
});
line('ipv4-800-decode', decodeV4, 'msgs/s');
line('ipv4-800-decode-prefixes', decodeV4 * 800, 'prefixes/s');
line('ipv4-800-encode-pack', encodeV4, 'msgs/s');
line('ipv4-800-encode-pack-prefixes', encodeV4 * 800, 'prefixes/s');
line('ipv4-800-encode-message', reencodeV4, 'msgs/s');
line('anchor-ipv4-800-decode-object-per-prefix', naiveV4, 'msgs/s');
line('anchor-ipv4-800-copy', copyV4, 'msgs/s');
line('ratio-decode-vs-object-per-prefix', decodeV4 / naiveV4, 'x');
line('ratio-decode-vs-copy', decodeV4 / copyV4, 'x');

const v6Count = v6Lists[0]!.count;
const decodeV6 = rate(() => {
  const r = decodeMessage(v6Msgs[k++ & 63]!, ctx);
  if (r.ok) walk(r.message);
});
const encodeV6 = rate(() => {
  sink = (sink + packUpdates(v6Attrs, v6Lists[k++ & 63]!, ctx)[0]!.length) | 0;
});
line(`ipv6-mp-${v6Count}-decode`, decodeV6, 'msgs/s');
line(`ipv6-mp-${v6Count}-decode-prefixes`, decodeV6 * v6Count, 'prefixes/s');
line(`ipv6-mp-${v6Count}-encode-pack`, encodeV6, 'msgs/s');
line(`ipv6-mp-${v6Count}-encode-pack-prefixes`, encodeV6 * v6Count, 'prefixes/s');

const decodeKa = rate(() => {
  const r = decodeMessage(ka, ctx);
  sink = (sink + (r.ok ? 1 : 0)) | 0;
});
const encodeKa = rate(() => {
  sink = (sink + encodeMessage(KEEPALIVE, ctx).length) | 0;
});
const decodeSmall = rate(() => {
  const r = decodeMessage(small, ctx);
  if (r.ok) walk(r.message);
});
const encodeSmall = rate(() => {
  sink = (sink + encodeMessage(smallDecoded, ctx).length) | 0;
});
line('keepalive-decode', decodeKa, 'msgs/s');
line('keepalive-encode', encodeKa, 'msgs/s');
line('small-update-decode', decodeSmall, 'msgs/s');
line('small-update-encode', encodeSmall, 'msgs/s');
if (sink === 42) console.log('');
