// Key layout (see types.ts). One place builds and parses keys so backends and tools agree.
import { cidrToKey, keyToCidr } from './cidr.js';

export const BLOCKS = 'ipam/blocks/';
export const AFFINITIES = 'ipam/affinities/';
export const HANDLES = 'ipam/handles/';

export const blockKey = (cidr: string): string => BLOCKS + cidrToKey(cidr);
export const affinityKey = (node: string, cidr: string): string => `${AFFINITIES}${node}/${cidrToKey(cidr)}`;
export const handleKey = (handle: string): string => HANDLES + handle;

export function parseAffinityKey(key: string): { node: string; cidr: string } | undefined {
  const rest = key.slice(AFFINITIES.length);
  const slash = rest.indexOf('/');
  if (!key.startsWith(AFFINITIES) || slash < 0) return undefined;
  return { node: rest.slice(0, slash), cidr: keyToCidr(rest.slice(slash + 1)) };
}
