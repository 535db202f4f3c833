// FakeKubeApiServer — a FAKE of the Kubernetes API server, for tests only: no API server can run on
// this machine. It is a real HTTP server on 127.0.0.1 that the real @kubernetes/client-node talks to,
// and it implements the semantics the kubernetes datastore relies on:
//   - one global resourceVersion counter; every write gets the next one (as etcd-backed servers do);
//   - POST of an existing name: 409 AlreadyExists; PUT with a stale metadata.resourceVersion: 409
//     Conflict; GET/PUT/DELETE of a missing name: 404 NotFound; DELETE honours
//     preconditions.resourceVersion (409 Conflict);
//   - list with labelSelector (`k=v`, comma-joined) returning the list's resourceVersion;
//   - watch (`?watch=true`) from a resourceVersion, replaying the kept event log, then streaming;
//     a resourceVersion older than the kept log gets 410 Gone (an ERROR event with a Status, as the
//     real server sends); `compact()` drops the log to force that.
// Resources: cluster-scoped custom resources under /apis/<group>/<version>/<plural>, and namespaced
// coordination.k8s.io/v1 Leases. No admission, no schema validation, no finalizers.
// Test controls: `dropWatches()` ends every open watch stream (an API server restart or a proxy's idle
// timeout; clients resume from their last resourceVersion, or relist after `compact()`); `mount()`
// serves another path prefix with another fake (the core/v1 Nodes and Pods of
// uplinkd/kube/test/fake-core-api-server.ts) so one URL is the whole API server, as for the agent;
// `listenUnix()` also serves on a unix socket, which a process in another network namespace can reach.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

type Obj = { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; creationTimestamp?: string; [k: string]: unknown }; [k: string]: unknown };
type Event = { rv: number; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Obj };

interface Collection {
  objects: Map<string, Obj>;
  events: Event[];
  watchers: Set<ServerResponse>;
}

const KEEP_EVENTS = 5000;

export class FakeKubeApiServer {
  private readonly server: Server;
  private readonly unixServers: Server[] = [];
  private readonly mounts: Array<{ prefix: string; handler: (req: IncomingMessage, res: ServerResponse) => void }> = [];
  private readonly collections = new Map<string, Collection>();
  private rv = 100;
  /** Events at or below this revision are gone: watches from older versions get 410. */
  private compactedRv = 0;
  port = 0;
  /** Requests served, by method, for tests that check what the client did. */
  readonly requests = new Map<string, number>();

  constructor() {
    this.server = createServer(this.onRequest);
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const mounted = this.mounts.find((m) => path.startsWith(m.prefix));
    if (mounted) {
      this.requests.set(req.method ?? '?', (this.requests.get(req.method ?? '?') ?? 0) + 1);
      return mounted.handler(req, res);
    }
    this.handle(req, res).catch((err: unknown) => this.status(res, 500, 'InternalError', String(err)));
  };

