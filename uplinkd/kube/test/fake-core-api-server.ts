// FakeCoreApiServer — a FAKE of the Kubernetes API server's core/v1 Nodes and Pods, for tests only (no
// API server can run here). Same pattern as ipam/test/fake-kube-api-server.ts (which serves custom
// resources and Leases, and can mount this one's `serve` so one URL is the whole API): a real HTTP
// server on 127.0.0.1 that the real @kubernetes/client-node informers talk to. Semantics kept from the real server:
//   - one global resourceVersion counter, bumped by every write;
//   - list (`GET /api/v1/nodes`, `GET /api/v1/pods`) returns items and the list's resourceVersion;
//     `fieldSelector=spec.nodeName=X` and `labelSelector=k=v` filter;
//   - watch (`?watch=true&resourceVersion=N`) replays kept events after N, then streams; N older than
//     the kept log gets an ERROR event with a 410 Expired Status and the stream ends (as the real
//     server does); `compact()` drops the log.
// Test controls instead of a write API: `putNode/deleteNode/putPod/deletePod` mutate the store
// directly; `holdWatches()` parks new watch requests until `releaseWatches()` and `dropWatches()` ends
// the open streams, so a test can make changes while no informer is connected.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

export interface FakeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

type Kind = 'nodes' | 'pods';
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface Event {
  rv: number;
  type: EventType;
  object: FakeObject;
}
interface Watcher {
  res: ServerResponse;
  match: (o: FakeObject) => boolean;
}

export class FakeCoreApiServer {
  private readonly server: Server;
  private readonly objects: Record<Kind, Map<string, FakeObject>> = { nodes: new Map(), pods: new Map() };
  private readonly events: Record<Kind, Event[]> = { nodes: [], pods: [] };
  private readonly watchers: Record<Kind, Set<Watcher>> = { nodes: new Set(), pods: new Set() };
  private rv = 1000;
  private compactedRv = 0;
  private held: Array<() => void> | undefined;
  /** Requests served, by `<list|watch> <kind>`, for tests that check what the client did. */
  readonly requests = new Map<string, number>();

  constructor() {
    this.server = createServer(this.serve);
  }

