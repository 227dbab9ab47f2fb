/**
 * The web view's routes on a real HTTP endpoint, over a stand-in for the
 * WebViewSource port (the daemon's own is tested in the browser test): the
 * page and its assets, the JSON API, Server-Sent Events in order, and the
 * actions' token and loopback rules.
 */
import { request } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startHttpEndpoint } from '../../../../src/adapters/http/http-endpoint.js';
import { webRoutes } from '../../../../src/adapters/http/web-routes.js';
import type { ViewAction, ViewEvent, WebViewSource } from '../../../../src/core/ports.js';
import { quietLogger } from '../../../helpers/docker.js';
import { tempDir } from '../../../helpers/workspace.js';

class Source implements WebViewSource {
  readonly listeners = new Set<(e: ViewEvent) => void>();
  readonly asked: [ViewAction, string][] = [];
  pipeline() {
    return { stages: [{ name: 'a', phase: 'UpToDate' as const, reasons: [], runtime: 'host' }], edges: [], actions: true };
  }
  async stage(name: string) {
    return name === 'a' ? { name, phase: 'Stale' as const, cmd: 'make a', runtime: 'host', reasons: [], log: ['hi'], logSeq: 1 } : undefined;
  }
  async metrics() {
    return '{"data": {}}';
  }
  async plots() {
    return '{}';
  }
  async experiments() {
    return [];
  }
  subscribe(l: (e: ViewEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: ViewEvent) {
    for (const l of this.listeners) l(e);
  }
  act(action: ViewAction, stage: string) {
    this.asked.push([action, stage]);
    return stage === 'a' ? { ok: true as const, message: 'looking' } : { ok: false as const, status: 404 as const, message: 'no stage' };
  }
}

function assets(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'app.js'), 'console.log(1)\n');
  writeFileSync(path.join(dir, 'app.css'), 'body{}\n');
  return dir;
}

async function serve(source: Source, o: { token: string | undefined; assetsDir: string }) {
  return startHttpEndpoint({
    host: '127.0.0.1',
    port: 0,
    log: quietLogger,
    health: () => ({ ok: true, detail: {} }),
    metrics: () => '',
    routes: webRoutes({ source, token: o.token, loopback: true, assetsDir: o.assetsDir, log: quietLogger }),
  });
}

/** A raw GET with any Host header (fetch will not send another host than the URL's). */
function getStatus(port: number, p: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: p, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject).end();
  });
}

describe('the web view routes', () => {
  it('serve the page, its bundle, vega from node_modules and the JSON API, beside /healthz', async () => {
    using ws = tempDir();
    const source = new Source();
    await using http = await serve(source, { token: 't0k', assetsDir: assets(path.join(ws.path, 'web')) });
    const base = `http://127.0.0.1:${http.port}`;
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    for (const src of ['/assets/app.js', '/assets/app.css', '/assets/vega.min.js', '/assets/vega-lite.min.js', '/assets/vega-embed.min.js']) {
      expect(html).toContain(src);
      expect((await fetch(`${base}${src}`)).status, src).toBe(200);
    }
    expect(html).not.toMatch(/https?:\/\//);
    expect(await (await fetch(`${base}/assets/app.js`)).text()).toBe('console.log(1)\n');
    expect(await (await fetch(`${base}/api/pipeline`)).json()).toEqual(source.pipeline());
    expect(((await (await fetch(`${base}/api/stages/a`)).json()) as { log: string[] }).log).toEqual(['hi']);
    expect((await fetch(`${base}/api/stages/b`)).status).toBe(404);
    expect(await (await fetch(`${base}/api/metrics`)).text()).toBe('{"data": {}}');
    expect(await (await fetch(`${base}/api/experiments`)).json()).toEqual([]);
    expect((await fetch(`${base}/api/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('push events as they come, in order, each named by its kind', async () => {
    using ws = tempDir();
    const source = new Source();
    await using http = await serve(source, { token: undefined, assetsDir: assets(path.join(ws.path, 'web')) });
    const res = await fetch(`http://127.0.0.1:${http.port}/events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let text = '';
    const until = async (s: string) => {
      while (!text.includes(s)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${s}: ${text}`);
        text += dec.decode(value);
      }
    };
    await until('retry:');
    source.emit({ kind: 'condition', stage: 'a', phase: 'Running', previous: 'Stale', reasons: ['param modified: params.yaml:a'], at: '2026-01-01T00:00:00.000Z' });
    source.emit({ kind: 'log', stage: 'a', stream: 'stdout', line: 'line one', n: 1 });
    await until('line one');
    const events = text
      .split('\n\n')
      .filter((b) => b.startsWith('event: '))
      .map((b) => ({ name: b.split('\n')[0]?.slice('event: '.length), data: JSON.parse(b.split('\n')[1]?.slice('data: '.length) ?? '') as ViewEvent }));
    expect(events.map((e) => [e.name, e.data.kind, 'stage' in e.data ? e.data.stage : undefined])).toEqual([
      ['condition', 'condition', 'a'],
      ['log', 'log', 'a'],
    ]);
    await reader.cancel();
  });

  it('actions need the token; with none configured they are off; other hosts than loopback are refused', async () => {
    using ws = tempDir();
    const source = new Source();
    const dir = assets(path.join(ws.path, 'web'));
    {
      await using http = await serve(source, { token: 't0k', assetsDir: dir });
      const post = (stage: string, auth?: string) => fetch(`http://127.0.0.1:${http.port}/api/stages/${stage}/rerun`, { method: 'POST', headers: auth ? { authorization: auth } : {} });
      expect((await post('a')).status).toBe(401);
      expect((await post('a', 'Bearer nope')).status).toBe(401);
      expect(source.asked).toEqual([]);
      expect((await post('a', 'Bearer t0k')).status).toBe(202);
      expect((await post('b', 'Bearer t0k')).status).toBe(404);
      expect(source.asked).toEqual([
        ['rerun', 'a'],
        ['rerun', 'b'],
      ]);
      expect((await fetch(`http://127.0.0.1:${http.port}/api/pipeline`, { method: 'POST' })).status).toBe(405);
      expect((await post('%E0%A4%A', 'Bearer t0k')).status).toBe(400);
      expect((await fetch(`http://127.0.0.1:${http.port}/api/stages/a/reconcile`, { method: 'POST', headers: { authorization: 'Bearer t0k' } })).status).toBe(202);
      expect(source.asked.at(-1)).toEqual(['reconcile', 'a']);
      expect((await fetch(`http://127.0.0.1:${http.port}/api/stages/%E0%A4%A`)).status).toBe(404);
      expect(await getStatus(http.port, '/api/pipeline', `localhost:${http.port}`)).toBe(200);
      expect(await getStatus(http.port, '/', `attacker.example:${http.port}`)).toBe(421);
    }
    {
      await using http = await serve(source, { token: undefined, assetsDir: dir });
      const res = await fetch(`http://127.0.0.1:${http.port}/api/stages/a/reconcile`, { method: 'POST', headers: { authorization: 'Bearer t0k' } });
      expect(res.status).toBe(403);
      expect(source.asked).toHaveLength(3);
    }
  });

  it('without a built bundle the page says how to build it', async () => {
    using ws = tempDir();
    await using http = await serve(new Source(), { token: undefined, assetsDir: path.join(ws.path, 'none') });
    const res = await fetch(`http://127.0.0.1:${http.port}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build');
  });
});
