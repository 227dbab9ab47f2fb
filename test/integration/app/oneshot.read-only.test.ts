/**
 * `reprod status` and `reprod repro --dry` only read: after a stage's
 * Dockerfile is edited they report the stage stale because its image context
 * changed, without building anything, and leave the engine's images and the
 * workspace exactly as they were.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, engine } from '../../helpers/docker.js';
import { reprod, tempDir } from '../../helpers/workspace.js';

let docker: Docker;
let image: string;

beforeAll(async () => {
  docker = await engine();
  image = await busyboxImage(docker);
});

/**
 * Every file of the workspace with its bytes' md5, size and mtime. The hash
 * state cache under .dvc/tmp/ is left out: it is a cache of what was read
 * (DVC's `status` updates its own state database there too).
 */
function snapshot(root: string): string[] {
  const rows: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const rel = path.relative(root, p);
      if (rel === path.join('.dvc', 'tmp')) continue;
      if (e.isDirectory()) {
        rows.push(`${rel}/`);
        walk(p);
      } else {
        const st = statSync(p);
        rows.push(`${rel}\t${createHash('md5').update(readFileSync(p)).digest('hex')}\t${st.size}\t${st.mtimeMs}`);
      }
    }
  };
  walk(root);
  return rows.sort();
}

async function images(): Promise<string[]> {
  return (await docker.listImages({ all: true })).map((i) => `${i.Id} ${(i.RepoTags ?? []).sort().join(',')}`).sort();
}

describe('read-only commands', () => {
  it('status and repro --dry after a Dockerfile edit: stale by image context, nothing built, nothing written', async () => {
    using ws = tempDir();
    const w = (p: string, text: string) => {
      mkdirSync(path.dirname(path.join(ws.path, p)), { recursive: true });
      writeFileSync(path.join(ws.path, p), text);
    };
    w('in.txt', 'data\n');
    w('stages/boxed/Dockerfile', `FROM ${image}\n`);
    w('dvc.yaml', 'stages:\n  boxed:\n    cmd: wc -c < in.txt > out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n');
    const first = await reprod(ws.path, 'repro');
    expect(first.code, first.stderr).toBe(0);
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe('{}\n');

    w('stages/boxed/Dockerfile', `FROM ${image}\nLABEL edited="${Date.now()}"\n`);
    const imagesBefore = await images();
    const filesBefore = snapshot(ws.path);

    const json = await reprod(ws.path, 'status', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ boxed: ['changed image'] });
    const text = await reprod(ws.path, 'status');
    expect(text.stdout).toMatch(/boxed:\n {4}image context changed: ctx:[0-9a-f]{12} -> ctx:[0-9a-f]{12}\n/);
    const dry = await reprod(ws.path, 'repro', '--dry');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/Would run stage 'boxed': image context changed: ctx:[0-9a-f]{12} -> ctx:[0-9a-f]{12}/);

    expect(await images()).toEqual(imagesBefore);
    expect(snapshot(ws.path)).toEqual(filesBefore);

    // a real repro builds the new image and runs the stage in it
    const again = await reprod(ws.path, 'repro');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Running stage 'boxed' \(image context changed: /);
    expect(await images()).not.toEqual(imagesBefore);
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe('{}\n');
  });
});
