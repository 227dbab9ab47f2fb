/**
 * reprod as root (its compose container) in a workspace another user owns:
 * everything it creates there (dvc.lock, status/, mlruns/, the cache, its
 * hash state, the outs of stage containers, files checked out of the cache,
 * the plots page) belongs to that user, so that the user and DVC can go on
 * using them.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OUTBOX_DIR } from '../../../src/app/tracking.js';
import { busyboxImage, engine } from '../../helpers/docker.js';
import { reprod, tempDir } from '../../helpers/workspace.js';

const OWNER = { uid: 1234, gid: 1234 };

/** Every path under `root` (workspace-relative) with its owner, but for `skip`. */
function owners(root: string, skip: readonly string[]): { p: string; uid: number; gid: number }[] {
  const out: { p: string; uid: number; gid: number }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const abs = path.join(dir, name);
      const p = path.relative(root, abs);
      if (skip.includes(p)) continue;
      const st = lstatSync(abs);
      out.push({ p, uid: st.uid, gid: st.gid });
      if (st.isDirectory()) walk(abs);
    }
  };
  walk(root);
  return out;
}

describe('files reprod writes as root', () => {
  it('belong to the workspace owner: lock, status, logs, mlruns, cache, state, stage outs, checkouts, plots', async () => {
    expect(process.getuid?.()).toBe(0);
    const image = await busyboxImage(await engine());
    using ws = tempDir();
    const w = (p: string, text: string) => {
      mkdirSync(path.dirname(path.join(ws.path, p)), { recursive: true });
      writeFileSync(path.join(ws.path, p), text);
    };
    w('in.txt', 'data\n');
    w('stages/boxed/Dockerfile', `FROM ${image}\n`);
    w(
      'dvc.yaml',
      `stages:\n  boxed:\n    cmd: ${JSON.stringify(`mkdir -p out/deep && wc -c < in.txt > out/deep/n.txt && echo '{"acc": 1}' > score.json && printf 'x,y\\n1,2\\n' > curve.csv`)}\n` +
        '    deps: [in.txt]\n    outs: [out]\n    metrics: [score.json]\n    plots: [curve.csv]\n',
    );
    execFileSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, ws.path]);

    const res = await reprod(ws.path, 'repro');
    expect(res.code, res.stderr).toBe(0);
    // checked out again from the cache, by root
    rmSync(path.join(ws.path, 'out'), { recursive: true });
    expect((await reprod(ws.path, 'checkout')).code).toBe(0);
    const plots = await reprod(ws.path, 'plots', 'show');
    expect(plots.code, plots.stderr).toBe(0);

    // the outbox's journal files are left out: its folders are checked, its files are written by the tracker's journal
    const journals = readdirSync(path.join(ws.path, OUTBOX_DIR)).map((n) => path.join(OUTBOX_DIR, n)).filter((p) => !p.endsWith('blobs'));
    const seen = owners(ws.path, journals);
    for (const p of ['dvc.lock', 'status/boxed.yaml', 'status/pipeline.yaml', 'status/logs/boxed.log', 'mlruns', '.dvc/cache', '.dvc/tmp/reprod/state.tsv', 'out/deep/n.txt', 'score.json', 'curve.csv', 'dvc_plots', 'dvc_plots/index.html']) {
      expect(seen.some((s) => s.p === p), p).toBe(true);
    }
    expect(seen.some((s) => s.p.startsWith('mlruns/') && s.p.endsWith('meta.yaml'))).toBe(true);
    expect(seen.some((s) => s.p.startsWith('.dvc/cache/files/md5/'))).toBe(true);
    expect(seen.filter((s) => s.uid !== OWNER.uid || s.gid !== OWNER.gid)).toEqual([]);
  });
});
