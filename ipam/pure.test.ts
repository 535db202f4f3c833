// Pure parts: address arithmetic, block logic, pool validation, show/check.
import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressAt, formatAddress, formatCidr, ordinalOf, parseAddress, parseCidr, cidrToKey, keyToCidr } from './cidr.js';
import { assign, newBlock, release, freeCount } from './block.js';
import { resolvePool, selects } from './pools.js';
import { checkIpam } from './check.js';
import { showIpam } from './show.js';
import { IpamError } from './types.js';

describe('cidr', () => {
  it('IPv6 format/parse round-trips and is RFC 5952 canonical', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const v = parseAddress(text).value;
        const out = formatAddress('ipv6', v);
        expect(isIPv6(out)).toBe(true);
        expect(parseAddress(out).value).toBe(v);
        expect(out).toBe(out.toLowerCase());
        expect(out).not.toMatch(/(^|:)0[0-9a-f]/);
      }),
    );
    expect(formatAddress('ipv6', parseAddress('2001:db8:0:0:1:0:0:1').value)).toBe('2001:db8::1:0:0:1');
    expect(formatAddress('ipv6', parseAddress('fd00::').value)).toBe('fd00::');
  });

  it('IPv4 round-trips; blocks and ordinals agree', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 63 }), (text, ord) => {
        expect(formatAddress('ipv4', parseAddress(text).value)).toBe(text.split('.').map(Number).join('.'));
        const block = parseCidr(`${text}/26`);
        expect(ordinalOf(block, addressAt(block, ord))).toBe(ord);
        expect(keyToCidr(cidrToKey(formatCidr(block)))).toBe(formatCidr(block));
      }),
    );
    expect(formatCidr(parseCidr('10.1.2.3/24'))).toBe('10.1.2.0/24');
    expect(keyToCidr(cidrToKey('fd00:1::40/122'))).toBe('fd00:1::40/122');
  });
});

describe('block logic', () => {
  it('assign never hands out an address twice; release checks handle and sequence number', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(-1), fc.nat(200)), { maxLength: 200 }), (ops) => {
        let b = newBlock('10.0.0.0/28', 'p', 'n', 0);
        const held = new Map<string, { handle: string; seq: number }>();
        let n = 0;
        for (const op of ops) {
          if (op === -1 || held.size === 0) {
            const r = assign(b, [{ handle: `h${n++}`, attrs: {} }]);
            if (held.size === 16) expect(r.assigned).toEqual([]);
            for (const a of r.assigned) {
              expect(held.has(a.address)).toBe(false);
              held.set(a.address, { handle: a.handle, seq: a.seq });
            }
            b = r.block;
          } else {
            const [address, h] = [...held][op % held.size]!;
            // A stale sequence number or another handle must not free it.
            expect(release(b, [{ address, handle: h.handle, seq: h.seq + 1 }]).released).toEqual([]);
            expect(release(b, [{ address, handle: 'other', seq: h.seq }]).released).toEqual([]);
            const r = release(b, [{ address, handle: h.handle, seq: h.seq }]);
            expect(r.released).toEqual([address]);
            held.delete(address);
            b = r.block;
          }
          expect(freeCount(b)).toBe(16 - held.size);
        }
      }),
    );
  });

  it('a released address is not reused at once (round robin cursor)', () => {
    let b = newBlock('10.0.0.0/29', 'p', 'n', 0);
    const first = assign(b, [{ handle: 'a', attrs: {} }]);
    b = release(first.block, [{ address: first.assigned[0]!.address }]).block;
    const second = assign(b, [{ handle: 'b', attrs: {} }]);
    expect(second.assigned[0]!.address).not.toBe(first.assigned[0]!.address);
  });
});

describe('pools', () => {
  it('validates and fills defaults', () => {
    expect(resolvePool({ name: 'a', cidr: '10.0.0.0/16' }).blockSize).toBe(26);
    expect(resolvePool({ name: 'b', cidr: 'fd00::/48' }).blockSize).toBe(122);
    expect(() => resolvePool({ name: 'c', cidr: '10.0.0.0/16', blockSize: 12 })).toThrow(IpamError);
    expect(() => resolvePool({ name: 'd', cidr: 'nope' })).toThrow(IpamError);
    expect(() => resolvePool({ name: 'e', cidr: '10.0.0.0/8', nodeSelector: 'rack in (a)' })).toThrow(IpamError);
  });

  it('node selectors', () => {
    expect(selects('all()', {})).toBe(true);
    expect(selects(undefined, { a: 'b' })).toBe(true);
    expect(selects('rack == "r1" && zone != \'z2\'', { rack: 'r1', zone: 'z1' })).toBe(true);
    expect(selects('rack == "r1" && zone != \'z2\'', { rack: 'r1', zone: 'z2' })).toBe(false);
    expect(selects('rack == "r1"', {})).toBe(false);
  });
});

describe('show and check', () => {
  const a1 = assign(newBlock('10.0.0.0/30', 'p', 'node-a', 0), [{ handle: 'h1', attrs: { node: 'node-a' } }, { handle: 'h2', attrs: { node: 'node-a' } }]);
  const snapshot = {
    pools: [{ name: 'p', cidr: '10.0.0.0/29', blockSize: 30 }],
    blocks: [a1.block, newBlock('10.0.0.4/30', 'p', 'node-gone', 0)],
    affinities: [{ node: 'node-a', cidr: '10.0.0.0/30', pool: 'p', state: 'confirmed' as const }],
    handles: [
      { handle: 'h1', attrs: { node: 'node-a' }, addresses: [{ address: a1.assigned[0]!.address, block: '10.0.0.0/30', seq: a1.assigned[0]!.seq }] },
      { handle: 'h3', attrs: {}, addresses: [{ address: '10.0.0.5', block: '10.0.0.4/30', seq: 1 }] },
    ],
  };

  it('show: pools, blocks and nodes with usage', () => {
    const s = showIpam(snapshot);
    expect(s.pools).toEqual([expect.objectContaining({ name: 'p', size: 8, used: 2, blocks: 2, blockSize: 30 })]);
    expect(s.blocks.map((b) => [b.cidr, b.affinity, b.state, b.used, b.free])).toEqual([
      ['10.0.0.0/30', 'node-a', 'confirmed', 2, 2],
      ['10.0.0.4/30', 'node-gone', 'no-affinity', 0, 4],
    ]);
    expect(s.nodes.find((n) => n.node === 'node-a')).toEqual({ node: 'node-a', blocks: ['10.0.0.0/30'], used: 2 });
  });

  it('check: leaks, orphaned handles, unknown nodes', () => {
    const r = checkIpam(snapshot, { live: ['h1'], nodes: ['node-a'] });
    expect(r.ok).toBe(false);
    expect(r.leaks).toEqual([expect.objectContaining({ handle: 'h2', reason: 'no-handle-record' })]);
    expect(r.orphanedHandles).toEqual([expect.objectContaining({ handle: 'h3', address: '10.0.0.5' })]);
    expect(r.unknownNodeBlocks).toEqual([{ block: '10.0.0.4/30', node: 'node-gone' }]);
    expect(r.duplicates).toEqual([]);
    const dup = checkIpam({ ...snapshot, handles: [...snapshot.handles, { ...snapshot.handles[0]!, handle: 'h1b' }] });
    expect(dup.duplicates.map((d) => d.address)).toEqual([a1.assigned[0]!.address]);
  });
});
