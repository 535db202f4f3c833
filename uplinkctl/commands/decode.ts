// `uplinkctl decode`: BGP messages (hex lines, or a pcap/pcapng capture) to NDJSON, one object per
// message, with names for message types, capabilities, attributes and NOTIFICATION codes. On-call use:
// paste a hex dump from a peer's log, or point it at a tcpdump of a misbehaving session.
//
// Bad input (not hex, odd length, unreadable or truncated capture) is the operator's mistake: one line
// on stderr and exit 1. A malformed BGP message is data, not bad input: it prints an {"error": ...}
// object naming the NOTIFICATION or the RFC 7606 action, and decoding goes on (exit 0 unless --strict).
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import {
  attributeTypeCode,
  capabilityCode,
  decodeMessage,
  encodeMessage,
  ErrorCode,
  makeContext,
  messageToJson,
  notificationName,
  toHex,
  type FamilyKey,
  type Json,
  type Message,
  type WireContext,
  type WireError,
} from '../../bgpd/wire/index.js';
import { PcapError, readBgpMessages, type Endpoint } from '../../bgpd/pcap/index.js';
import { CtlError } from '../client.js';

export interface DecodeOptions {
  /** Read this capture instead of hex. */
  pcap?: string;
  /** Print the re-encoded hex instead of JSON. */
  reencode?: boolean;
  /** Exit 1 when any message is malformed or needs an RFC 7606 action. */
  strict?: boolean;
  /** Context for bare hex: AS_PATH with 2-octet ASNs (RFC 4271) instead of 4-octet (RFC 6793). */
  twoOctetAs?: boolean;
  /** Context for bare hex: families with add-path identifiers, e.g. 'ipv4-unicast,ipv6-unicast'. */
  addPath?: string;
  /** Context for bare hex: IPv4 unicast NLRI may carry an IPv6 next hop (RFC 8950). */
  extendedNexthop?: boolean;
  /** Context for bare hex: messages up to 65535 bytes (RFC 8654). */
  extendedMessage?: boolean;
}

export interface DecodeIo {
  /** Text read when no hex arguments are given and no --pcap. */
  readStdin: () => Promise<string>;
  out: (line: string) => void;
  err: (line: string) => void;
}

const FAMILY_NAMES: Record<string, FamilyKey> = {
  'ipv4-unicast': '1/1',
  'ipv6-unicast': '2/1',
  'ipv4-multicast': '1/2',
  'ipv6-multicast': '2/2',
  'ipv4-labeled-unicast': '1/4',
  'ipv6-labeled-unicast': '2/4',
};

const TYPE_NAMES: Record<number, string> = { 1: 'OPEN', 2: 'UPDATE', 3: 'NOTIFICATION', 4: 'KEEPALIVE', 5: 'ROUTE-REFRESH' };

function badInput(message: string): CtlError {
  return new CtlError('bad-input', message);
}

/** The decode context for bare hex, from the command-line flags. */
export function contextFromFlags(opts: DecodeOptions): WireContext {
  const addPath = new Set<FamilyKey>();
  for (const name of (opts.addPath ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const key = FAMILY_NAMES[name] ?? (/^\d+\/\d+$/.test(name) ? (name as FamilyKey) : undefined);
    if (!key) throw badInput(`--add-path: unknown family "${name}" (use ${Object.keys(FAMILY_NAMES).join(', ')} or AFI/SAFI)`);
    addPath.add(key);
  }
  return makeContext({
    fourOctetAs: !opts.twoOctetAs,
    extendedMessage: Boolean(opts.extendedMessage),
    addPathReceive: addPath,
    extendedNextHop: new Set<FamilyKey>(opts.extendedNexthop ? ['1/1', '1/2'] : []),
  });
}

/** One hex message per line; `#` comments and blank lines skipped; spaces and colons tolerated. */
export function parseHexLines(text: string): { line: number; bytes: Uint8Array }[] {
  const out: { line: number; bytes: Uint8Array }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) return;
    const hex = t.replace(/^0x/i, '').replace(/[\s:]/g, '');
    if (!/^[0-9a-fA-F]*$/.test(hex)) throw badInput(`line ${i + 1}: not hex: ${t.slice(0, 40)}`);
    if (hex.length % 2 !== 0) throw badInput(`line ${i + 1}: odd number of hex digits (${hex.length})`);
    out.push({ line: i + 1, bytes: Uint8Array.from(Buffer.from(hex, 'hex')) });
  });
  return out;
}

function errorJson(e: WireError): Json {
  const [codeName, subcodeName] = notificationName(e.errorCode, e.subcode).split('/');
  return {
    code: e.code,
    message: e.message,
    notification: {
      code: e.errorCode,
      subcode: e.subcode,
      codeName: codeName ?? null,
      subcodeName: subcodeName ?? null,
      data: toHex(e.data),
    },
    action: e.action,
    ...(e.attrType === undefined ? {} : { attributeType: e.attrType }),
    ...(e.family === undefined ? {} : { family: `${e.family.afi}/${e.family.safi}` }),
  };
}

