// Benchmark of lib/ip.ts, the address parser and printer shared by bgpd/wire, ipam, topology and bfd.
// Figures, from one run, ns per address over 1000 distinct addresses:
//  (a) text -> bytes (parseIpv4/parseIpv6, the codec's form) and text -> bigint (parseIpValue);
//  (b) bytes -> RFC 5952 text (ipv6ToString) and bigint -> text (formatIpValue).
// Anchors measured in the same run: the ip-address package doing the same (why lib/ip.ts does not use
// it at run time), and node:net isIP(), which only validates (a floor for any parser).
//
//   npx tsc -p . && node dist/bench/ip.js
import { isIP } from 'node:net';
import { Address4, Address6 } from 'ip-address';
import { formatIpValue, ipv6ToString, parseIpValue, parseIpv4, parseIpv6 } from '../lib/ip.js';

const SECONDS = Number(process.env.BENCH_IP_SECONDS ?? '0.7');
const N = 1000;
const v4 = Array.from({ length: N }, (_, i) => `10.${(i * 7) & 255}.${i >> 2}.${(i * 13) & 255}`);
const v6 = Array.from({ length: N }, (_, i) => `2001:db8:${i.toString(16)}::${((i * 7919) & 0xffff).toString(16)}`);
const v6bytes = v6.map((s) => parseIpv6(s)!);
const v6values = v6.map((s) => parseIpValue(s)!.value);

function line(name: string, value: number, unit: string): void {
  console.log(`bench ip ${name}: ${value >= 100 ? Math.round(value) : value.toFixed(2)} ${unit}`);
}

let sink = 0;

/** ns per address: `fn` handles all N addresses once per call. */
function nsPerOp(fn: () => void): number {
  for (let i = 0; i < 20; i++) fn(); // warm-up
  let calls = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(Math.round(SECONDS * 1e9));
  let t = t0;
  while (t - t0 < limit) {
    fn();
    calls++;
    t = process.hrtime.bigint();
  }
  return Number(t - t0) / (calls * N);
}

const figures: Array<[string, () => void, () => void]> = [
  ['parse-v4-bytes', () => { for (const s of v4) sink += parseIpv4(s)![3]!; }, () => { for (const s of v4) sink += new Address4(s).toArray()[3]!; }],
  ['parse-v6-bytes', () => { for (const s of v6) sink += parseIpv6(s)![15]!; }, () => { for (const s of v6) sink += new Address6(s).toByteArray().length; }],
  ['parse-v4-bigint', () => { for (const s of v4) sink += Number(parseIpValue(s)!.value & 1n); }, () => { for (const s of v4) sink += Number(new Address4(s).bigInt() & 1n); }],
  ['parse-v6-bigint', () => { for (const s of v6) sink += Number(parseIpValue(s)!.value & 1n); }, () => { for (const s of v6) sink += Number(new Address6(s).bigInt() & 1n); }],
  ['format-v6-bytes', () => { for (const b of v6bytes) sink += ipv6ToString(b).length; }, () => { for (const b of v6bytes) sink += Address6.fromUnsignedByteArray([...b]).correctForm().length; }],
  ['format-v6-bigint', () => { for (const v of v6values) sink += formatIpValue(6, v).length; }, () => { for (const v of v6values) sink += Address6.fromBigInt(v).correctForm().length; }],
];

for (const [name, ours, theirs] of figures) {
  const a = nsPerOp(ours);
  const b = nsPerOp(theirs);
  line(name, a, 'ns/address');
  line(`${name} ip-address`, b, 'ns/address');
  line(`${name} ratio ip-address/lib`, b / a, 'x');
}
const floorV4 = nsPerOp(() => { for (const s of v4) sink += isIP(s); });
const floorV6 = nsPerOp(() => { for (const s of v6) sink += isIP(s); });
line('validate-v4 node:net isIP', floorV4, 'ns/address');
line('validate-v6 node:net isIP', floorV6, 'ns/address');
if (sink === -1) console.log('unreachable');
