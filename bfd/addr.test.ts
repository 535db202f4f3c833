import { describe, expect, it } from 'vitest';
import { addrToBytes, bytesToAddr } from './addr.js';

describe('bfd addr', () => {
  it.each([
    ['10.0.0.1', '0a000001'],
    ['fd00::1', 'fd000000000000000000000000000001'],
    ['fe80::1%eth0', 'fe800000000000000000000000000001'],
    ['::ffff:10.1.2.3', '00000000000000000000ffff0a010203'],
    ['2001:db8:1:2:3:4:5:6', '20010db8000100020003000400050006'],
  ])('%s', (text, hex) => {
    expect(addrToBytes(text)?.toString('hex')).toBe(hex);
  });

  it('rejects non-addresses', () => {
    expect(addrToBytes('node-1')).toBeUndefined();
    expect(addrToBytes('10.0.0.256')).toBeUndefined();
  });

  it.each(['10.77.1.2', 'fd00:77:6::2', '2001:db8::1:0:0:1', '::', 'fe80::'])('prints %s back as written', (text) => {
    expect(bytesToAddr(addrToBytes(text)!)).toBe(text);
  });
});
