// Prometheus scrape endpoint: GET /metrics on metrics.listen (host:port). Anything else is 404.
import { createServer, type Server } from 'node:http';
import { registry } from '../lib/metrics.js';

export async function startMetricsServer(listen: string): Promise<Server> {
  const idx = listen.lastIndexOf(':');
  const host = listen.slice(0, idx).replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(listen.slice(idx + 1));
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: scrape /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
