// The namespaces and managers of bfd/'s root tests, undone after each test even when it failed:
// daemons and managers first (newest first), then the namespaces they live in.
import { afterEach } from 'vitest';
import { rootLogger } from '../../lib/log.js';
import { Netns, link } from '../../test/harness/netns.js';
import { BfdManager } from '../manager.js';

type Undo = () => Promise<void> | void;

export interface BfdFixture {
  /** A fresh namespace (prefix ulf), destroyed after the test. */
  ns(): Netns;
  /** Two namespaces joined eth0 <-> eth0, with `aAddr`/`bAddr` (ADDR/LEN) on the two ends. */
  pair(aAddr: string, bAddr: string): { a: Netns; b: Netns };
  /** A BfdManager whose sockets live in `n`, closed after the test. */
  manager(n: Netns): BfdManager;
  /** Something to stop before the namespaces go (a daemon). */
  onCleanup(f: Undo): void;
}

/** Call once at the top of a test file: it registers the afterEach that undoes each test's fixture. */
export function useBfdFixture(): BfdFixture {
  let first: Undo[] = [];
  let last: Undo[] = [];
  afterEach(async () => {
    const all = [...first, ...last];
    first = [];
    last = [];
    for (const f of all) {
      try {
        await f();
      } catch {
        /* best effort: the rest must still run */
      }
    }
  });
  const ns = (): Netns => {
    const n = Netns.create('ulf');
    last.push(() => n.destroy());
    return n;
  };
  return {
    ns,
    pair(aAddr, bAddr) {
      const a = ns();
      const b = ns();
      link(a, 'eth0', b, 'eth0', [aAddr], [bAddr]);
      return { a, b };
    },
    manager(n) {
      const m = new BfdManager({ netns: n.path, log: rootLogger.child({ component: 'bfd' }, { level: 'warn' }) });
      first.unshift(() => m.close());
      return m;
    },
    onCleanup(f) {
      first.unshift(f);
    },
  };
}
