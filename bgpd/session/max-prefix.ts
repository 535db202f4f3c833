// Maximum-prefix limit per family: warn once, or stop the session with Cease / Maximum Number of
// Prefixes Reached (RFC 4486 §4), optionally restarting it after a pause.
import { CeaseSubcode, ErrorCode, Safi } from '../wire/index.js';
import type { FamilyName, PeerConfig } from '../config.js';
import type { Notification } from '../fsm/fsm.js';
import { FAMILY_AFI } from './capabilities.js';

export type MaxPrefixVerdict =
  | { readonly kind: 'warn'; readonly family: FamilyName; readonly count: number; readonly limit: number }
  | { readonly kind: 'stop'; readonly notification: Notification; readonly restartAfterMs: number | null };

/**
 * Verdicts for the received counts, in family order, up to the first stop. A family already warned
 * about (in `warned`) is not reported again; the caller clears `warned` when the session re-establishes.
 */
export function checkMaxPrefix(cfg: PeerConfig, received: Readonly<Record<FamilyName, number>>, warned: Set<FamilyName>): MaxPrefixVerdict[] {
  const out: MaxPrefixVerdict[] = [];
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const mp = cfg.maxPrefix[fam];
    if (!mp || received[fam] <= mp.limit) continue;
    if (mp.action === 'warn') {
      if (!warned.has(fam)) out.push({ kind: 'warn', family: fam, count: received[fam], limit: mp.limit });
      warned.add(fam);
      continue;
    }
    // RFC 4486 §4: Cease / Maximum Number of Prefixes Reached, data = AFI, SAFI, upper bound.
    const l = mp.limit;
    const data = Uint8Array.of(0, FAMILY_AFI[fam], Safi.Unicast, l >>> 24, (l >>> 16) & 255, (l >>> 8) & 255, l & 255);
    out.push({ kind: 'stop', notification: { code: ErrorCode.Cease, subcode: CeaseSubcode.MaximumPrefixesReached, data }, restartAfterMs: mp.action === 'restart' ? mp.restartAfterS * 1000 : null });
    return out;
  }
  return out;
}
