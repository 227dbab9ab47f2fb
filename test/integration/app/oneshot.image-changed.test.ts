/**
 * The image a stage ran in is part of its identity (recorded in status, not in
 * dvc.lock): rebuilding it with a new ID makes the stage stale, and the stage
 * really runs again (the run-cache knows nothing of images).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { busyboxImage, engine } from '../../helpers/docker.js';
import { reprod, tempDir } from '../../helpers/workspace.js';

describe('image-changed', () => {
  it('a rebuilt stage image makes the stage stale and reruns it; a stage without an image runs on the host', async () => {
    const docker = await engine();
    const image = await busyboxImage(docker);
    using ws = tempDir();
    const w = (p: string, text: string) => {
      mkdirSync(path.dirname(path.join(ws.path, p)), { recursive: true });
      writeFileSync(path.join(ws.path, p), text);
    };
    w('in.txt', 'data\n');
    w('stages/boxed/Dockerfile', `FROM ${image}\n`);
    w(
      'dvc.yaml',
      'stages:\n  boxed:\n    cmd: cat /proc/1/cgroup > /dev/null; wc -c < in.txt > out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n' +
        '  plain:\n    cmd: cp out.txt copy.txt\n    deps: [out.txt]\n    outs: [copy.txt]\n',
    );
    const first = await reprod(ws.path, 'repro');
    expect(first.code, first.stderr).toBe(0);
    const boxed = parse(readFileSync(path.join(ws.path, 'status/boxed.yaml'), 'utf8'));
    const plain = parse(readFileSync(path.join(ws.path, 'status/plain.yaml'), 'utf8'));
    expect(boxed.spec.runtime).toMatchObject({ kind: 'docker', reason: 'runs in the image built from stages/boxed/ (convention)' });
    expect(boxed.status.lastRun.runtime).toMatch(/^sha256:/);
    expect(boxed.status.lastRun.runtimeKey).toMatch(/^ctx:[0-9a-f]{64}$/);
    expect(boxed.status.lastRun.image).toMatch(/^reprod\/boxed:ctx-[0-9a-f]{12}$/);
    expect(plain.spec.runtime).toEqual({ kind: 'host', reason: 'runs on the host: no stages/plain/Dockerfile and no manifest' });
    expect(plain.status.lastRun.runtime).toBe('host');
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe('{}\n');

    w('stages/boxed/Dockerfile', `FROM ${image}\nLABEL rebuilt="yes"\n`);
    const st = await reprod(ws.path, 'status', '--json');
    expect(JSON.parse(st.stdout)).toEqual({ boxed: ['changed image'] });
    const again = await reprod(ws.path, 'repro');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Running stage 'boxed' \(image context changed: ctx:[0-9a-f]{12} -> ctx:[0-9a-f]{12}\)/);
    // the output came out identical, so the downstream stage is skipped
    expect(again.stdout).toMatch(/Stage 'plain' didn't change, skipping/);
    const after = parse(readFileSync(path.join(ws.path, 'status/boxed.yaml'), 'utf8'));
    expect(after.status.lastRun.runtime).not.toBe(boxed.status.lastRun.runtime);
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe('{}\n');
    // dvc.lock knows nothing of images: real DVC must keep reading it
    expect(readFileSync(path.join(ws.path, 'dvc.lock'), 'utf8')).not.toMatch(/sha256|image/);
  });
});
