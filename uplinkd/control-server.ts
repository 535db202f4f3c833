// The agent's control socket: HTTP/1.1 over a unix socket, JSON bodies. Chosen over a bespoke framing so
// the person on call can also use `curl --unix-socket /run/uplink/control.sock http://x/status`.
// Routes are registered by the components the agent hosts; streaming endpoints (watch) write NDJSON.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, rmSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { UplinkError } from '../lib/errors.js';

export class ControlError extends UplinkError {
  constructor(code: 'bad-request' | 'not-found' | 'unavailable' | 'internal', message: string, readonly status = 400, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export interface ControlRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export type JsonHandler = (req: ControlRequest) => Promise<unknown> | unknown;
/** A streaming handler writes NDJSON lines until the client goes away (the returned function stops it). */
export type StreamHandler = (req: ControlRequest, send: (event: unknown) => void) => () => void;

export class ControlServer {
  private readonly json = new Map<string, JsonHandler>();
  private readonly streams = new Map<string, StreamHandler>();
  private server: Server | undefined;

  handle(method: 'GET' | 'POST', path: string, handler: JsonHandler): void {
    this.json.set(`${method} ${path}`, handler);
  }

  stream(path: string, handler: StreamHandler): void {
    this.streams.set(`GET ${path}`, handler);
  }

  async listen(socketPath: string): Promise<void> {
    mkdirSync(dirname(socketPath), { recursive: true });
    // A stale socket from a crashed agent would make listen() fail with EADDRINUSE.
    rmSync(socketPath, { force: true });
    this.server = createServer((req, res) => void this.dispatch(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o600);
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://uplink');
    const key = `${req.method} ${url.pathname}`;
    try {
      const body = await readBody(req);
      const creq: ControlRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body };
      const stream = this.streams.get(key);
      if (stream) {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const stop = stream(creq, (event) => res.write(`${JSON.stringify(event)}\n`));
        res.on('close', stop);
        return;
      }
      const handler = this.json.get(key);
      if (!handler) throw new ControlError('not-found', `no such endpoint: ${key}`, 404);
      const result = await handler(creq);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(result ?? null));
    } catch (err) {
      const e = err instanceof ControlError ? err : new ControlError('internal', err instanceof Error ? err.message : String(err), 500, { cause: err });
      res.writeHead(e.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: e.code, message: e.message } }));
    }
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ControlError('bad-request', 'request body is not JSON', 400, { cause: err });
  }
}
