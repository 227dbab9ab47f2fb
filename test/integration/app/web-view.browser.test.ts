/**
 * The daemon's web view in headless Chromium (Debian's, driven by
 * playwright-core), against a real daemon on a copy of the example pipeline,
 * its four stages in sibling containers: the graph is drawn with the
 * pipeline's edges; an edit of params.yaml turns `train` Running, then
 * UpToDate, on the open page within 10 s (pushed by /events, no reload); the
 * selected stage's reason names `train.C` with its old and new value; its
 * output appears while it runs; the ROC plot is drawn; nothing is logged as
 * an error and nothing is fetched from anywhere but the daemon. A screenshot
 * goes to test-results/web-view.png.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDaemon } from '../../../src/app/daemon.js';
import type { Logger } from '../../../src/core/ports.js';
import { exampleWorkspace, REPO } from '../../helpers/compose.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOT = path.join(REPO, 'test-results', 'web-view.png');

function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const make = (b: Record<string, unknown>): Logger => {
    const at = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify({ ...b, ...obj })}`);
    return { debug: () => undefined, info: at('info'), warn: at('warn'), error: at('error'), child: (x) => make({ ...b, ...x }) };
  };
  return Object.assign(make({}), { lines });
}

let ws = '';
let url = '';
let token: string | undefined;
let stop: (() => Promise<void>) | undefined;
let context: BrowserContext | undefined;
let profile = '';
const log = memoryLogger();

beforeAll(async () => {
  // the page's bundle, as `npm run build` makes it
  execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'web', 'build.ts')], { cwd: REPO, stdio: 'inherit' });
  ws = exampleWorkspace();
  const ac = new AbortController();
  let listening: (u: string) => void = () => undefined;
  const served = new Promise<string>((resolve) => (listening = resolve));
  const done = runDaemon(
    {
      root: ws,
      runtime: 'auto',
      log,
      debounceMs: 50,
      http: { host: '127.0.0.1', port: 0 },
      onWebView: (info) => {
        token = info.token;
        listening(info.url);
      },
    },
    ac.signal,
  );
  stop = async () => {
    ac.abort();
    await done;
  };
  url = await Promise.race([served, done.then(() => Promise.reject(new Error(`the daemon stopped:\n${log.lines.join('\n')}`)))]);
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await stop?.();
  if (ws) rmSync(ws, { recursive: true, force: true });
}, 60_000);

/** The phase each node shows. */
const PHASES = `Object.fromEntries([...document.querySelectorAll('svg.graph g.node')].map((g) => [g.dataset.stage, g.dataset.phase]))`;
/** The drawn edges, `from->to`. */
const EDGES = `[...document.querySelectorAll('svg.graph path.edge')].map((e) => e.dataset.from + '->' + e.dataset.to).sort()`;
/**
 * From now on, in order: each phase train's node takes, and each line added
 * to the selected stage's output pane (it is recreated when the panel is
 * redrawn: the observer watches the panel's whole subtree).
 */
const TRACE = `(() => {
  window.__trace = [];
  const node = document.querySelector('svg.graph g.node[data-stage="train"]');
  new MutationObserver(() => window.__trace.push({ phase: node.dataset.phase, t: Math.round(performance.now()) })).observe(node, { attributes: true, attributeFilter: ['data-phase'] });
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1 && n.classList.contains('line')) window.__trace.push({ line: n.textContent, phase: node.dataset.phase, t: Math.round(performance.now()) });
  }).observe(document.getElementById('detail'), { childList: true, subtree: true });
})()`;
/** The ROC plot's SVG or canvas, and its size. */
const ROC = `(() => {
  const el = document.querySelector('figure[data-plot="plots/roc.csv"] svg, figure[data-plot="plots/roc.csv"] canvas');
  if (!el) return null;
  const b = el.getBoundingClientRect();
  return { tag: el.tagName.toLowerCase(), width: b.width, height: b.height, marks: el.querySelectorAll('path, line, circle, rect').length };
})()`;

