// Results in the version the config asked for (CNI SPEC "Section 5: Result Types"; version conversion as
// in the reference libcni). Internally we hold the 1.x shape; 0.3.x/0.4.0 differ only in the per-IP
// "version" field. A result is always given in the config's cniVersion because runtimes reject others
// (podman 4.3 refuses a 1.1.0 result for a 1.0.0 config).
import { CniCode, CniError } from '../errors.js';
import { compareVersions, type CniVersion } from './config.js';

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}
export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
}
export interface CniRoute {
  dst: string;
  gw?: string;
}
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: CniRoute[];
  dns?: Record<string, unknown>;
}

/** Accepts a prevResult of any supported version and returns it in the 1.x shape. */
export function parseResult(v: unknown, field = 'prevResult'): CniResult {
  if (typeof v !== 'object' || v === null) {
    throw new CniError(CniCode.InvalidConfig, `network config field "${field}" must be a result object`);
  }
  const o = v as Record<string, unknown>;
  const out: CniResult = { cniVersion: typeof o.cniVersion === 'string' ? o.cniVersion : '1.0.0' };
  if (Array.isArray(o.interfaces)) out.interfaces = o.interfaces as CniInterface[];
  if (Array.isArray(o.ips)) {
    out.ips = (o.ips as Array<Record<string, unknown>>).map((ip, i) => {
      if (typeof ip.address !== 'string') {
        throw new CniError(CniCode.InvalidConfig, `network config field "${field}.ips[${i}].address" must be a string`);
      }
      const r: CniIp = { address: ip.address };
      if (typeof ip.gateway === 'string') r.gateway = ip.gateway;
      if (typeof ip.interface === 'number') r.interface = ip.interface;
      return r;
    });
  }
  if (Array.isArray(o.routes)) out.routes = o.routes as CniRoute[];
  if (typeof o.dns === 'object' && o.dns !== null) out.dns = o.dns as Record<string, unknown>;
  return out;
}

/** Encodes a result for a runtime speaking `version`. */
export function encodeResult(r: CniResult, version: CniVersion): Record<string, unknown> {
  const legacy = compareVersions(version, '1.0.0') < 0;
  const ips = (r.ips ?? []).map((ip) => {
    // 0.3.x/0.4.0 results carry "version": "4" | "6" per IP (CNI SPEC 0.4.0 "Result").
    const base: Record<string, unknown> = legacy ? { version: ip.address.includes(':') ? '6' : '4' } : {};
    return { ...base, ...ip };
  });
  return {
    cniVersion: version,
    interfaces: r.interfaces ?? [],
    ips,
    routes: r.routes ?? [],
    dns: r.dns ?? {},
  };
}

/** Appends our interfaces and IPs to a previous plugin's result, shifting our interface indices. */
export function mergeResults(prev: CniResult, ours: CniResult): CniResult {
  const base = prev.interfaces?.length ?? 0;
  return {
    cniVersion: ours.cniVersion,
    interfaces: [...(prev.interfaces ?? []), ...(ours.interfaces ?? [])],
    ips: [
      ...(prev.ips ?? []),
      ...(ours.ips ?? []).map((ip) => (ip.interface === undefined ? ip : { ...ip, interface: ip.interface + base })),
    ],
    routes: [...(prev.routes ?? []), ...(ours.routes ?? [])],
    dns: { ...(prev.dns ?? {}), ...(ours.dns ?? {}) },
  };
}
