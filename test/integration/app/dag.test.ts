/** `reprod dag [target]` on a real dvc.yaml: the whole graph, or a target with its upstream only. */
import { describe, expect, it } from 'vitest';
import { reprod, tempDir, writeFiles } from '../../helpers/workspace.js';

const CHAIN =
  'stages:\n' +
  '  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n' +
  '  b:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n' +
  '  c:\n    cmd: cp b.txt c.txt\n    deps: [b.txt]\n    outs: [c.txt]\n' +
  '  side:\n    cmd: cp a.txt s.txt\n    deps: [a.txt]\n    outs: [s.txt]\n';

describe('dag', () => {
  it('prints every stage and edge', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': CHAIN });
    const res = await reprod(ws.path, 'dag', '--json');
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      nodes: ['a', 'b', 'c', 'side'],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'a', to: 'side' },
      ],
    });
  });

  it('keeps a target and its upstream, with the edges among them', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': CHAIN });
    const res = await reprod(ws.path, 'dag', 'c', '--json');
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      nodes: ['a', 'b', 'c'],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    });
    const dot = await reprod(ws.path, 'dag', 'b', '--dot');
    expect(dot.stdout).toContain('"a" -> "b";');
    expect(dot.stdout).not.toContain('side');
  });
});