async function phases(page: Page): Promise<Record<string, string>> {
  return (await page.evaluate(PHASES)) as Record<string, string>;
}

describe('the daemon web view in headless Chromium', () => {
  it('Chromium is installed (scripts/setup.sh installs Debian\'s chromium)', () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh`).toBe(true);
  });

  it('draws the pipeline, follows a params edit live, explains it, streams the output, draws the ROC plot', async () => {
    profile = mkdtempSync(path.join(os.tmpdir(), 'reprod-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 1000 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const origin = new URL(url).origin;
    const elsewhere: string[] = [];
    // offline: anything but the daemon is refused, and recorded
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(`${origin}/`)) return route.continue();
      elsewhere.push(u);
      return route.abort();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    expect(token, 'a daemon on loopback prints a token for its actions').toMatch(/^[\w-]{20,}$/);
    await page.goto(`${url}#token=${token ?? ''}`);

    // the first pass brings the example up to date (images built when missing, four containers)
    await page.waitForFunction(`Object.values(${PHASES}).length === 4 && Object.values(${PHASES}).every((p) => p === 'UpToDate')`, undefined, { timeout: 420_000, polling: 250 });
    expect(Object.keys(await phases(page)).sort()).toEqual(['evaluate', 'ingest', 'preprocess', 'train']);
    expect(await page.evaluate(EDGES)).toEqual(['ingest->preprocess', 'preprocess->evaluate', 'preprocess->train', 'train->evaluate']);
    // the token was taken from the address and the action is offered
    expect(new URL(page.url()).hash).toBe('');

    await page.click('svg.graph g.node[data-stage="train"]');
    await page.waitForFunction(`document.querySelector('#detail h2')?.textContent === 'train'`, undefined, { timeout: 10_000 });
    expect(await page.textContent('#detail .action')).toBe('Rerun');
    // the first pass's records are in MLflow: no work of it is left to compete with the edit's run
    await page.waitForFunction(`document.querySelector('#detail .kv')?.textContent.includes('MLflow')`, undefined, { timeout: 60_000 });
    await page.evaluate(TRACE);

    // The clock starts at the edit, on the page's own clock (performance.now, as the trace's times): what
    // the test does meanwhile (a screenshot, its own polling under load) is not counted, only the daemon
    // and the page. It is read before the write, so the time measured is never less than the real one.
    const editedAt = (await page.evaluate('performance.now()')) as number;
    const params = path.join(ws, 'params.yaml');
    writeFileSync(params, readFileSync(params, 'utf8').replace(/^(\s+C:) 1\.0$/m, '$1 0.5'));
    // generous waits: the 10 s the issue asks for are asserted on the trace below, with the times in the message
    await page.waitForFunction(`document.querySelector('svg.graph g.node[data-stage="train"]').dataset.phase === 'Running'`, undefined, { timeout: 60_000, polling: 'raf' });
    // why: the param, with its old and new value (from dvc.lock and params.yaml)
    await page.waitForFunction(`document.querySelector('#detail .changes')?.textContent.includes('params.yaml:train.C')`, undefined, { timeout: 10_000 });
    const reason = (await page.textContent('#detail .reasons')) ?? '';
    expect(reason).toContain('params.yaml:train.C');
    expect(reason).toMatch(/train\.C\s*1\.0\s*→\s*0\.5/);
    mkdirSync(path.dirname(SHOT), { recursive: true });
    await page.screenshot({ path: SHOT.replace(/\.png$/, '-running.png') });
    await page.waitForFunction(`document.querySelector('svg.graph g.node[data-stage="train"]').dataset.phase === 'UpToDate'`, undefined, { timeout: 60_000, polling: 'raf' });

    // the run's output line arrived while the node still said Running: pushed live, not read afterwards
    const trace = (await page.evaluate('window.__trace')) as { phase?: string; line?: string; t: number }[];
    const running = trace.findIndex((t) => t.line === undefined && t.phase === 'Running');
    const done = trace.findIndex((t, i) => i > running && t.line === undefined && t.phase === 'UpToDate');
    expect(running, JSON.stringify(trace)).toBeGreaterThanOrEqual(0);
    expect(done, JSON.stringify(trace)).toBeGreaterThan(running);
    // Running, then UpToDate, on the page within 10 s of the edit, with no reload
    const upToDateAfter = (trace[done] as { t: number }).t - editedAt;
    expect(upToDateAfter, `train was Running ${Math.round((trace[running] as { t: number }).t - editedAt)} ms and UpToDate ${Math.round(upToDateAfter)} ms after the edit`).toBeLessThan(10_000);
    const live = trace.filter((t, i) => t.line !== undefined && i > running && i < done && t.phase === 'Running');
    expect(live.map((t) => t.line), JSON.stringify(trace)).toContainEqual(expect.stringMatching(/^train: logistic_regression fitted on \d+ rows/));
    // the page went on without a reload: the trace survived
    expect(await page.evaluate('Array.isArray(window.__trace)')).toBe(true);

    // the last run, with its MLflow run
    await page.waitForFunction(`document.querySelector('#detail .kv')?.textContent.includes('Succeeded')`, undefined, { timeout: 10_000 });
    const lastRun = (await page.textContent('#detail .kv')) ?? '';
    expect(lastRun).toMatch(/exit code\s*0/);
    expect(lastRun).toContain('reprod/train');
    // its MLflow run (a file store here: the run's folder under mlruns/), once tracking has recorded it
    await page.waitForFunction(`document.querySelector('#detail .kv')?.textContent.includes('MLflow')`, undefined, { timeout: 15_000 });
    expect((await page.textContent('#detail .kv')) ?? '').toMatch(/MLflow\s*mlruns\/\d+\/[0-9a-f]{32}/);

    // metrics and the ROC plot, drawn by vega-embed from DVC's template
    await page.waitForFunction(`(${ROC}) !== null && (${ROC}).width > 0`, undefined, { timeout: 30_000 });
    const roc = (await page.evaluate(ROC)) as { tag: string; width: number; height: number; marks: number };
    expect(roc.width).toBeGreaterThan(100);
    expect(roc.height).toBeGreaterThan(100);
    expect(roc.marks).toBeGreaterThan(3);
    expect(await page.textContent('#metrics')).toContain('roc_auc');
    // no experiments yet: the section stays hidden
    expect(await page.isHidden('#experiments')).toBe(true);

    mkdirSync(path.dirname(SHOT), { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true });
    expect(errors).toEqual([]);
    expect(elsewhere).toEqual([]);
  }, 600_000);

  it('actions need the token: without it a POST is refused, with it an up-to-date stage runs again', async () => {
    const post = (auth?: string) =>
      fetch(`${url}api/stages/train/rerun`, { method: 'POST', headers: auth ? { authorization: auth } : {} }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }));
    expect((await post()).status).toBe(401);
    expect((await post('Bearer wrong')).status).toBe(401);
    // followed on /events: the rerun is seen as train going Running, then UpToDate again
    const ac = new AbortController();
    const events = await fetch(`${url}events`, { signal: ac.signal });
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let text = '';
    const until = async (re: RegExp) => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended: ${text}`);
        text += dec.decode(value);
      }
    };
    await until(/retry:/);
    const ok = await post(`Bearer ${token ?? ''}`);
    expect(ok.status).toBe(202);
    expect(ok.body['message']).toContain('train');
    await until(/"stage":"train","phase":"Running"/);
    await until(/"stage":"train","phase":"UpToDate"/);
    ac.abort();
    expect((await fetch(`${url}api/stages/nope/rerun`, { method: 'POST', headers: { authorization: `Bearer ${token ?? ''}` } })).status).toBe(404);
    // another Host than loopback's is refused (a DNS-rebinding page cannot read the pipeline)
    const port = new URL(url).port;
    const rebound = await new Promise<number>((resolve, reject) =>
      get({ host: '127.0.0.1', port, path: '/api/pipeline', headers: { host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject),
    );
    expect(rebound).toBe(421);
  }, 120_000);
});
