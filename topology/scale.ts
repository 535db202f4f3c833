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
  /**
   * Number links and loopbacks from ranges sized to the fabric (up to 10.255.0.0/20 and 10.0.0.0/21)
   * instead of the fixed 10.255.0.0/23 and 10.0.0.0/24: for simulated labs past ~100 nodes.
   */
  wide?: boolean;
}

/** Node names are n<rack>x<i> (n1x1 ... n4x12): short, so namespace and veth names stay short. */
export function scaleModelYaml(s: ScaleShape): string {
  // Links are /31s from 10.255.0.0/23 (256 links) and loopbacks /32s from 10.0.0.0/24 (254): room for
  // 2 spines, 2 ToRs per rack and the nodes up to ~100 nodes. `wide`: ranges sized to the fabric, up
  // to 10.255.0.0/20 (2048 links) and 10.0.0.0/21 (2046 loopbacks), clear of the 10.244.0.0/16 pods.
  const links = 2 * 2 * s.racks + 2 * s.racks * s.perRack;
  const devices = 2 + 2 * s.racks + s.racks * s.perRack;
  const fabricLen = s.wide ? Math.min(23, 32 - Math.ceil(Math.log2(2 * links))) : 23;
  const loopLen = s.wide ? Math.min(24, 32 - Math.ceil(Math.log2(devices + 2))) : 24;
  const [maxLinks, maxDevices] = [2 ** (32 - fabricLen) / 2, 2 ** (32 - loopLen) - 2];
  if (s.racks < 1 || s.perRack < 1 || fabricLen < 20 || loopLen < 21 || links > maxLinks || devices > maxDevices) {
    throw new TopologyError(TopologyErrorCode.AddressExhausted, 'scale model', `${s.racks} racks x ${s.perRack} nodes needs ${links} links (max ${s.wide ? 2048 : 256}) and ${devices} loopbacks (max ${s.wide ? 2046 : 254})`);
  }
  const lines = [
    `name: ${s.name ?? 'uplink-scale'}`,
    'asn: { scheme: per-rack, spine: 65000, tor: 65101 }',
    `fabric: { ipv4: 10.255.0.0/${fabricLen}, prefixLength: 31, loopbacks: 10.0.0.0/${loopLen} }`,
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
