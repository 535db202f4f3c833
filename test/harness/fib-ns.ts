// The FIB test fixture shared by the reconciler and bgp-bridge tests: a throwaway namespace with one
// veth up and addressed (so routes via the peer's subnet resolve), a FibReconciler in it that is stopped
// before the namespace goes, and a reader of our routes straight from `ip -j` (kernel state, not the
// reconciler's own view). Registers its own beforeEach/afterEach: call it at module or describe level.
import { afterEach, beforeEach } from 'vitest';
import { UPLINK_RT_PROTO } from '../../routes/netlink/index.js';
import { FibReconciler, type ReconcilerOptions } from '../../routes/reconciler.js';
import { Netns } from './netns.js';

export interface FibNsOptions {
  /** Namespace name prefix (each engineer's tests use their own). */
  prefix: string;
  /** Veth inside the namespace; its peer is `${dev}p`. */
  dev: string;
  /** Address on `dev`, e.g. "10.8.1.1/24". */
  addr: string;
}

export interface FibNs {
  /** The current test's namespace (a fresh one per test). */
  readonly ns: Netns;
  /** A reconciler in the namespace; stopped in afterEach (at most one per test). */
  reconciler(opts?: Omit<ReconcilerOptions, 'netns'>): FibReconciler;
  /** dst -> first gateway ('' when none) of every route with our protocol; `ip -j` omits /32 and /128. */
  ours(family?: '-4' | '-6'): Map<string, string>;
}

export function useFibNs(opts: FibNsOptions): FibNs {
  let ns: Netns | undefined;
  let rec: FibReconciler | undefined;

  beforeEach(() => {
    const n = Netns.create(opts.prefix);
    ns = n;
    try {
      n.ip('link', 'add', opts.dev, 'type', 'veth', 'peer', 'name', `${opts.dev}p`);
      n.ip('addr', 'add', opts.addr, 'dev', opts.dev);
      for (const l of [opts.dev, `${opts.dev}p`]) n.ip('link', 'set', l, 'up');
    } catch (err) {
      // afterEach still runs after a failed beforeEach, but do not leave the namespace to chance.
      n.destroy();
      ns = undefined;
      throw err;
    }
  });

  afterEach(async () => {
    try {
      await rec?.stop();
    } finally {
      rec = undefined;
      ns?.destroy();
      ns = undefined;
    }
  });

  const current = (): Netns => {
    if (!ns) throw new Error('useFibNs: no namespace (called outside a test?)');
    return ns;
  };

  return {
    get ns() {
      return current();
    },
    reconciler(o = {}) {
      if (rec) throw new Error('useFibNs: one reconciler per test');
      rec = new FibReconciler({ ...o, netns: current().path });
      return rec;
    },
    ours(family = '-4') {
      const rs = current().ipJson<{ dst: string; gateway?: string }[]>(family, 'route', 'show', 'proto', String(UPLINK_RT_PROTO));
      return new Map(rs.map((r) => [r.dst, r.gateway ?? '']));
    },
  };
}
