/**
 * The page `plots show` writes, opened from a file:// URL in headless
 * Chromium (Debian's, driven by playwright-core) with every request that is
 * not a local file refused: each plot is drawn (a canvas or SVG of non-zero
 * size, with marks painted on it) and nothing is logged as an error.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { reprod, tempDir } from '../../helpers/workspace.js';

const CHROMIUM = '/usr/bin/chromium';

/** One plot per built-in template, a plot of two files, and plots of stage outputs. */
const DVC_YAML = `stages:
  train:
    cmd: python3 -c "print('trained')"
    plots:
      - loss.csv:
          x: step
          y: loss
      - curve.json
plots:
  - loss.csv:
      x: step
      y: loss
      template: simple
  - roc.csv:
      x: fpr
      y: tpr
      template: scatter
  - confusion.csv:
      x: actual
      y: predicted
      template: confusion
  - confusion_normalized:
      template: confusion_normalized
      x: actual
      y:
        confusion.csv: predicted
  - Loss of both runs:
      template: linear
      x: step
      y:
        loss.csv: loss
        val_loss.csv: loss
  - smooth.csv:
      x: step
      y: loss
      template: smooth
  - bars.json:
      x: count
      y: name
      template: bar_horizontal
  - sorted bars:
      template: bar_horizontal_sorted
      x: count
      y:
        bars.json: name
  - jitter.csv:
      x: a
      y: b
      template: scatter_jitter
`;

function csv(header: string, rows: (string | number)[][]): string {
  return `${header}\n${rows.map((r) => r.join(',')).join('\n')}\n`;
}

function writeWorkspace(root: string): void {
  mkdirSync(path.join(root, '.dvc'), { recursive: true });
  writeFileSync(path.join(root, '.dvc', 'config'), '');
  writeFileSync(path.join(root, 'dvc.yaml'), DVC_YAML);
  const steps = Array.from({ length: 20 }, (_, i) => i);
  writeFileSync(path.join(root, 'loss.csv'), csv('step,loss', steps.map((i) => [i, 1 / (i + 1)])));
  writeFileSync(path.join(root, 'val_loss.csv'), csv('step,loss', steps.map((i) => [i, 1.2 / (i + 1)])));
  writeFileSync(path.join(root, 'smooth.csv'), csv('step,loss', steps.map((i) => [i, Math.abs(Math.sin(i)) / (i + 1)])));
  writeFileSync(path.join(root, 'roc.csv'), csv('fpr,tpr', [[0, 0], [0.1, 0.6], [0.3, 0.85], [1, 1]]));
  const labels = ['cat', 'dog', 'fox'];
  writeFileSync(path.join(root, 'confusion.csv'), csv('actual,predicted', steps.map((i) => [labels[i % 3] as string, labels[(i * 7) % 3] as string])));
  writeFileSync(path.join(root, 'jitter.csv'), csv('a,b', steps.map((i) => [i % 4, (i * 3) % 5])));
  writeFileSync(path.join(root, 'bars.json'), JSON.stringify([{ name: 'a', count: 3 }, { name: 'b', count: 7 }, { name: 'c', count: 5 }]));
  writeFileSync(path.join(root, 'curve.json'), JSON.stringify(steps.map((i) => ({ x: i, y: i * i }))));
}

interface Drawn {
  id: string;
  tag: string;
  width: number;
  height: number;
  painted: number;
}

// Run in the page (as text: the test compiles without the DOM's types).
/** True once every plot's <div> holds a canvas or an SVG. */
const ALL_DRAWN = `[...document.querySelectorAll('body > div')].every((d) => d.querySelector('canvas, svg'))`;
/** Each plot's element, its size, and how much of it is painted (canvas pixels, or SVG shapes). */
const MEASURE = `[...document.querySelectorAll('body > div')].map((d) => {
  const el = d.querySelector('canvas, svg');
  const box = el.getBoundingClientRect();
  let painted = 0;
  if (el instanceof HTMLCanvasElement) {
    const px = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
    for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
  } else {
    painted = el.querySelectorAll('path, rect, line, circle, text').length;
  }
  return { id: d.id, tag: el.tagName.toLowerCase(), width: box.width, height: box.height, painted };
})`;

