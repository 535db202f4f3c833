// A raw test peer (a TCP client in a namespace writing hand-built bytes) sends malformed UPDATEs. RFC 7606
// outcomes are observed from outside: the session stays up for treat-as-withdraw and attribute-discard
// (and the route state follows), and a session-reset error gets the NOTIFICATION named by RFC 4271 §6.3.
// The speaker survives all of it and takes the peer back afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { Netns, link, isRoot } from '../../test/harness/netns.js';
import { connectTcp } from '../../routes/netlink/index.js';
import { buildOpen, decodeMessage, encodeMessage, frame, makeContext, MessageType, type Message } from '../wire/index.js';
import { startSpeaker, waitEstablished, waitUntil } from './helpers.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MARKER = 'ff'.repeat(16);
function update(attrs: string, nlri: string): Buffer {
  const a = hex(attrs);
  const n = hex(nlri);
  const len = 19 + 2 + 2 + a.length + n.length;
  return Buffer.concat([hex(MARKER), Buffer.from([len >> 8, len & 255, 2, 0, 0, a.length >> 8, a.length & 255]), a, n]);
}

// Field by field (4-octet AS negotiated):
const ORIGIN_IGP = '40 01 01 00'; //          flags well-known transitive, type 1, len 1, IGP
const ORIGIN_BAD = '40 01 01 05'; //          value 5 is not an ORIGIN: RFC 7606 §7.1 treat-as-withdraw
const AS_PATH = '40 02 06 02 01 0000fdea'; // AS_SEQUENCE of one ASN, 65002
const NEXT_HOP = '40 03 04 0a000002'; //      10.0.0.2
const AGGR_BAD = 'c0 07 03 000001'; //         AGGREGATOR of 3 octets (must be 8): RFC 7606 §7.7 attribute-discard
const NLRI = '18 c00002'; //                  192.0.2.0/24

class RawPeer {
  private buf = Buffer.alloc(0);
  readonly got: Message[] = [];
  constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const f = frame(this.buf, 0, { extendedMessage: false });
        if (f.kind !== 'message') break;
        const r = decodeMessage(this.buf.subarray(0, f.length), makeContext({ fourOctetAs: true }));
        if (r.ok) this.got.push(r.message);
        this.buf = this.buf.subarray(f.length);
      }
    });
    sock.on('error', () => undefined);
  }
  send(b: Uint8Array): void {
    this.sock.write(b);
  }
}

async function openSession(ns: Netns): Promise<RawPeer> {
  // The speaker refuses connections while it sits out its idle hold time after a reset: retry.
  for (let attempt = 0; ; attempt++) {
    const sock = await connectTcp({ family: 4, netns: ns.path, host: '10.0.0.1', port: 179 });
    const p = new RawPeer(sock);
    p.send(encodeMessage(buildOpen({ asn: 65002, holdTime: 90, bgpId: '10.0.0.2', capabilities: [{ kind: 'four-octet-as', asn: 65002 }, { kind: 'multiprotocol', afi: 1, safi: 1 }] }), makeContext()));
    try {
      await waitUntil('speaker OPEN', () => p.got.some((m) => m.type === MessageType.Open), 3_000);
    } catch (err) {
      sock.destroy();
      if (attempt >= 5) throw err;
      continue;
    }
    p.send(encodeMessage({ type: MessageType.Keepalive }, makeContext()));
    return p;
  }
}

describe.skipIf(!isRoot)('RFC 7606 with a raw peer', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup.length = 0;
  });

  it('treat-as-withdraw and attribute-discard keep the session; a malformed attribute list resets it', async () => {
    const us = Netns.create('ulb');
    cleanup.push(() => us.destroy());
    const them = Netns.create('ulb');
    cleanup.push(() => them.destroy());
    link(us, 'eth0', them, 'eth0', ['10.0.0.1/30'], ['10.0.0.2/30']);
    const { speaker, fib } = startSpeaker(us, {
      routerId: '10.0.0.1',
      asn: 65000,
      importPools: ['192.0.2.0/24'],
      peers: [{ name: 'raw', address: '10.0.0.2', asn: 65002, passive: true, families: ['ipv4'], gracefulRestart: false }],
    });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    const raw = await openSession(them);
    cleanup.push(() => void raw.sock.destroy());
    await waitEstablished(speaker, 'raw');

    raw.send(update(ORIGIN_IGP + AS_PATH + NEXT_HOP, NLRI));
    await waitUntil('route installed', () => fib.has('192.0.2.0/24'));

    // treat-as-withdraw: the route goes, the session stays.
    raw.send(update(ORIGIN_BAD + AS_PATH + NEXT_HOP, NLRI));
    await waitUntil('route withdrawn by treat-as-withdraw', () => !fib.has('192.0.2.0/24'));
    expect(speaker.neighbor('raw').state).toBe('Established');
    expect(speaker.neighbor('raw').counters.treatAsWithdraw).toBe(1);

    // attribute-discard: the route is accepted without the broken AGGREGATOR.
    raw.send(update(ORIGIN_IGP + AS_PATH + NEXT_HOP + AGGR_BAD, NLRI));
    await waitUntil('route accepted with the attribute discarded', () => fib.has('192.0.2.0/24'));
    expect(speaker.neighbor('raw').counters.attributeDiscard).toBe(1);
    expect(speaker.neighbor('raw').state).toBe('Established');
    expect(raw.got.some((m) => m.type === MessageType.Notification)).toBe(false);

    // session-reset: Total Path Attribute Length (0x40) overruns the message -> 3/1 (RFC 4271 §6.3).
    const bad = update(ORIGIN_IGP + AS_PATH + NEXT_HOP, NLRI);
    bad[21] = 0x00;
    bad[22] = 0x40;
    raw.send(bad);
    await waitUntil('NOTIFICATION received', () => raw.got.some((m) => m.type === MessageType.Notification));
    const n = raw.got.find((m) => m.type === MessageType.Notification);
    expect(n).toMatchObject({ code: 3, subcode: 1 });
    await waitUntil('session dropped and routes flushed', () => speaker.neighbor('raw').state !== 'Established' && !fib.has('192.0.2.0/24'));
    expect(speaker.neighbor('raw').lastError).toMatchObject({ direction: 'sent', code: 3, subcode: 1 });

    // The speaker is alive and takes the peer back.
    const again = await openSession(them);
    cleanup.push(() => void again.sock.destroy());
    await waitEstablished(speaker, 'raw');
    expect(speaker.neighbor('raw').flaps).toHaveLength(1);
  });
});
