import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ReprodError } from '../../core/errors.js';
import { errorMessage } from '../../core/errno.js';
import type { Logger, ViewAction, WebViewSource } from '../../core/ports.js';
import { vegaScripts } from '../fs/plots-files.js';
import { EventStream } from './event-stream.js';

/** Where `npm run build` writes the page's bundle (web/build.ts): dist/web of the package, from src/ or dist/ alike. */
export function webAssetsDir(): string {
  return fileURLToPath(new URL('../../../dist/web/', import.meta.url));
}

export interface WebRoutesOptions {
  source: WebViewSource;
  /** The bearer token of the POST actions; undefined turns them off. */
  token: string | undefined;
  /** Whether the endpoint listens on loopback only: requests must then name a loopback host (no DNS rebinding). */
  loopback: boolean;
  /** Default webAssetsDir(). */
  assetsDir?: string;
  log: Logger;
}

interface Asset {
  type: string;
  body: Buffer;
  /** Versioned by the package (vega's builds): cached by the browser. */
  immutable?: boolean;
}

/** The web view's routes (`handle` answers true when it took the request). */
export interface WebRoutes {
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  close(): void;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function hostName(header: string | undefined): string {
  if (!header) return '';
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : (header.split(':')[0] ?? '');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
}

function jsonText(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(text);
}

/** A path segment decoded; undefined when it is not valid percent-encoding. */
function segment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch (err) {
    if (err instanceof URIError) return undefined;
    throw err;
  }
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** The page: a shell that the bundle fills (web/src/main.ts). */
function indexHtml(): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>reprod</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/assets/app.css">
  <script src="/assets/vega.min.js"></script>
  <script src="/assets/vega-lite.min.js"></script>
  <script src="/assets/vega-embed.min.js"></script>
</head>
<body>
  <div id="app"></div>
  <script type="module" src="/assets/app.js"></script>
</body>
</html>
`;
}

/**
 * The daemon's web view over HTTP:
 *
 *   GET  /                              the page (its script and styles under /assets/, bundled at build time)
 *   GET  /events                        Server-Sent Events: condition, log, log-reset, pass (core/ports/web-view.ts)
 *   GET  /api/pipeline                  the graph and phases
 *   GET  /api/stages/NAME               why stale, the last run, the log so far
 *   GET  /api/metrics | /api/plots      metrics show / plots show --json
 *   GET  /api/experiments               the experiments table
 *   POST /api/stages/NAME/rerun         run it now, whatever its state   } Authorization: Bearer TOKEN;
 *   POST /api/stages/NAME/reconcile     look at it again now             } 403 while actions are off
 *   POST /api/stages/NAME/cancel        stop its run; it stays Cancelled } (409: it is not running)
 *
 * Nothing is fetched from elsewhere: vega's builds come from the package's
 * own node_modules, the page's bundle from dist/web/.
 */
export function webRoutes(o: WebRoutesOptions): WebRoutes {
  const dir = o.assetsDir ?? webAssetsDir();
  const assets = new Map<string, Asset>();
  let missing: ReprodError | undefined;
  for (const [name, type] of [
    ['app.js', 'text/javascript'],
    ['app.css', 'text/css'],
  ] as const) {
    const file = path.join(dir, name);
    if (!existsSync(file)) {
      missing = new ReprodError('WEB_ASSETS', `the web view's ${name} is missing from ${dir}`);
      continue;
    }
    assets.set(`/assets/${name}`, { type: `${type}; charset=utf-8`, body: readFileSync(file) });
  }
  if (missing) o.log.warn({ err: missing.message, remedy: missing.remedy }, 'the web view is not built');
  // vega, vega-lite and vega-embed: the same builds `plots show` inlines into its page
  let vega: Map<string, Asset> | undefined;
  const vegaAsset = (p: string): Asset | undefined => {
    vega ??= new Map(
      vegaScripts().map((s) => [`/assets/${s.name.slice(0, s.name.lastIndexOf('@'))}.min.js`, { type: 'text/javascript; charset=utf-8', body: Buffer.from(s.source), immutable: true }]),
    );
    return vega.get(p);
  };
  const events = new EventStream();
  const unsubscribe = o.source.subscribe((e) => events.send(e.kind, e));

  const act = (req: IncomingMessage, res: ServerResponse, action: ViewAction, stage: string): void => {
    if (o.token === undefined) {
      json(res, 403, { error: 'actions are off: the daemon listens beyond loopback without --web-actions' });
      return;
    }
    if (!tokenMatches(req.headers.authorization, o.token)) {
      json(res, 401, { error: 'a valid token is needed: the one the daemon printed at start (Authorization: Bearer TOKEN)' });
      return;
    }
    const r = o.source.act(action, stage);
    json(res, r.ok ? 202 : r.status, r.ok ? { message: r.message } : { error: r.message });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const p = url.pathname;
    const isWeb = p === '/' || p === '/index.html' || p === '/events' || p.startsWith('/assets/') || p.startsWith('/api/');
    if (!isWeb) return false;
    if (o.loopback && !LOOPBACK_HOSTS.has(hostName(req.headers.host))) {
      json(res, 421, { error: `this daemon answers only requests to a loopback host, not ${JSON.stringify(req.headers.host ?? '')}` });
      return true;
    }
    const post = /^\/api\/stages\/([^/]+)\/(rerun|reconcile|cancel)$/.exec(p);
    if (req.method === 'POST') {
      const name = post ? segment(post[1] as string) : undefined;
      if (!post) res.writeHead(405, { allow: 'GET, HEAD' }).end();
      else if (name === undefined) json(res, 400, { error: `not a stage name: ${post[1] ?? ''}` });
      else act(req, res, post[2] as ViewAction, name);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: post ? 'POST' : 'GET, HEAD' }).end();
      return true;
    }
    if (p === '/' || p === '/index.html') {
      if (missing) res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${missing.message}\nhint: ${missing.remedy}\n`);
      else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(indexHtml());
      return true;
    }
    if (p === '/events') {
      events.open(req, res);
      return true;
    }
    if (p.startsWith('/assets/')) {
      const a = assets.get(p) ?? vegaAsset(p);
      if (!a) res.writeHead(404, { 'content-type': 'text/plain' }).end('no such asset\n');
      else res.writeHead(200, { 'content-type': a.type, 'cache-control': a.immutable ? 'max-age=86400' : 'no-cache' }).end(req.method === 'HEAD' ? undefined : a.body);
      return true;
    }
    try {
      await api(res, p);
    } catch (err) {
      o.log.warn({ path: p, err: errorMessage(err) }, 'web view request failed');
      if (!res.headersSent) json(res, 500, { error: errorMessage(err), ...(err instanceof ReprodError ? { code: err.code, remedy: err.remedy } : {}) });
    }
    return true;
  };

  const api = async (res: ServerResponse, p: string): Promise<void> => {
    const stage = /^\/api\/stages\/([^/]+)$/.exec(p);
    if (p === '/api/pipeline') json(res, 200, o.source.pipeline());
    else if (stage) {
      const name = segment(stage[1] as string);
      const d = name === undefined ? undefined : await o.source.stage(name);
      if (d) json(res, 200, d);
      else json(res, 404, { error: `no stage named ${JSON.stringify(name ?? stage[1])}` });
    } else if (p === '/api/metrics') jsonText(res, await o.source.metrics());
    else if (p === '/api/plots') jsonText(res, await o.source.plots());
    else if (p === '/api/experiments') json(res, 200, await o.source.experiments());
    else json(res, 404, { error: `no such endpoint: ${p}` });
  };

  return {
    handle,
    close: () => {
      unsubscribe();
      events.close();
    },
  };
}
