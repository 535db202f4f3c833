// RFC 4271 §6.8 between two of our speakers dialling each other at the same moment: each takes the
// other's connection while its own connect is still in flight. Both connections must proceed until an
// OPEN lets the BGP Identifiers decide; destroying the late one (as before) left both sides on
// connections the other had just closed, and sessions took many ConnectRetry rounds to come up.
import { afterEach, describe, expect, it } from 'vitest';
import { Netns, link, isRoot } from '../../test/harness/netns.js';
import { startSpeaker, waitEstablished } from './helpers.js';
import type { BgpSpeaker } from '../speaker.js';

describe.skipIf(!isRoot)('connection collision between two of our speakers', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup.length = 0;
  });

  it.each([['10.9.1.1', 'higher'], ['10.0.1.1', 'lower']])('both active, our identifier %s (%s): Established at once on one connection', async (rid) => {
    for (let i = 0; i < 2; i++) {
      const a = Netns.create('ulg');
      cleanup.push(() => a.destroy());
      const b = Netns.create('ulg');
      cleanup.push(() => b.destroy());
      link(a, 'eth0', b, 'eth0', ['10.0.1.1/30'], ['10.0.1.2/30']);
      const A = startSpeaker(a, { routerId: rid, asn: 65000, peers: [{ name: 'b', address: '10.0.1.2', asn: 65011, families: ['ipv4'] }] });
      const B = startSpeaker(b, { routerId: '10.0.1.2', asn: 65011, peers: [{ name: 'a', address: '10.0.1.1', asn: 65000, families: ['ipv4'] }] });
      const speakers: BgpSpeaker[] = [A.speaker, B.speaker];
      cleanup.push(async () => { for (const s of speakers) await s.stop(); });
      await Promise.all(speakers.map((s) => s.start()));
      // Far below the 2 s ConnectRetry: no retry round was needed.
      await waitEstablished(A.speaker, 'b', 1500);
      await waitEstablished(B.speaker, 'a', 1500);
      await new Promise((r) => setTimeout(r, 1200));
      expect([A.speaker.neighbor('b').state, B.speaker.neighbor('a').state]).toEqual(['Established', 'Established']);
      expect([A.speaker.neighbor('b').flaps, B.speaker.neighbor('a').flaps]).toEqual([[], []]);
      // The kernel's view: one BGP connection left between them.
      const est = a.exec('ss', ['-Htn', 'state', 'established', '( sport = :179 or dport = :179 )']).trim().split('\n').filter(Boolean);
      expect(est).toHaveLength(1);
    }
  }, 60_000);
});
