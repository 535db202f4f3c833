// Pure parts of the agent: the shim framing, config decoding, and result encoding per version.
import { describe, expect, it } from 'vitest';
import { CniError } from '../errors.js';
import { parseCniArgs, parseEnv, parseNetConf } from './config.js';
import { decodeRequest, encodeReply } from './protocol.js';
import { encodeResult, mergeResults, parseResult } from './result.js';

describe('shim framing', () => {
  it('splits CNI_* lines from a config that itself contains blank lines', () => {
    const conf = '{\n\n"cniVersion": "1.0.0"\n}';
    const r = decodeRequest(Buffer.from(`CNI_COMMAND=ADD\nCNI_ARGS=A=1;B=2\n\n${conf}`));
    expect(r).toEqual({ env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=2' }, stdin: conf });
  });
  it('accepts a request with no variables at all, and rejects one with no separator', () => {
    expect(decodeRequest(Buffer.from('\n{}'))).toEqual({ env: {}, stdin: '{}' });
    expect(() => decodeRequest(Buffer.from('CNI_COMMAND=ADD'))).toThrow(CniError);
    expect(encodeReply(1, '{"code":7}\n')).toBe('1\n{"code":7}\n');
  });
});

describe('config decoding', () => {
  it('parses CNI_ARGS and rejects a pair without "="', () => {
    expect([...parseCniArgs('K8S_POD_NAME=web;IgnoreUnknown=1')]).toEqual([['K8S_POD_NAME', 'web'], ['IgnoreUnknown', '1']]);
    expect(() => parseCniArgs('oops')).toThrow(/CNI_ARGS/);
  });
  it('rejects an interface name the kernel would refuse', () => {
    const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_NETNS: '/x', CNI_IFNAME: 'a-very-long-interface-name' };
    expect(() => parseEnv(env)).toThrow(expect.objectContaining({ cniCode: 4 }));
  });
  it('names the wrong field with code 7', () => {
    const base = { cniVersion: '1.0.0', name: 'n', type: 'uplink' };
    expect(() => parseNetConf(JSON.stringify({ ...base, pools: [1] }), 'ADD')).toThrow(expect.objectContaining({ cniCode: 7, message: expect.stringContaining('"pools[0]"') }));
    expect(() => parseNetConf(JSON.stringify({ ...base, agentSocket: 'relative.sock' }), 'ADD')).toThrow(expect.objectContaining({ cniCode: 7, message: expect.stringContaining('"agentSocket"') }));
    expect(() => parseNetConf(JSON.stringify({ ...base, prevResult: 3 }), 'ADD')).toThrow(expect.objectContaining({ cniCode: 7 }));
    expect(() => parseNetConf('[]', 'ADD')).toThrow(expect.objectContaining({ cniCode: 6 }));
  });
});

describe('results', () => {
  const ours = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'upl0', mac: 'ee:00:00:00:00:01' }, { name: 'eth0', mac: '0a:00:00:00:00:01', sandbox: '/ns' }],
    ips: [{ address: '10.0.0.5/32', gateway: '169.254.1.1', interface: 1 }, { address: 'fd00::5/128', gateway: 'fe80::1', interface: 1 }],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  };
  it('adds the per-IP "version" only for 0.3.x/0.4.0 results', () => {
    const old = encodeResult(ours, '0.4.0') as { cniVersion: string; ips: Array<{ version?: string }> };
    expect(old.cniVersion).toBe('0.4.0');
    expect(old.ips.map((i) => i.version)).toEqual(['4', '6']);
    const cur = encodeResult(ours, '1.1.0') as { ips: Array<{ version?: string }> };
    expect(cur.ips.map((i) => i.version)).toEqual([undefined, undefined]);
  });
  it('reads a 0.4.0 prevResult and appends our interfaces after it, shifting indices', () => {
    const prev = parseResult({ cniVersion: '0.4.0', interfaces: [{ name: 'lo0' }], ips: [{ version: '4', address: '192.0.2.1/24', interface: 0 }] });
    const m = mergeResults(prev, ours);
    expect(m.interfaces?.map((i) => i.name)).toEqual(['lo0', 'upl0', 'eth0']);
    expect(m.ips?.map((i) => i.interface)).toEqual([0, 2, 2]);
    expect(() => parseResult({ ips: [{ address: 5 }] })).toThrow(/prevResult.ips\[0\].address/);
  });
});
