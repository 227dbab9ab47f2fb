import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReprodError } from '../../core/errors.js';
import type { Logger } from '../../core/ports.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus.js';
import { errorMessage } from '../../core/errno.js';

export interface HttpEndpointOptions {
  /** Address to listen on: `127.0.0.1` (default) or `0.0.0.0` to be scraped from elsewhere. */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Whether the reconcile loop is alive and can work (`status` says how, when not ok: `degraded`, `unavailable`), with details. */
  health(): { ok: boolean; status?: string; detail: Record<string, unknown> };
  /** Prometheus exposition text. */
  metrics(): string;
  /** More routes (the web view): tried first; answers true when it took the request. */
  routes?: { handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>; close(): void };
  log: Logger;
}

export interface HttpEndpoint extends AsyncDisposable {
  /** The port bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The daemon's HTTP endpoint (node:http, nothing else):
 *
 *   GET /healthz  200 {"status":"ok",…} while the loop is alive and the engine answers,
 *                 else 503 {"status":"degraded"|"unavailable",…}
 *   GET /metrics  Prometheus text
 *   anything `routes` takes (the web view: GET /, /events, /api/…, POST actions)
 */
export async function startHttpEndpoint(opts: HttpEndpointOptions): Promise<HttpEndpoint> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (opts.routes) {
      opts.routes.handle(req, res, url).then(
        (taken) => {
          if (!taken) builtIn(req, res, url);
        },
        (err: unknown) => {
          opts.log.error({ path: url.pathname, err: errorMessage(err) }, 'http handler failed');
          if (!res.headersSent) res.writeHead(500).end();
        },
      );
      return;
    }
    builtIn(req, res, url);
  });
  const builtIn = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    try {
      if (url.pathname === '/healthz') {
        const h = opts.health();
        const body = `${JSON.stringify({ status: h.ok ? 'ok' : (h.status ?? 'unavailable'), ...h.detail })}\n`;
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(req.method === 'HEAD' ? undefined : body);
      } else if (url.pathname === '/metrics') {
        const body = opts.metrics();
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : body);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${opts.routes ? '/, ' : ''}/healthz or /metrics\n`);
      }
    } catch (err) {
      opts.log.error({ path: url.pathname, err: errorMessage(err) }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500).end();
    }
  };
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(
        new ReprodError('USAGE', `cannot listen on ${opts.host}:${opts.port}: ${err.message}`, {
          cause: err,
          remedy: 'Choose another port with --port (0 picks a free one, -1 turns the endpoint off).',
        }),
      );
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  opts.log.info({ host: opts.host, port }, opts.routes ? 'serving the web view, /healthz and /metrics' : 'serving /healthz and /metrics');
  const close = () =>
    new Promise<void>((resolve) => {
      opts.routes?.close();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { port, close, [Symbol.asyncDispose]: close };
}
