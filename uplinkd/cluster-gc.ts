// One cluster-wide leader (a datastore lease on `leaders/gc`) reclaims the blocks of removed nodes.
//
// "Removed" is a deliberate act, never inferred from an agent being down (an agent restarting or a
// partitioned node must keep its blocks): each agent registers `nodes/<name>` when it starts, and
// `uplinkctl node remove NAME` (or, with the Kubernetes datastore, the Node object's deletion) deletes
// that record. The leader then reclaims every block and address whose node has no record.
import { logger } from '../lib/log.js';
import { registry } from '../lib/metrics.js';
import { Gauge, Counter } from 'prom-client';
import { isDatastoreError, type Datastore, type Ipam, type BlockAffinity } from '../ipam/index.js';
import { DatastoreLeaseElector } from '../routes/leader-datastore.js';
import type { EventJournal } from './events.js';

const log = logger('cluster-gc');
export const NODES_PREFIX = 'nodes/';
const AFFINITIES = 'ipam/affinities/';

const gcLeader = new Gauge({ name: 'uplink_gc_leader', help: '1 when this agent is the cluster-wide GC leader', registers: [registry] });
const reclaimed = new Counter({ name: 'uplink_ipam_nodes_reclaimed_total', help: 'Removed nodes whose blocks were reclaimed', registers: [registry] });

export interface NodeRecord {
  node: string;
  registeredAt: string;
  labels: Record<string, string>;
}

export async function registerNode(store: Datastore, node: string, labels: Record<string, string>): Promise<void> {
  const rec: NodeRecord = { node, registeredAt: new Date().toISOString(), labels };
  try {
    await store.create(`${NODES_PREFIX}${node}`, rec as never);
  } catch (err) {
    if (!isDatastoreError(err, 'exists')) throw err;
  }
}

export class ClusterGc {
  private readonly elector: DatastoreLeaseElector;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: Datastore,
    private readonly ipam: Ipam,
    node: string,
    private readonly journal: EventJournal,
    private readonly intervalMs = 5000,
  ) {
    this.elector = new DatastoreLeaseElector(store, 'leaders/gc', { identity: node, intervalMs });
    this.elector.on('elected', () => {
      gcLeader.set(1);
      journal.add('leader', 'this agent is now the cluster GC leader');
    });
    this.elector.on('lost', (why) => {
      gcLeader.set(0);
      journal.add('leader', `no longer the cluster GC leader (${why})`);
    });
    this.elector.on('error', (err) => log.warn({ err }, 'GC leader election'));
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  start(): void {
    this.elector.start();
    const tick = (): void => {
      if (this.stopped) return;
      void this.round().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        this.timer?.unref();
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.elector.stop();
    gcLeader.set(0);
  }

  /** One work round: if leader, reclaim every node that has blocks but no registration. */
  async round(): Promise<string[]> {
    if (!this.elector.isLeader) return [];
    try {
      const known = new Set((await this.store.list<NodeRecord>(NODES_PREFIX)).items.map((i) => i.value.node));
      const owners = new Set((await this.store.list<BlockAffinity>(AFFINITIES)).items.map((i) => i.value.node));
      const done: string[] = [];
      for (const n of owners) {
        if (known.has(n)) continue;
        const r = await this.ipam.reclaimNode(n);
        reclaimed.inc();
        done.push(n);
        this.journal.add('ipam', `node ${n} was removed: reclaimed ${r.blocksDeleted.length} blocks, released ${r.addressesReleased} addresses`, { ...r });
      }
      return done;
    } catch (err) {
      log.warn({ err }, 'cluster GC round failed');
      return [];
    }
  }
}
