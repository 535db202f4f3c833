// Client side of the agent's control socket (uplinkd/control-server.ts).
import { request } from 'node:http';
import { UplinkError } from '../lib/errors.js';

export const DEFAULT_CONTROL_SOCKET = '/run/uplink/control.sock';

export class CtlError extends UplinkError {}

export function callAgent<T = unknown>(socketPath: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { 'content-type': 'application/json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          reject(new CtlError('bad-reply', `agent at ${socketPath} sent a reply that is not JSON`));
          return;
        }
        if ((res.statusCode ?? 500) >= 400) {
          const e = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
          reject(new CtlError(e?.code ?? 'agent-error', e?.message ?? `agent answered HTTP ${res.statusCode}`));
          return;
        }
        resolve(parsed as T);
      });
    });
    req.on('timeout', () => req.destroy(new CtlError('timeout', `agent at ${socketPath} did not answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof CtlError) return reject(err);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new CtlError('agent-down', `no agent is listening on ${socketPath} (${err.code}): is uplinkd running on this node? Try: systemctl status uplinkd, or pass --socket`, { cause: err }));
      } else reject(new CtlError('agent-unreachable', `cannot reach the agent at ${socketPath}: ${err.message}`, { cause: err }));
    });
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

/** Open a streaming endpoint and call onEvent for each NDJSON line until the agent closes it. */
export function streamAgent(socketPath: string, path: string, onEvent: (e: unknown) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'GET', path }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) onEvent(JSON.parse(line));
        }
      });
      res.on('end', () => resolve());
    });
    req.on('error', (err) => reject(new CtlError('agent-unreachable', `cannot reach the agent at ${socketPath}: ${err.message}`, { cause: err })));
    req.end();
  });
}