  /**
   * The request handler, public so another fake can mount it (FakeKubeApiServer.mount('/api/', ...)):
   * one URL then serves custom resources, Leases, Nodes and Pods, as a real API server does.
   */
  readonly serve = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      this.handle(req, res);
    } catch (err) {
      this.status(res, 500, 'InternalError', String(err));
    }
  };

  /** `port` 0 picks a free one; a fixed port lets a test bring a "restarted" server back where clients point. */
  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
    const addr = this.server.address();
    return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }

  async stop(): Promise<void> {
    this.releaseWatches();
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  putNode(name: string, meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): FakeObject {
    return this.put('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, ...meta }, spec: {}, status: {} });
  }

  deleteNode(name: string): void {
    this.remove('nodes', name);
  }

  putPod(namespace: string, name: string, nodeName: string, phase = 'Running'): FakeObject {
    return this.put('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] }, status: { phase } });
  }

  deletePod(namespace: string, name: string): void {
    this.remove('pods', `${namespace}/${name}`);
  }

  /** Forget the event log: watches from any earlier resourceVersion now get 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.events.nodes = [];
    this.events.pods = [];
  }

  /** New watch requests wait (unanswered) until releaseWatches(). */
  holdWatches(): void {
    this.held ??= [];
  }

  releaseWatches(): void {
    const h = this.held ?? [];
    this.held = undefined;
    for (const go of h) go();
  }

  /** Ends every open watch stream (as an API server restart or a load balancer idle timeout would). */
  dropWatches(): void {
    for (const kind of ['nodes', 'pods'] as const) {
      for (const w of this.watchers[kind]) w.res.end();
      this.watchers[kind].clear();
    }
  }

  count(what: string): number {
    return this.requests.get(what) ?? 0;
  }

  private key(o: FakeObject): string {
    return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  }

  private put(kind: Kind, obj: FakeObject): FakeObject {
    const cur = this.objects[kind].get(this.key(obj));
    const stored: FakeObject = {
      ...obj,
      metadata: { ...obj.metadata, uid: cur?.metadata.uid ?? randomUUID(), creationTimestamp: cur?.metadata.creationTimestamp ?? new Date().toISOString(), resourceVersion: String(++this.rv) },
    };
    this.objects[kind].set(this.key(stored), stored);
    this.emit(kind, cur ? 'MODIFIED' : 'ADDED', stored);
    return stored;
  }

  private remove(kind: Kind, key: string): void {
    const cur = this.objects[kind].get(key);
    if (!cur) throw new Error(`fake: no ${kind} ${key}`);
    this.objects[kind].delete(key);
    this.emit(kind, 'DELETED', { ...cur, metadata: { ...cur.metadata, resourceVersion: String(++this.rv) } });
  }

  private emit(kind: Kind, type: EventType, object: FakeObject): void {
    this.events[kind].push({ rv: Number(object.metadata.resourceVersion), type, object });
    for (const w of this.watchers[kind]) if (w.match(object)) w.res.write(JSON.stringify({ type, object }) + '\n');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const m = /^\/api\/v1\/(nodes|pods)$/.exec(url.pathname);
    if (!m || req.method !== 'GET') return this.status(res, 404, 'NotFound', `fake serves only GET /api/v1/{nodes,pods}, not ${req.method} ${url.pathname}`);
    const kind = m[1] as Kind;
    const match = matcher(url.searchParams.get('labelSelector'), url.searchParams.get('fieldSelector'));
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const what = `${watch ? 'watch' : 'list'} ${kind}`;
    this.requests.set(what, (this.requests.get(what) ?? 0) + 1);
    if (!watch) {
      const items = [...this.objects[kind].values()].filter(match);
      return this.json(res, 200, { kind: kind === 'nodes' ? 'NodeList' : 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items });
    }
    const go = (): void => this.watch(kind, url.searchParams.get('resourceVersion'), match, res);
    if (this.held) this.held.push(go);
    else go();
  }

  private watch(kind: Kind, from: string | null, match: (o: FakeObject) => boolean, res: ServerResponse): void {
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // The client awaits the response headers before it returns the watch: send them now, not with
    // the first event (which may never come).
    res.flushHeaders();
    if (from === null || from === '' || from === '0') {
      for (const o of this.objects[kind].values()) if (match(o)) res.write(JSON.stringify({ type: 'ADDED', object: o }) + '\n');
    } else {
      const n = Number(from);
      if (n < this.compactedRv) {
        // What kube-apiserver sends for an expired resourceVersion (then it ends the stream).
        res.write(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${n} (${this.compactedRv})` } }) + '\n');
        res.end();
        return;
      }
      for (const e of this.events[kind]) if (e.rv > n && match(e.object)) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
    }
    const w: Watcher = { res, match };
    this.watchers[kind].add(w);
    res.on('close', () => this.watchers[kind].delete(w));
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    this.json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  }
}

/** `k=v,k2=v2` label selectors and the one field selector informers use here, `spec.nodeName=X`. */
function matcher(labelSel: string | null, fieldSel: string | null): (o: FakeObject) => boolean {
  const terms = (s: string | null): Array<[string, string]> => (s ? s.split(',').map((t) => t.split('=') as [string, string]) : []);
  const labels = terms(labelSel);
  const fields = terms(fieldSel);
  for (const [k] of fields) if (k !== 'spec.nodeName' && k !== 'metadata.name') throw new Error(`fake: unsupported field selector ${k}`);
  return (o) =>
    labels.every(([k, v]) => o.metadata.labels?.[k] === v) &&
    fields.every(([k, v]) => (k === 'spec.nodeName' ? o.spec?.nodeName === v : o.metadata.name === v));
}