async function openPage(url: string): Promise<{ drawn: Drawn[]; errors: string[]; requests: string[] }> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'reprod-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const errors: string[] = [];
  const requests: string[] = [];
  try {
    // offline: anything but the page's own file is refused, and recorded
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith('file:')) return route.continue();
      requests.push(u);
      return route.abort();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    let failed: () => void = () => undefined;
    const firstError = new Promise<void>((resolve) => (failed = resolve));
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      errors.push(m.text());
      failed();
    });
    page.on('pageerror', (e) => {
      errors.push(String(e));
      failed();
    });
    await page.goto(url);
    // every chart drawn, or an error: whichever comes first
    await Promise.race([
      page.waitForFunction(ALL_DRAWN, undefined, { timeout: 60_000 }),
      firstError,
    ]);
    if (errors.length > 0) return { drawn: [], errors, requests };
    const drawn = (await page.evaluate(MEASURE)) as Drawn[];
    return { drawn, errors, requests };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

describe('plots show: the HTML page in headless Chromium', () => {
  it('Chromium is installed (scripts/setup.sh installs Debian\'s chromium)', () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh`).toBe(true);
  });

  it('draws every plot, from every template, offline and without console errors', async () => {
    using ws = tempDir();
    writeWorkspace(ws.path);
    const res = await reprod(ws.path, 'plots', 'show');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    const url = res.stdout.trim();
    expect(url).toBe(`file://${path.join(ws.path, 'dvc_plots', 'index.html')}`);

    const json = JSON.parse((await reprod(ws.path, 'plots', 'show', '--json')).stdout) as { data: Record<string, unknown[]> };
    const ids = Object.keys(json.data);
    // an id defined in two places (dvc.yaml's plots and a stage's) is named after each, side by side, as in DVC
    expect(ids).toEqual([
      'dvc.yaml::loss.csv',
      'loss.csv',
      'roc.csv',
      'confusion.csv',
      'confusion_normalized',
      'Loss of both runs',
      'smooth.csv',
      'bars.json',
      'sorted bars',
      'jitter.csv',
      'curve.json',
    ]);

    const { drawn, errors, requests } = await openPage(url);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(drawn.map((d) => d.id)).toEqual(ids.map((id) => id.replace(/[!@#$%^&*()[\]{};,<>?\\/:.|`~=_+ ]/g, '_')));
    for (const d of drawn) {
      expect(d.width, d.id).toBeGreaterThan(50);
      expect(d.height, d.id).toBeGreaterThan(50);
      expect(d.painted, d.id).toBeGreaterThan(100);
    }
  }, 180_000);

  it('a spec Vega-Lite rejects is seen: the check above can fail', async () => {
    using ws = tempDir();
    writeWorkspace(ws.path);
    mkdirSync(path.join(ws.path, '.dvc', 'plots'), { recursive: true });
    writeFileSync(
      path.join(ws.path, '.dvc', 'plots', 'broken.json'),
      JSON.stringify({ $schema: 'https://vega.github.io/schema/vega-lite/v5.json', data: { values: '<DVC_METRIC_DATA>' }, mark: 'no-such-mark' }),
    );
    const res = await reprod(ws.path, 'plots', 'show', 'roc.csv', '-t', 'broken');
    expect(res.code, res.stderr).toBe(0);
    const { errors } = await openPage(res.stdout.trim());
    // Vega-Lite's compile fails on the unknown mark, and the page logs it
    expect(errors.join('\n')).toMatch(/vega-lite|no-such-mark/);
  }, 180_000);

  it('plots diff overlays HEAD and the workspace in one chart per plot', async () => {
    using ws = tempDir();
    writeWorkspace(ws.path);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ws.path, stdio: 'pipe' });
    git('init', '-q', '-b', 'main');
    git('config', 'user.name', 'reprod test');
    git('config', 'user.email', 'test@reprod.invalid');
    git('add', '-A');
    git('commit', '-q', '-m', 'first');
    writeFileSync(path.join(ws.path, 'loss.csv'), csv('step,loss', [[0, 0.9], [1, 0.4], [2, 0.2]]));
    const res = await reprod(ws.path, 'plots', 'diff', '--targets', 'loss.csv');
    expect(res.code, res.stderr).toBe(0);
    const json = JSON.parse((await reprod(ws.path, 'plots', 'diff', '--targets', 'loss.csv', '--json')).stdout) as {
      data: Record<string, { revisions: string[] }[]>;
    };
    expect(json.data['loss.csv']?.[0]?.revisions).toEqual(['workspace', 'HEAD']);
    const { drawn, errors, requests } = await openPage(res.stdout.trim());
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(drawn.length).toBeGreaterThan(0);
    for (const d of drawn) expect(d.painted, d.id).toBeGreaterThan(100);
  }, 180_000);
});
