// Graceful restart (RFC 4724) for one peer: helper side (stale routes across the peer's restart, the
// F bit on its return, End-of-RIB per family) and the restarting side's per-peer selection deferral.
// The Rib does the marking and sweeping; this object decides when, and owns the stale timer.
import { Safi, findCapability, type Capability, type OpenMessage } from '../wire/index.js';
import type { FamilyName, PeerConfig } from '../config.js';
import type { Logger } from '../../lib/log.js';
import type { Rib } from '../rib/rib.js';
import { FAMILY_AFI } from './capabilities.js';
import type { LocalSettings } from './types.js';

/** What the helper reads from its session, always current (the speaker may replace cfg on reconfigure). */
export interface GracefulRestartHost {
  readonly name: string;
  readonly cfg: PeerConfig;
  readonly ribId: number;
  readonly remoteOpen: OpenMessage | null;
  /** Families negotiated for the current session. */
  readonly families: readonly FamilyName[];
}

export interface GracefulRestartDeps {
  readonly rib: Rib;
  readonly log: Logger;
  readonly local: () => LocalSettings;
}

/** Both sides sent the capability (RFC 4724 §3) and we have it configured. */
export function grNegotiated(cfg: PeerConfig, remoteOpen: OpenMessage | null): boolean {
  return Boolean(cfg.gracefulRestart && remoteOpen && findCapability(remoteOpen, 'graceful-restart'));
}

export class PeerGracefulRestart {
  private readonly eorReceived = new Set<FamilyName>();
  private staleTimer: ReturnType<typeof setTimeout> | null = null;
  /** Our last OPEN to this peer carried the R bit (logged once Established). */
  sentRestarting = false;

  constructor(
    private readonly host: GracefulRestartHost,
    private readonly deps: GracefulRestartDeps,
  ) {}

  /** A new session: End-of-RIB is expected again for every family. */
  reset(): void {
    this.eorReceived.clear();
  }

  /** RFC 4724 §4.2: End-of-RIB ends the stale period for the family. */
  endOfRib(fam: FamilyName): void {
    this.eorReceived.add(fam);
    this.deps.rib.sweepStale(this.host.ribId, fam);
    if (this.allEndOfRib()) this.clearStaleTimer();
  }

  allEndOfRib(): boolean {
    return this.host.families.every((f) => this.eorReceived.has(f));
  }

  /**
   * RFC 4724 §4.1: whether this peer still holds up a restarting speaker's route selection, given the
   * session is Established. Peers without the Graceful Restart capability, or restarting themselves
   * (R bit), are not waited for.
   */
  deferralDone(remoteOpen: OpenMessage): boolean {
    const gr = findCapability(remoteOpen, 'graceful-restart');
    if (!gr || gr.restarting) return true;
    return this.allEndOfRib();
  }

  /**
   * RFC 4724 §4.2: on re-establishment, stale routes survive only for the families the peer lists in
   * its new Graceful Restart capability with the Forwarding State bit set; without the capability
   * (or with graceful restart off on our side) every stale route goes at once.
   */
  dropUnpreservedStale(caps: readonly Capability[]): void {
    const { rib, log } = this.deps;
    const { ribId } = this.host;
    if (rib.staleCount(ribId) === 0) return;
    const gr = this.host.cfg.gracefulRestart ? caps.find((c): c is Extract<Capability, { kind: 'graceful-restart' }> => c.kind === 'graceful-restart') : undefined;
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const kept = gr?.families.some((f) => f.afi === FAMILY_AFI[fam] && f.safi === Safi.Unicast && f.forwarding) ?? false;
      if (kept && this.host.families.includes(fam)) continue;
      const n = rib.sweepStale(ribId, fam);
      if (n) log.info({ peer: this.host.name, family: fam, routes: n }, 'peer came back without forwarding state for the family: stale routes removed (RFC 4724 §4.2)');
    }
  }

  startStaleTimer(): void {
    this.clearStaleTimer();
    const remoteOpen = this.host.remoteOpen;
    const gr = remoteOpen ? findCapability(remoteOpen, 'graceful-restart') : undefined;
    const local = this.deps.local();
    // RFC 4724 §4.2: the peer has Restart Time to come back; after that, or our stale limit once it is
    // back without End-of-RIB, the stale routes go.
    const ms = ((gr?.restartTime ?? local.restartTimeS) + local.staleTimeS) * 1000;
    this.staleTimer = setTimeout(() => {
      this.staleTimer = null;
      this.deps.rib.sweepStale(this.host.ribId);
    }, ms);
    this.staleTimer.unref();
  }

  clearStaleTimer(): void {
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = null;
  }
}
