// The agent's event journal: session changes, route changes, CNI attach/detach, errors. Feeds
// `uplinkctl watch` (live) and `uplinkctl status` (recent errors). Bounded ring, so memory stays flat.
import { EventEmitter } from 'node:events';

export interface AgentEvent {
  time: string;
  kind: 'session' | 'route' | 'cni' | 'ipam' | 'fib' | 'leader' | 'error' | 'bfd';
  message: string;
  data?: Record<string, unknown>;
}

export class EventJournal extends EventEmitter<{ event: [AgentEvent] }> {
  private readonly ring: AgentEvent[] = [];

  constructor(private readonly capacity = 500) {
    super();
    this.setMaxListeners(100);
  }

  add(kind: AgentEvent['kind'], message: string, data?: Record<string, unknown>): void {
    const e: AgentEvent = { time: new Date().toISOString(), kind, message };
    if (data) e.data = data;
    this.ring.push(e);
    if (this.ring.length > this.capacity) this.ring.shift();
    this.emit('event', e);
  }

  recent(filter?: (e: AgentEvent) => boolean, limit = 20): AgentEvent[] {
    const out = filter ? this.ring.filter(filter) : this.ring;
    return out.slice(-limit);
  }
}
