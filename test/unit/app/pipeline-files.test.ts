/**
 * Every dvc.yaml of a workspace, found as DVC's index finds them, and read as
 * one pipeline: discovery on real folders, then the addressed stages, the
 * DAG across files, and what a nested file's paths are relative to.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPipelineFiles, ignoredPath, workspaceIgnores } from '../../../src/app/pipeline-files.js';
import { loadSpec } from '../../../src/app/project.js';
import { ReprodErrors } from '../../../src/core/errors.js';
import { selectStages } from '../../../src/pipeline/dag.js';
import { tempDir, writeFiles } from '../../helpers/workspace.js';
import { thrown } from '../../helpers/thrown.js';

const STAGE = (cmd: string, deps: string[], outs: string[]) =>
  `  ${cmd.split(' ')[0]}:\n    cmd: ${cmd}\n    deps: [${deps.join(', ')}]\n    outs: [${outs.join(', ')}]\n`;

describe('findPipelineFiles', () => {
  it('walks from the root: a folder’s own dvc.yaml first, then its sub-folders by name', () => {
    using ws = tempDir();
    const empty = 'stages: {}\n';
    writeFiles(ws.path, { 'b/dvc.yaml': empty, 'dvc.yaml': empty, 'a/b/dvc.yaml': empty, 'a/dvc.yaml': empty, 'a/c/x.txt': '', 'B/dvc.yaml': empty });
    expect(findPipelineFiles(ws.path)).toEqual(['dvc.yaml', 'B/dvc.yaml', 'a/dvc.yaml', 'a/b/dvc.yaml', 'b/dvc.yaml']);
  });

  it('leaves out what .dvcignore ignores, .git and .dvc, and folders that are another DVC repository', () => {
    using ws = tempDir();
    const empty = 'stages: {}\n';
    writeFiles(ws.path, {
      '.dvcignore': 'ignored/\nsome/dvc.yaml\n',
      'ignored/dvc.yaml': empty,
      'some/dvc.yaml': empty,
      'kept/dvc.yaml': empty,
      '.git/dvc.yaml': empty,
      '.dvc/dvc.yaml': empty,
      'subrepo/.dvc/config': '',
      'subrepo/dvc.yaml': empty,
      // a nested .dvcignore counts for its folder
      'kept/.dvcignore': 'deeper\n',
      'kept/deeper/dvc.yaml': empty,
    });
    expect(findPipelineFiles(ws.path)).toEqual(['kept/dvc.yaml']);
  });

  it('does not follow a symlinked folder, and takes a symlinked dvc.yaml as a file (os.walk without followlinks)', () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'real/dvc.yaml': 'stages: {}\n', 'files/pipeline.yaml': 'stages: {}\n' });
    symlinkSync(path.join(ws.path, 'real'), path.join(ws.path, 'linked'));
    mkdirSync(path.join(ws.path, 'viafile'));
    symlinkSync(path.join(ws.path, 'files', 'pipeline.yaml'), path.join(ws.path, 'viafile', 'dvc.yaml'));
    expect(findPipelineFiles(ws.path)).toEqual(['real/dvc.yaml', 'viafile/dvc.yaml']);
  });

  it('does not enter a folder that is an output of a stage found before', () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': 'x', 'made/dvc.yaml': 'x', 'made2/dvc.yaml': 'x' });
    const asked: string[] = [];
    const found = findPipelineFiles(ws.path, (file) => {
      asked.push(file);
      return file === 'dvc.yaml' ? ['made'] : [];
    });
    expect(found).toEqual(['dvc.yaml', 'made2/dvc.yaml']);
    expect(asked).toEqual(found);
  });
});

describe('findPipelineFiles in a git repository', () => {
  const empty = 'stages: {}\n';

  it('leaves out what git ignores: .gitignore files from the top down, and .git/info/exclude', () => {
    using ws = tempDir();
    writeFiles(ws.path, {
      '.git/info/exclude': 'excluded/\n',
      '.gitignore': '# tools\nvenv/\nbuild\n',
      'venv/lib/dvc.yaml': empty,
      'build/dvc.yaml': empty,
      'excluded/dvc.yaml': empty,
      'a/.gitignore': 'skip/\n!build\n',
      'a/skip/dvc.yaml': empty,
      'a/build/dvc.yaml': empty,
      'a/dvc.yaml': empty,
      'dvc.yaml': empty,
    });
    expect(findPipelineFiles(ws.path, undefined, workspaceIgnores(ws.path, true))).toEqual(['dvc.yaml', 'a/dvc.yaml', 'a/build/dvc.yaml']);
    // without git (core.no_scm, or no repository), .gitignore means nothing
    expect(findPipelineFiles(ws.path, undefined, workspaceIgnores(ws.path, false))).toHaveLength(7);
  });

  it('says whether a path lies in an ignored folder (what the daemon does not watch)', () => {
    using ws = tempDir();
    writeFiles(ws.path, { '.git/HEAD': '', '.gitignore': 'venv/\n', '.dvcignore': 'big/\n' });
    const ignores = workspaceIgnores(ws.path, true);
    expect(ignoredPath(ignores, 'venv', true)).toBe(true);
    expect(ignoredPath(ignores, 'venv/lib/python', true)).toBe(true);
    expect(ignoredPath(ignores, 'big/x', true)).toBe(true);
    expect(ignoredPath(ignores, 'src/venv2', true)).toBe(false);
    expect(ignoredPath(ignores, '.git', true)).toBe(true);
    expect(ignoredPath(workspaceIgnores(ws.path, false), 'venv', true)).toBe(false);
  });

  it('applies the rules of the folders above a workspace inside the repository', () => {
    using top = tempDir();
    writeFiles(top.path, { '.git/HEAD': '', '.gitignore': 'ws/tmp/\n', 'ws/dvc.yaml': empty, 'ws/tmp/dvc.yaml': empty, 'ws/keep/dvc.yaml': empty });
    expect(findPipelineFiles(path.join(top.path, 'ws'), undefined, workspaceIgnores(path.join(top.path, 'ws'), true))).toEqual(['dvc.yaml', 'keep/dvc.yaml']);
  });

  it('loadSpec asks git unless .dvc/config says core.no_scm', () => {
    using ws = tempDir();
    writeFiles(ws.path, { '.git/HEAD': '', '.gitignore': 'venv/\n', '.dvc/config': '', 'dvc.yaml': empty, 'venv/dvc.yaml': `stages:\n${STAGE('v touch', [], ['x'])}` });
    expect(loadSpec(ws.path).files).toEqual(['dvc.yaml']);
    writeFiles(ws.path, { '.dvc/config': '[core]\n    no_scm = True\n' });
    expect(loadSpec(ws.path).files).toEqual(['dvc.yaml', 'venv/dvc.yaml']);
  });
});

describe('loadSpec over several dvc.yaml files', () => {
  const nested = {
    '.dvc/config': '',
    'dvc.yaml': `stages:\n${STAGE('top tr', ['data/in.txt', 'sub/inner.txt'], ['top.txt'])}`,
    'sub/dvc.yaml': [
      'stages:',
      '  inner:',
      '    cmd: wc -l < sin.txt > inner.txt',
      '    deps: [sin.txt]',
      '    params: [lr]',
      '    outs: [inner.txt]',
      '  usetop:',
      '    cmd: cat ../top.txt > ${name}.txt',
      '    deps: [../top.txt]',
      '    outs:',
      '    - ${name}.txt',
      '',
    ].join('\n'),
    'sub/params.yaml': 'lr: 0.1\nname: both\n',
    'params.yaml': 'lr: 9\nname: wrong\n',
  };

  it('names nested stages by file and name, with workspace paths, params from their own folder', () => {
    using ws = tempDir();
    writeFiles(ws.path, nested);
    const spec = loadSpec(ws.path);
    expect(spec.files).toEqual(['dvc.yaml', 'sub/dvc.yaml']);
    expect(spec.pipeline.stages.map((s) => s.name)).toEqual(['top', 'sub/dvc.yaml:inner', 'sub/dvc.yaml:usetop']);
    const [, inner, usetop] = spec.pipeline.stages;
    expect(inner?.wdir).toBe('sub');
    expect(inner?.source.file).toBe('sub/dvc.yaml');
    expect(inner?.params).toMatchObject([{ defPath: 'params.yaml', path: 'sub/params.yaml', keys: ['lr'] }]);
    // templating reads the params.yaml beside the file
    expect(usetop?.outs.map((o) => [o.defPath, o.path])).toEqual([['both.txt', 'sub/both.txt']]);
    expect(usetop?.deps.map((d) => [d.defPath, d.path])).toEqual([['../top.txt', 'top.txt']]);
    expect(spec.templateFiles).toContain('sub/params.yaml');
  });

  it('links stages across files both ways, and selects by address or by file', () => {
    using ws = tempDir();
    writeFiles(ws.path, nested);
    const { dag } = loadSpec(ws.path);
    expect(dag.upstream.get('top')).toEqual(['sub/dvc.yaml:inner']);
    expect(dag.upstream.get('sub/dvc.yaml:usetop')).toEqual(['top']);
    const names = (targets: string[], single = false) => selectStages(dag, targets, single ? { single } : {}).map((s) => s.name);
    expect(names(['sub/dvc.yaml:usetop'])).toEqual(['sub/dvc.yaml:inner', 'top', 'sub/dvc.yaml:usetop']);
    expect(names(['dvc.yaml'])).toEqual(['sub/dvc.yaml:inner', 'top']);
    expect(names(['sub/dvc.yaml'], true)).toEqual(['sub/dvc.yaml:inner', 'sub/dvc.yaml:usetop']);
    expect(() => names(['other/dvc.yaml'])).toThrow(/'other\/dvc.yaml' does not exist/);
    expect(() => names(['sub/dvc.yaml:nope'])).toThrow(/stage 'sub\/dvc.yaml:nope' does not exist/);
  });

  it('refuses one output in two files, naming both stages and the file', () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': `stages:\n${STAGE('a touch', [], ['sub/x.txt'])}`, 'sub/dvc.yaml': `stages:\n${STAGE('b touch', [], ['x.txt'])}` });
    const e = thrown(() => loadSpec(ws.path));
    expect(e.code).toBe('OUT_DUPLICATE');
    expect(e.message).toContain("output 'sub/x.txt' is specified in stages 'a' and 'sub/dvc.yaml:b'");
    expect(e.source?.file).toBe('sub/dvc.yaml');
  });

  it('reports a bad nested file with its path and line, and a path above the workspace', () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': 'stages: {}\n', 'sub/dvc.yaml': 'stages:\n  s:\n    cmd: x\n    deps: [../../up.txt]\n' });
    const e = thrown(() => loadSpec(ws.path));
    const all = e instanceof ReprodErrors ? e.errors : [e];
    expect(all.some((x) => x.code === 'PATH_OUTSIDE' && x.source?.file === 'sub/dvc.yaml' && x.source.line === 4)).toBe(true);
  });

  it('reads a workspace with only nested files, and says NO_PIPELINE without any', () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'sub/dvc.yaml': `stages:\n${STAGE('b touch', [], ['x.txt'])}` });
    expect(loadSpec(ws.path).pipeline.stages.map((s) => s.name)).toEqual(['sub/dvc.yaml:b']);
    using empty = tempDir();
    expect(thrown(() => loadSpec(empty.path)).code).toBe('NO_PIPELINE');
  });
});
