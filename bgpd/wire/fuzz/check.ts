// The per-input oracle shared by the fuzzer (fuzz.ts) and the corpus regression test: decode must not
// throw or reach the internal-error guard, and whatever decodes must re-encode and decode to the same
// value. Hangs are detected by fuzz.ts's watchdog, not here.
import { isDeepStrictEqual } from 'node:util';
import { decodeMessage, encodeMessage, makeContext, toHex, type FamilyKey, type WireContext } from '../index.js';

export interface SeedContext {
  fourOctetAs: boolean;
  extendedMessage: boolean;
  addPath: FamilyKey[];
  extendedNextHop: FamilyKey[];
}

export interface Seed {
  hex: string;
  context: SeedContext;
}

export interface Finding {
  kind: 'exception' | 'internal-error' | 'hang' | 'roundtrip' | 'encode-throws';
  hex: string;
  context: SeedContext;
  detail: string;
  /** For corpus entries: what the input exposed and which fix covers it. */
  note?: string;
}

export const DEFAULT_CTX: SeedContext = { fourOctetAs: true, extendedMessage: false, addPath: [], extendedNextHop: [] };

export function toContext(c: SeedContext): WireContext {
  return makeContext({
    fourOctetAs: c.fourOctetAs,
    extendedMessage: c.extendedMessage,
    addPathReceive: new Set(c.addPath),
    extendedNextHop: new Set(c.extendedNextHop),
  });
}

/** One execution's checks; null when fine. Also used by corpus.test.ts. */
export function check(bytes: Uint8Array, c: SeedContext): Finding | null {
  const ctx = toContext(c);
  const hex = toHex(bytes);
  let r: ReturnType<typeof decodeMessage>;
  try {
    r = decodeMessage(bytes, ctx);
  } catch (e) {
    return { kind: 'exception', hex, context: c, detail: String(e) };
  }
  if (!r.ok) {
    return /internal decoder error/.test(r.error.message) ? { kind: 'internal-error', hex, context: c, detail: r.error.message } : null;
  }
  let again: Uint8Array;
  try {
    again = encodeMessage(r.message, ctx);
  } catch (e) {
    return { kind: 'encode-throws', hex, context: c, detail: String(e) };
  }
  const r2 = decodeMessage(again, ctx);
  if (!r2.ok || !isDeepStrictEqual(r2.message, r.message)) {
    return { kind: 'roundtrip', hex, context: c, detail: r2.ok ? 're-decoded message differs' : r2.error.message };
  }
  return null;
}

