import { describe, expect, it } from 'vitest';
import { bfdSessionsFromConfig } from './config.js';

const peers = [
  { name: 'spine1', address: '10.0.0.1', localAddress: '10.0.0.2', interface: 'eth0' },
  { name: 'rr', address: '10.9.0.1', localAddress: '10.0.0.2', multihop: 3 },
  { name: 'unnumbered', interface: 'eth2' },
];

describe('bfd config', () => {
  it('turns BGP peers and standalone sessions into session configs with 300 ms x 3 defaults', () => {
    const got = bfdSessionsFromConfig(
      { peers: ['spine1', { peer: '10.9.0.1', minTxMs: 100, minRxMs: 200 }], sessions: [{ peer: '10.5.0.1', interface: 'eth1', multiplier: 5 }] },
      peers,
    );
    expect(got).toEqual([
      { peer: '10.0.0.1', local: '10.0.0.2', interface: 'eth0', multihop: false, minTxMs: 300, minRxMs: 300, multiplier: 3 },
      { peer: '10.9.0.1', local: '10.0.0.2', multihop: true, minTxMs: 100, minRxMs: 200, multiplier: 3 },
      { peer: '10.5.0.1', interface: 'eth1', multihop: false, minTxMs: 300, minRxMs: 300, multiplier: 5 },
    ]);
  });

  it('applies section defaults', () => {
    expect(bfdSessionsFromConfig({ defaults: { minTxMs: 50 }, peers: ['spine1'] }, peers)[0]).toMatchObject({ minTxMs: 50, minRxMs: 300 });
  });

  it.each([
    [{ peers: ['nobody'] }, 'no BGP peer'],
    [{ peers: ['unnumbered'] }, 'has no address'],
    [{ sessions: [{ interface: 'eth0' }] }, 'peer is required'],
    [{ sessions: [{ peer: '10.0.0.1', minTxMs: -1 }] }, 'positive number'],
    [{ sessions: [{ peer: '10.0.0.1', multiplier: 2.5 }] }, 'multiplier'],
    [{ sessions: [{ peer: '10.0.0.1', tx: 5 }] }, 'unknown key "tx"'],
    [{ defaults: 'fast' }, 'must be a mapping'],
  ])('rejects %j', (raw, msg) => {
    expect(() => bfdSessionsFromConfig(raw, peers)).toThrow(msg);
  });

  it('an absent section means no sessions', () => {
    expect(bfdSessionsFromConfig(undefined, peers)).toEqual([]);
  });
});
