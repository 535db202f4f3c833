// The generated scale fabric (topology/scale.ts): the sizes the CI test (24) and the bench (50) use
// resolve into a valid fabric, and a size the address plan cannot hold is refused by name.
import { describe, expect, it } from 'vitest';
import { devicesOf } from '../resolve.js';
import { scaleFabric } from '../scale.js';
import { TopologyErrorCode } from '../errors.js';

describe('scale fabric', () => {
  it.each([
    [4, 6],
    [5, 10],
  ])('%i racks x %i nodes: dual-homed nodes, distinct loopbacks, AS per rack', (racks, perRack) => {
    const f = scaleFabric({ racks, perRack });
    const nodes = devicesOf(f, 'node');
    expect(nodes).toHaveLength(racks * perRack);
    expect(devicesOf(f, 'tor')).toHaveLength(2 * racks);
    expect(devicesOf(f, 'spine')).toHaveLength(2);
    expect(new Set([...f.devices.values()].map((d) => d.routerId)).size).toBe(f.devices.size);
    for (const n of nodes) expect(f.links.filter((l) => l.down.device === n.name)).toHaveLength(2);
    // AS per rack: a node shares its ToRs' AS (iBGP to route-reflector ToRs).
    const n = nodes.at(-1)!;
    expect(n.asn).toBe(f.devices.get(`tor${racks}a`)!.asn);
  });

  it('refuses a size the /23 link range cannot number', () => {
    expect(() => scaleFabric({ racks: 10, perRack: 13 })).toThrow(expect.objectContaining({ code: TopologyErrorCode.AddressExhausted }));
  });
});
