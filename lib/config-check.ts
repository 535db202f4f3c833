// Small validators for YAML configuration that name the offending key ("peers[1].asn: expected an
// integer 1..4294967295, got "abc""). Shared by uplinkd's config and the topology model.
import { UplinkError } from './errors.js';

export class ConfigError extends UplinkError {
  constructor(readonly key: string, message: string) {
    super('invalid-config', `${key}: ${message}`);
  }
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown, key: string): Obj {
  if (!isObj(v)) throw new ConfigError(key, `expected a mapping, got ${describe(v)}`);
  return v;
}

export function optObj(parent: Obj, name: string, key: string): Obj {
  const v = parent[name];
  return v === undefined || v === null ? {} : obj(v, key);
}

export function str(v: unknown, key: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(key, `expected a non-empty string, got ${describe(v)}`);
  return v;
}

export function optStr(v: unknown, key: string, dflt: string): string {
  return v === undefined || v === null ? dflt : str(v, key);
}

export function int(v: unknown, key: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(key, `expected an integer ${min}..${max}, got ${describe(v)}`);
  }
  return v;
}

export function optInt(v: unknown, key: string, min: number, max: number, dflt: number): number {
  return v === undefined || v === null ? dflt : int(v, key, min, max);
}

export function bool(v: unknown, key: string, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(key, `expected true or false, got ${describe(v)}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, key: string, allowed: readonly T[], dflt?: T): T {
  if ((v === undefined || v === null) && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(key, `expected one of ${allowed.join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

export function arr(v: unknown, key: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(key, `expected a list, got ${describe(v)}`);
  return v;
}

/** Unknown keys are errors: a typo such as `peer:` for `peers:` must not be silently ignored. */
export function noExtraKeys(o: Obj, key: string, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new ConfigError(key ? `${key}.${k}` : k, `unknown key (known: ${known.join(', ')})`);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}
