/**
 * A stage's steps on its way to running, seen live: the daemon (in process,
 * real engine, real files) on a workspace with a stage whose input is large
 * and one whose image it must build. The web view's Server-Sent Events (one
 * per change of a stage's phase) show `Hashing` while the large input is
 * read and `Building` while the image is built, each before `Running`; the
 * log says what is hashed and forwards the build's own steps, prefixed by
 * the stage; status/*.yaml validate against the schema all along.
 */
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDaemon } from '../../../src/app/daemon.js';
import type { ViewEvent } from '../../../src/core/ports/web-view.js';
import { recordLogger } from '../../helpers/record-logger.js';
import { busyboxImage, engine } from '../../helpers/docker.js';
import { assertStatusFilesValid, tempDir, writeFiles } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
let image: string;

beforeAll(async () => {
  image = await busyboxImage(await engine());
  // the web view's bundle, as `npm run build` makes it (the events are served beside it)
  execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'web', 'build.ts')], { cwd: REPO, stdio: 'ignore' });
}, 120_000);

/** Every event of /events, as they come. */
async function follow(url: string, signal: AbortSignal): Promise<ViewEvent[]> {
  const events: ViewEvent[] = [];
  const res = await fetch(`${url}events`, { signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let text = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return;
      text += dec.decode(value);
      const blocks = text.split('\n\n');
      text = blocks.pop() ?? '';
      for (const b of blocks) {
        const data = b.split('\n').find((l) => l.startsWith('data: '));
        if (data) events.push(JSON.parse(data.slice('data: '.length)) as ViewEvent);
      }
    }
  })();
  return events;
}

const phaseOf = (root: string, name: string): string | undefined => {
  const f = path.join(root, 'status', `${name}.yaml`);
  return existsSync(f) ? (parse(readFileSync(f, 'utf8')) as { status?: { phase?: string } } | null)?.status?.phase : undefined;
};

describe('Hashing and Building', () => {
  it('a large input shows the stage Hashing, an image build Building, each before Running, live on /events and in the log', async () => {
    using ws = tempDir('reprod-steps-');
    const tagSeed = randomUUID();
    writeFiles(ws.path, {
      'dvc.yaml': `stages:
  big:
    cmd: wc -c < big.bin > size.txt
    deps: [big.bin]
    outs: [size.txt]
  built:
    cmd: cat /greeting in.txt > out.txt
    deps: [in.txt]
    outs: [out.txt]
`,
      'in.txt': 'world\n',
      'manifests/stages.yaml': `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: big}\nspec: {image: "${image}"}\n`,
      // a context of its own (the seed): the engine has no image for it yet
      'stages/built/Dockerfile': `FROM ${image}\nRUN echo hello-${tagSeed} > /greeting\nRUN echo built\n`,
    });
    // 256 MiB: long enough to read that the phase is seen, whatever the machine
    execFileSync('dd', ['if=/dev/zero', `of=${path.join(ws.path, 'big.bin')}`, 'bs=1M', 'count=256', 'status=none']);

    const log = recordLogger();
    const ac = new AbortController();
    let served: (u: string) => void = () => undefined;
    const listening = new Promise<string>((resolve) => (served = resolve));
    const done = runDaemon({ root: ws.path, runtime: 'auto', log, debounceMs: 50, tracking: false, http: { host: '127.0.0.1', port: 0 }, onWebView: (i) => served(i.url) }, ac.signal);
    const events = await follow(await listening, ac.signal);
    try {
      const deadline = Date.now() + 120_000;
      while (!(phaseOf(ws.path, 'big') === 'UpToDate' && phaseOf(ws.path, 'built') === 'UpToDate')) {
        if (Date.now() > deadline) throw new Error(`the first pass did not end: ${JSON.stringify(log.records.slice(-30))}`);
        assertStatusFilesValid(ws.path);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      ac.abort();
      await done;
    }
    const phases = (stage: string) => events.filter((e): e is Extract<ViewEvent, { kind: 'condition' }> => e.kind === 'condition' && e.stage === stage).map((e) => e.phase);
    const big = phases('big');
    const built = phases('built');
    expect(big).toContain('Hashing');
    expect(big.indexOf('Hashing')).toBeLessThan(big.indexOf('Running'));
    expect(big.at(-1)).toBe('UpToDate');
    expect(built).toContain('Building');
    expect(built.indexOf('Building')).toBeLessThan(built.lastIndexOf('Running'));
    expect(built.at(-1)).toBe('UpToDate');
    expect(built).not.toContain('Hashing');

    // the log: what is hashed, and the build's steps as the stage's lines
    expect(log.records).toContainEqual(expect.objectContaining({ msg: 'hashing', stage: 'big', path: 'big.bin', files: 1, bytes: 256 * 1024 * 1024 }));
    const output = log.records.filter((r) => r.msg === 'output' && r.stage === 'built').map((r) => String(r.line));
    expect(output).toContainEqual(expect.stringMatching(/^Step 1\/\d+ : FROM /));
    expect(output).toContainEqual(expect.stringMatching(/^Step 3\/\d+ : RUN echo built/));
    expect(readFileSync(path.join(ws.path, 'out.txt'), 'utf8')).toBe(`hello-${tagSeed}\nworld\n`);
    assertStatusFilesValid(ws.path);
    // the image made for this run's context alone
    const tag = log.records.find((r) => r.msg === 'image built')?.image;
    if (typeof tag === 'string') await (await engine()).getImage(tag).remove({ force: true });
  }, 240_000);
});
