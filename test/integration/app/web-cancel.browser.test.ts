/**
 * The web view's Cancel button in headless Chromium (Debian's, driven by
 * playwright-core) against a real daemon whose stage sleeps in a real
 * container: while the stage runs, the panel offers Cancel beside Rerun; a
 * click stops the run; the node turns Cancelled on the open page (pushed by
 * /events), the panel says why, and the button is gone. A screenshot goes to
 * test-results/web-cancel.png.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { runDaemon } from '../../../src/app/daemon.js';
import type { Logger } from '../../../src/core/ports.js';
import { busyboxImage, engine, reprodContainers } from '../../helpers/docker.js';
import { tempDir, writeFiles } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const CHROMIUM = '/usr/bin/chromium';
const SHOT = path.join(REPO, 'test-results', 'web-cancel.png');
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };

describe('the Cancel button', () => {
  it('stops the running stage from the page, which shows it Cancelled with the reason, live', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh`).toBe(true);
    execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'web', 'build.ts')], { cwd: REPO, stdio: 'ignore' });
    const docker = await engine();
    const image = await busyboxImage(docker);
    using ws = tempDir('reprod-web-cancel-');
    writeFiles(ws.path, {
      'dvc.yaml': 'stages:\n  slow:\n    cmd: echo started; sleep 120; cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n',
      'in.txt': 'x\n',
      'manifests/stages.yaml': `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: slow}\nspec: {image: "${image}"}\n`,
    });
    const ac = new AbortController();
    let served: (i: { url: string; token: string | undefined }) => void = () => undefined;
    const web = new Promise<{ url: string; token: string | undefined }>((resolve) => (served = resolve));
    const done = runDaemon({ root: ws.path, runtime: 'auto', log: quiet, debounceMs: 50, tracking: false, http: { host: '127.0.0.1', port: 0 }, onWebView: (i) => served(i) }, ac.signal);
    const profile = mkdtempSync(path.join(os.tmpdir(), 'reprod-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const { url, token } = await web;
      const page = context.pages()[0] ?? (await context.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('response', (r) => {
        if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
      });
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`);
      });
      await page.goto(`${url}?stage=slow#token=${token ?? ''}`);
      const node = `document.querySelector('svg.graph g.node[data-stage="slow"]')?.dataset.phase`;
      await page
        .waitForFunction(`${node} === 'Running' && [...document.querySelectorAll('#detail .line')].some((l) => l.textContent.trim() === 'started')`, undefined, { timeout: 60_000 })
        .catch(async (err: unknown) => {
          throw new Error(`${String(err)}: the node is ${String(await page.evaluate(node))}, the panel says ${(await page.textContent('#detail')) ?? ''}; ${errors.join('; ')}`);
        });
      await page.waitForSelector('#detail .action[data-action="cancel"]', { timeout: 10_000 });
      expect(await page.textContent('#detail .action[data-action="rerun"]')).toBe('Rerun');
      await page.click('#detail .action[data-action="cancel"]');
      await page.waitForFunction(`${node} === 'Cancelled'`, undefined, { timeout: 30_000 });
      await page.waitForFunction(`document.querySelector('#detail .badge')?.textContent === 'Cancelled'`, undefined, { timeout: 10_000 });
      expect(await page.textContent('#detail')).toContain('cancelled: asked from the web view (runs again when its inputs change, or when a rerun is asked)');
      expect(await page.$('#detail .action[data-action="cancel"]')).toBeNull();
      expect((await reprodContainers(docker, ws.path)).length).toBe(0);
      mkdirSync(path.dirname(SHOT), { recursive: true });
      await page.screenshot({ path: SHOT });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      ac.abort();
      await done;
    }
  }, 240_000);
});
