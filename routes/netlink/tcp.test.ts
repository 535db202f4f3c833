// TCP MD5 (RFC 2385) and GTSM (RFC 5082) on real sessions between two namespaces. Both sockets are
// created natively inside their namespaces from this one process; the main thread never moves.
import type { Server, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Netns, link } from '../../test/harness/netns.js';
import { connectTcp, getMinTtl, getTtl, listenTcp, setMinTtl } from './index.js';

let a: Netns;
let b: Netns;
let server: Server | undefined;
const open: Socket[] = [];

beforeEach(() => {
  a = Netns.create('ulr');
  b = Netns.create('ulr');
  link(a, 'p0', b, 'p0', ['10.70.0.1/30', 'fd00:70::1/64'], ['10.70.0.2/30', 'fd00:70::2/64']);
});

afterEach(async () => {
  try {
    for (const s of open.splice(0)) s.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  } finally {
    server = undefined;
    a.destroy();
    b.destroy();
  }
});

function echo(s: Socket): void {
  open.push(s);
  s.on('data', (d) => s.write(d));
  s.on('error', () => undefined);
}

async function roundTrip(s: Socket): Promise<string> {
  open.push(s);
  return new Promise((resolve) => {
    s.once('data', (d) => resolve(d.toString()));
    s.write('OPEN');
  });
}

describe('TCP MD5 and GTSM', () => {
  it('a matching key connects and carries data; a wrong key or no key cannot connect (IPv4)', async () => {
    server = await listenTcp(
      { family: 4, netns: a.path, bind: { address: '10.70.0.1', port: 1179 }, md5: [{ address: '10.70.0.2', key: 'uplink-secret' }] },
      echo,
    );
    const good = await connectTcp({ family: 4, netns: b.path, host: '10.70.0.1', port: 1179, md5: [{ address: '10.70.0.1', key: 'uplink-secret' }], timeoutMs: 5000 });
    expect(await roundTrip(good)).toBe('OPEN');
    // RFC 2385 §2.0: a segment with a wrong (or missing) digest is dropped silently: the SYN never
    // gets an answer and connect times out.
    await expect(
      connectTcp({ family: 4, netns: b.path, host: '10.70.0.1', port: 1179, md5: [{ address: '10.70.0.1', key: 'wrong-secret' }], timeoutMs: 1500 }),
    ).rejects.toThrow(/timed out/);
    await expect(connectTcp({ family: 4, netns: b.path, host: '10.70.0.1', port: 1179, timeoutMs: 1500 })).rejects.toThrow(/timed out/);
  });

  it('MD5 over IPv6 with a prefix key', async () => {
    server = await listenTcp(
      { family: 6, netns: a.path, bind: { address: 'fd00:70::1', port: 1179 }, md5: [{ address: 'fd00:70::', prefixLen: 64, key: 'v6-key' }] },
      echo,
    );
    const good = await connectTcp({ family: 6, netns: b.path, host: 'fd00:70::1', port: 1179, md5: [{ address: 'fd00:70::1', key: 'v6-key' }], timeoutMs: 5000 });
    expect(await roundTrip(good)).toBe('OPEN');
    await expect(
      connectTcp({ family: 6, netns: b.path, host: 'fd00:70::1', port: 1179, md5: [{ address: 'fd00:70::1', key: 'other' }], timeoutMs: 1500 }),
    ).rejects.toThrow(/timed out/);
  });

  // RFC 5082 §3: both ends send with TTL 255 and accept only 255 (the listener's SYN-ACK too).
  it('GTSM: min TTL reads back; a peer sending TTL 255 connects, one sending TTL 254 is dropped', async () => {
    server = await listenTcp({ family: 4, netns: a.path, bind: { address: '10.70.0.1', port: 1180 }, minTtl: 255, ttl: 255 }, echo);
    expect(getMinTtl(server, 4)).toBe(255);
    const good = await connectTcp({ family: 4, netns: b.path, host: '10.70.0.1', port: 1180, ttl: 255, minTtl: 255, timeoutMs: 5000 });
    expect(getTtl(good, 4)).toBe(255);
    expect(getMinTtl(good, 4)).toBe(255);
    expect(await roundTrip(good)).toBe('OPEN');
    await expect(connectTcp({ family: 4, netns: b.path, host: '10.70.0.1', port: 1180, ttl: 254, timeoutMs: 1500 })).rejects.toThrow(/timed out/);
    setMinTtl(good, 4, 1);
    expect(getMinTtl(good, 4)).toBe(1);
  });

  it('SO_BINDTODEVICE: bound to the peering link connects; an unknown device is a typed error', async () => {
    server = await listenTcp({ family: 4, netns: a.path, bind: { address: '10.70.0.1', port: 1182 }, device: 'p0' }, echo);
    const s = await connectTcp({ family: 4, netns: b.path, host: '10.70.0.1', port: 1182, device: 'p0', timeoutMs: 5000 });
    expect(await roundTrip(s)).toBe('OPEN');
    await expect(connectTcp({ family: 4, netns: b.path, host: '10.70.0.1', port: 1182, device: 'nope0', timeoutMs: 1000 })).rejects.toMatchObject({
      errnoName: 'ENODEV',
    });
  });

  it('IPv6 hop-limit options read back', async () => {
    server = await listenTcp({ family: 6, netns: a.path, bind: { address: 'fd00:70::1', port: 1181 }, minTtl: 255, ttl: 255 }, echo);
    expect(getMinTtl(server, 6)).toBe(255);
    expect(getTtl(server, 6)).toBe(255);
  });
});
