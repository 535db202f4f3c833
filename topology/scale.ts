// A generated fabric of any size for the scale drill (issue 8): 2 spines, RACKS racks of 2 ToRs,
// PER_RACK dual-homed nodes per rack, Calico's AS-per-rack model (iBGP to route-reflector ToRs),
// IPv4 /26 pod blocks. The same model feeds the CI scale test and `bench/lab.ts`.
import { parseTopology } from './model.js';
import { resolveTopology, type Fabric } from './resolve.js';
import { TopologyError, TopologyErrorCode } from './errors.js';

export interface ScaleShape {
  racks: number;
  perRack: number;
  /** Lab name (namespace names are <prefix>-<name>-<node>). */
  name?: string;
}

/** Node names are n<rack>x<i> (n1x1 ... n4x12): short, so namespace and veth names stay short. */
export function scaleModelYaml(s: ScaleShape): string {
  // Links are /31s from one /23 (256 links) and loopbacks from one /24: room for 2 spines, 2 ToRs
  // per rack and the nodes; past that, the model would need wider fabric ranges.
  const links = 2 * 2 * s.racks + 2 * s.racks * s.perRack;
  const devices = 2 + 2 * s.racks + s.racks * s.perRack;
  if (s.racks < 1 || s.perRack < 1 || links > 256 || devices > 254) {
    throw new TopologyError(TopologyErrorCode.AddressExhausted, 'scale model', `${s.racks} racks x ${s.perRack} nodes needs ${links} links (max 256) and ${devices} loopbacks (max 254)`);
  }
  const lines = [
    `name: ${s.name ?? 'uplink-scale'}`,
    'asn: { scheme: per-rack, spine: 65000, tor: 65101 }',
    'fabric: { ipv4: 10.255.0.0/23, prefixLength: 31, loopbacks: 10.0.0.0/24 }',
    'spines: [{ name: spine1 }, { name: spine2 }]',
    'racks:',
  ];
  for (let r = 1; r <= s.racks; r++) {
    lines.push(`  - name: rack${r}`, `    tors: [tor${r}a, tor${r}b]`, '    nodes:');
    for (let n = 1; n <= s.perRack; n++) lines.push(`      - { name: n${r}x${n}, uplinks: [tor${r}a, tor${r}b] }`);
  }
  lines.push('pools: [{ name: pods, cidr: 10.244.0.0/16, blockSize: 26 }]');
  return `${lines.join('\n')}\n`;
}

export function scaleFabric(s: ScaleShape): Fabric {
  return resolveTopology(parseTopology(scaleModelYaml(s)));
}