  /** Requests whose path starts with `prefix` go to `handler` (e.g. `/api/` to a core/v1 fake). */
  mount(prefix: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void {
    this.mounts.push({ prefix, handler });
  }

  /** Serve the same API on a unix socket too (reachable from any network namespace on this host). */
  async listenUnix(path: string): Promise<void> {
    const s = createServer(this.onRequest);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(path, resolve);
    });
    this.unixServers.push(s);
  }

  /** Ends every open watch stream, as an API server restart would; clients must watch again. */
  dropWatches(): void {
    for (const c of this.collections.values()) {
      for (const w of c.watchers) w.end();
      c.watchers.clear();
    }
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const c of this.collections.values()) for (const w of c.watchers) w.end();
    for (const s of [this.server, ...this.unixServers]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  /** Forget the event log: every watch from an older resourceVersion now gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    for (const c of this.collections.values()) c.events = [];
  }

  private coll(path: string): Collection {
    let c = this.collections.get(path);
    if (!c) {
      c = { objects: new Map(), events: [], watchers: new Set() };
      this.collections.set(path, c);
    }
    return c;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.set(req.method ?? '?', (this.requests.get(req.method ?? '?') ?? 0) + 1);
    const m =
      /^\/apis\/([^/]+)\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname) ??
      /^\/apis\/(coordination\.k8s\.io)\/(v1)\/namespaces\/[^/]+\/(leases)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return this.status(res, 404, 'NotFound', `no route ${url.pathname}`);
    const name = m[4];
    const c = this.coll(name ? url.pathname.slice(0, url.pathname.lastIndexOf('/')) : url.pathname);
    const body = req.method === 'POST' || req.method === 'PUT' || req.method === 'DELETE' ? await readJson(req) : undefined;
    if (name === undefined) {
      if (req.method === 'GET' && (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1')) return this.watch(c, url, res);
      if (req.method === 'GET') {
        const sel = parseSelector(url.searchParams.get('labelSelector'));
        const items = [...c.objects.values()].filter((o) => sel(o.metadata.labels ?? {}));
        return this.json(res, 200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items });
      }
      if (req.method === 'POST') {
        const obj = body as Obj;
        if (!obj?.metadata?.name) return this.status(res, 422, 'Invalid', 'metadata.name required');
        if (c.objects.has(obj.metadata.name)) return this.status(res, 409, 'AlreadyExists', `${obj.metadata.name} already exists`);
        const stored: Obj = { ...obj, metadata: { ...obj.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString(), resourceVersion: String(++this.rv) } };
        c.objects.set(stored.metadata.name, stored);
        this.emit(c, 'ADDED', stored);
        return this.json(res, 201, stored);
      }
      return this.status(res, 405, 'MethodNotAllowed', req.method ?? '');
    }
    const cur = c.objects.get(name);
    if (req.method === 'GET') return cur ? this.json(res, 200, cur) : this.status(res, 404, 'NotFound', `${name} not found`);
    if (req.method === 'PUT') {
      if (!cur) return this.status(res, 404, 'NotFound', `${name} not found`);
      const obj = body as Obj;
      const want = obj?.metadata?.resourceVersion;
      // Update without a resourceVersion is an unconditional write; with one it must match.
      if (want !== undefined && want !== '' && want !== cur.metadata.resourceVersion) {
        return this.status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${name}: the object has been modified; please apply your changes to the latest version and try again`);
      }
      const stored: Obj = { ...obj, metadata: { ...obj.metadata, name, uid: cur.metadata.uid, creationTimestamp: cur.metadata.creationTimestamp, resourceVersion: String(++this.rv) } };
      c.objects.set(name, stored);
      this.emit(c, 'MODIFIED', stored);
      return this.json(res, 200, stored);
    }
    if (req.method === 'DELETE') {
      if (!cur) return this.status(res, 404, 'NotFound', `${name} not found`);
      const pre = (body as { preconditions?: { resourceVersion?: string } } | undefined)?.preconditions?.resourceVersion;
      if (pre !== undefined && pre !== cur.metadata.resourceVersion) {
        return this.status(res, 409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${pre}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
      }
      c.objects.delete(name);
      const gone: Obj = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(++this.rv) } };
      this.emit(c, 'DELETED', gone);
      return this.json(res, 200, gone);
    }
    return this.status(res, 405, 'MethodNotAllowed', req.method ?? '');
  }

  private emit(c: Collection, type: Event['type'], object: Obj): void {
    const ev: Event = { rv: Number(object.metadata.resourceVersion), type, object };
    c.events.push(ev);
    if (c.events.length > KEEP_EVENTS) {
      const dropped = c.events.splice(0, c.events.length - KEEP_EVENTS);
      this.compactedRv = Math.max(this.compactedRv, dropped[dropped.length - 1]!.rv);
    }
    for (const w of c.watchers) w.write(JSON.stringify({ type, object }) + '\n');
  }

  private watch(c: Collection, url: URL, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = url.searchParams.get('resourceVersion');
    const sel = parseSelector(url.searchParams.get('labelSelector'));
    if (from === null || from === '' || from === '0') {
      // Like the real server: a watch with no version starts with the current state as ADDED events.
      for (const o of c.objects.values()) if (sel(o.metadata.labels ?? {})) res.write(JSON.stringify({ type: 'ADDED', object: o }) + '\n');
    } else {
      const n = Number(from);
      if (n < this.compactedRv) {
        res.write(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${n} (${this.compactedRv})` } }) + '\n');
        res.end();
        return;
      }
      for (const e of c.events) if (e.rv > n && sel(e.object.metadata.labels ?? {})) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
    }
    c.watchers.add(res);
    res.on('close', () => c.watchers.delete(res));
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

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text ? (JSON.parse(text) as unknown) : undefined;
}

function parseSelector(sel: string | null): (labels: Record<string, string>) => boolean {
  if (!sel) return () => true;
  const terms = sel.split(',').map((t) => t.split('='));
  return (labels) => terms.every(([k, v]) => labels[k!] === v);
}
