// The pure half of explain's path checks (the MTU verdict); the kernel-reading half runs in
// test/e2e/agents.test.ts against real namespaces. The question to the owner node is tested in
// explain-broker.test.ts.
import { describe, expect, it } from 'vitest';
import { judgeMtu, type MtuHop } from './explain-path.js';

const hop = (node: string, iface: string, mtu: number, role: MtuHop['role'] = 'uplink'): MtuHop => ({ node, interface: iface, mtu, role });

describe('judgeMtu', () => {
  it('a pod MTU within every hop fits, and the smallest hop is named', () => {
    const j = judgeMtu(1400, 'pod 10.244.0.5', [hop('n2', 'up0', 1500), hop('n1', 'upl1', 1400, 'host veth'), hop('n1', 'up0', 9000)]);
    expect(j).toMatchObject({ ok: true, detail: 'pod 10.244.0.5 MTU 1400 fits the path (smallest 1400, n1 host veth upl1)' });
    expect(j.evidence).toBe('n2 uplink up0 mtu 1500; n1 host veth upl1 mtu 1400; n1 uplink up0 mtu 9000');
  });

  it('a pod MTU above any hop is a problem naming every hop below it', () => {
    const j = judgeMtu(1500, 'pod 10.244.0.5', [hop('n2', 'up0', 1500), hop('n1', 'up0', 1280), hop('n1', 'up1', 1400)]);
    expect(j.ok).toBe(false);
    expect(j.detail).toMatch(/^pod 10\.244\.0\.5 MTU 1500 is larger than the path's 1280: n1 uplink up0 mtu 1280, n1 uplink up1 mtu 1400\./);
  });

  it('unknown pod MTU or no readable hop is reported as such, not as a pass with numbers made up', () => {
    expect(judgeMtu(null, 'pod x', [hop('n1', 'up0', 1500)]).detail).toBe('smallest MTU on the path is 1500 (n1 uplink up0); pod x MTU unknown');
    expect(judgeMtu(1400, 'pod x', [])).toMatchObject({ ok: true, detail: 'path MTU unknown (pod x MTU 1400)', evidence: 'no interface on the path could be read' });
  });
});