/** messageToJson plus the numeric codes next to the names an operator greps for. */
export function describeMessage(m: Message): { [k: string]: Json } {
  const j = messageToJson(m) as { [k: string]: Json };
  const out: { [k: string]: Json } = { typeName: TYPE_NAMES[m.type] ?? String(m.type), typeCode: m.type, ...j };
  if (m.type === 1) {
    const params = out.parameters as { [k: string]: Json }[];
    m.parameters.forEach((p, i) => {
      const pj = params[i];
      if (p.kind !== 'capabilities' || !pj) return;
      const caps = pj.capabilities as { [k: string]: Json }[];
      p.capabilities.forEach((c, k) => {
        if (caps[k]) caps[k] = { code: capabilityCode(c), ...caps[k] };
      });
    });
  }
  if (m.type === 2) {
    const attrs = out.attributes as { [k: string]: Json }[];
    m.attributes.forEach((a, i) => {
      if (attrs[i]) attrs[i] = { typeCode: attributeTypeCode(a), ...attrs[i] };
    });
  }
  if (m.type === 3) {
    const [codeName, subcodeName] = notificationName(m.code, m.subcode).split('/');
    out.codeName = codeName ?? null;
    out.subcodeName = m.code === ErrorCode.HoldTimerExpired && m.subcode === 0 ? null : (subcodeName ?? null);
  }
  return out;
}

interface Sink {
  malformed: number;
}

function emit(bytes: Uint8Array, ctx: WireContext, opts: DecodeOptions, where: { [k: string]: Json }, io: DecodeIo, sink: Sink): void {
  const r = decodeMessage(bytes, ctx);
  if (!r.ok) {
    sink.malformed++;
    io.out(JSON.stringify({ ...where, error: errorJson(r.error) }));
    return;
  }
  if (r.action !== null) sink.malformed++;
  if (opts.reencode) {
    io.out(toHex(encodeMessage(r.message, ctx)));
    return;
  }
  const o: { [k: string]: Json } = { ...where, ...describeMessage(r.message) };
  if (r.action !== null) {
    // RFC 7606: the UPDATE parsed but the session must treat-as-withdraw / discard attributes.
    o.action = r.action;
    o.errors = r.errors.map(errorJson);
  }
  io.out(JSON.stringify(o));
}

function endpoint(e: Endpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** The command as a function: returns the exit code. Never throws for bad input; says so on `err`. */
export async function runDecode(hex: string[], opts: DecodeOptions, io: DecodeIo): Promise<number> {
  const sink: Sink = { malformed: 0 };
  try {
    if (opts.pcap !== undefined) {
      if (hex.length > 0) throw badInput('give either hex messages or --pcap, not both');
      let file: Buffer;
      try {
        file = readFileSync(opts.pcap);
      } catch (err) {
        throw badInput(`cannot read ${opts.pcap}: ${(err as Error).message}`);
      }
      // Flags only matter for sessions whose OPENs are not in the capture.
      const fallback = contextFromFlags(opts);
      for (const item of readBgpMessages(new Uint8Array(file.buffer, file.byteOffset, file.byteLength), { fallback })) {
        const where = {
          stream: item.stream,
          direction: `${endpoint(item.from)} -> ${endpoint(item.to)}`,
          timestamp: new Date(item.timestamp * 1000).toISOString(),
        };
        if (item.kind === 'stream-error') {
          sink.malformed++;
          io.out(JSON.stringify({ ...where, offset: item.offset, error: errorJson(item.error) }));
        } else emit(item.bytes, item.context, opts, { ...where, index: item.index }, io, sink);
      }
    } else {
      const ctx = contextFromFlags(opts);
      const text = hex.length > 0 ? hex.join('\n') : await io.readStdin();
      const lines = parseHexLines(text);
      for (const { line, bytes } of lines) emit(bytes, ctx, opts, hex.length > 0 ? {} : { line }, io, sink);
    }
  } catch (err) {
    if (err instanceof CtlError || err instanceof PcapError) {
      io.err(`uplinkctl decode: ${err.message}`);
      return 1;
    }
    throw err;
  }
  return opts.strict && sink.malformed > 0 ? 1 : 0;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export function registerDecode(program: Command): Command {
  return program
    .command('decode')
    .description('decode BGP messages (hex, one message per line, from arguments or stdin; or --pcap FILE) to NDJSON')
    .argument('[hex...]', 'whole messages in hex, marker included')
    .option('--pcap <file>', 'read a pcap/pcapng capture, following each TCP stream to or from port 179')
    .option('--reencode', 'print the re-encoded hex instead of JSON')
    .option('--strict', 'exit 1 if any message is malformed')
    .option('--two-octet-as', 'bare hex: the session did not negotiate 4-octet AS numbers')
    .option('--add-path <families>', 'bare hex: families with add-path ids, e.g. ipv4-unicast,ipv6-unicast')
    .option('--extended-nexthop', 'bare hex: IPv4 NLRI may have IPv6 next hops (RFC 8950)')
    .option('--extended-message', 'bare hex: messages up to 65535 bytes (RFC 8654)')
    .action(async (hex: string[], opts: DecodeOptions) => {
      const code = await runDecode(hex, opts, {
        readStdin: () => readAll(process.stdin),
        out: (l) => process.stdout.write(`${l}\n`),
        err: (l) => process.stderr.write(`${l}\n`),
      });
      process.exitCode = code;
    });
}
