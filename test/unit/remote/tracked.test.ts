import { describe, expect, it } from 'vitest';
import { parseLockfile } from '../../../src/lock/lockfile.js';
import { mergePipelines } from '../../../src/app/pipeline-files.js';
import { buildDag } from '../../../src/pipeline/dag.js';
import { parseDvcFile } from '../../../src/pipeline/dvc-file.js';
import { parseDvcYaml } from '../../../src/pipeline/parse-dvc-yaml.js';
import { expandObjects, parseListing } from '../../../src/remote/objects.js';
import { selectTracked, trackedOuts, type SelectContext } from '../../../src/remote/tracked.js';

// z-remote-push-pull, as DVC recorded it
const DVC_YAML = `stages:
  build:
    cmd: mkdir -p dist && cp src/x.txt dist/x.txt && echo y > dist/y.txt && cat raw.csv > table.csv
    deps:
      - src
      - raw.csv
    outs:
      - dist
      - table.csv
  report:
    cmd: cat table.csv > report.txt
    deps: [table.csv]
    outs:
      - report.txt:
          push: false
      - metrics.json:
          cache: false
`;
const DVC_LOCK = `schema: '2.0'
stages:
  build:
    cmd: mkdir -p dist && cp src/x.txt dist/x.txt && echo y > dist/y.txt && cat raw.csv
      > table.csv
    deps:
    - path: raw.csv
      hash: md5
      md5: 55ef7578b917b32028f18767310eac72
      size: 13
    - path: src
      hash: md5
      md5: a09178cb203f55e06a822ebae9679cb0.dir
      size: 2
      nfiles: 1
    outs:
    - path: dist
      hash: md5
      md5: 0763696a0ee503cf7daa85645d570297.dir
      size: 4
      nfiles: 2
    - path: table.csv
      hash: md5
      md5: 55ef7578b917b32028f18767310eac72
      size: 13
  report:
    cmd: cat table.csv > report.txt
    deps:
    - path: table.csv
      md5: 55ef7578b917b32028f18767310eac72
      size: 13
    outs:
    - path: metrics.json
      hash: md5
      md5: 11111111111111111111111111111111
      size: 3
    - path: report.txt
      hash: md5
      md5: 22222222222222222222222222222222
      size: 13
`;
const RAW_DVC = `outs:
- md5: 55ef7578b917b32028f18767310eac72
  size: 13
  hash: md5
  path: raw.csv
`;
const DIST_LISTING = '[{"md5": "401b30e3b8b5d629635a5c613cdb7919", "relpath": "x.txt"}, {"md5": "009520053b00386d1173f3988c55d192", "relpath": "y.txt"}]';

function fixture(): { ctx: SelectContext; outs: ReturnType<typeof trackedOuts> } {
  const pipeline = parseDvcYaml(DVC_YAML, { file: 'dvc.yaml', readFile: () => undefined });
  const dvcFiles = [parseDvcFile(RAW_DVC, 'raw.csv.dvc')];
  return {
    ctx: { dag: buildDag(pipeline), dvcFiles },
    outs: trackedOuts(pipeline.stages, parseLockfile(DVC_LOCK), dvcFiles),
  };
}

describe('.dvc files', () => {
  it('reads what `dvc add` writes', () => {
    expect(parseDvcFile(RAW_DVC, 'raw.csv.dvc')).toEqual({
      file: 'raw.csv.dvc',
      frozen: false,
      isImport: false,
      outs: [{ defPath: 'raw.csv', path: 'raw.csv', md5: '55ef7578b917b32028f18767310eac72', size: 13, legacy: false, cache: true, push: true }],
    });
  });

  it('knows an import (`deps:`) from a data source', () => {
    const f = parseDvcFile('md5: 0123456789abcdef0123456789abcdef\nfrozen: true\ndeps:\n- path: https://example.com/x.csv\nouts:\n- md5: 55ef7578b917b32028f18767310eac72\n  hash: md5\n  path: x.csv\n', 'x.csv.dvc');
    expect(f.isImport).toBe(true);
    expect(f.frozen).toBe(true);
    expect(parseDvcFile('deps: []\nouts: []\n', 'y.dvc').isImport).toBe(false);
  });

  it('resolves paths against the file folder and wdir, and keeps DVC 2 and flags apart', () => {
    const f = parseDvcFile('wdir: ..\nouts:\n- md5: 0763696a0ee503cf7daa85645d570297.dir\n  path: data\n  push: false\n  remote: backup\n  nfiles: 2\n', 'sub/deep/data.dvc');
    expect(f.outs).toEqual([
      { defPath: 'data', path: 'sub/data', md5: '0763696a0ee503cf7daa85645d570297.dir', nfiles: 2, legacy: true, cache: true, push: false, remote: 'backup' },
    ]);
  });

  it('rejects what DVC would, naming the line', () => {
    expect(() => parseDvcFile('outs:\n- path: x\n  colour: red\n', 'x.dvc')).toThrow(/unknown key 'colour'/);
    expect(() => parseDvcFile('outs:\n- path: ../x\n', 'x.dvc')).toThrow(/outside the workspace/);
    expect(() => parseDvcFile('outs:\n- path: x\n  md5: nope\n', 'x.dvc')).toThrow(/not an md5/);
    try {
      parseDvcFile('outs:\n- path: x\n  size: big\n', 'x.dvc');
    } catch (e) {
      expect((e as { source?: { line?: number } }).source?.line).toBe(3);
    }
  });
});

describe('tracked outputs and targets', () => {
  it('lists .dvc outputs first, then cached stage outputs in dvc.yaml order', () => {
    const { outs } = fixture();
    expect(outs.skipped).toEqual([]);
    expect(outs.outs.map((o) => [o.path, o.oid, o.owner, o.push])).toEqual([
      ['raw.csv', '55ef7578b917b32028f18767310eac72', 'raw.csv.dvc', true],
      ['dist', '0763696a0ee503cf7daa85645d570297.dir', 'build', true],
      ['table.csv', '55ef7578b917b32028f18767310eac72', 'build', true],
      ['report.txt', '22222222222222222222222222222222', 'report', false],
    ]);
  });

  it('skips DVC 2 entries with a reason', () => {
    const pipeline = parseDvcYaml(DVC_YAML, { file: 'dvc.yaml', readFile: () => undefined });
    const legacy = trackedOuts(pipeline.stages, parseLockfile(DVC_LOCK.replace(/(path: table.csv\n) {6}hash: md5\n/g, '$1')), []);
    expect(legacy.skipped.map((s) => s.path)).toEqual(['table.csv']);
  });

  it('selects by stage, .dvc file, dvc.yaml, output path, path inside a directory, or folder', () => {
    const { ctx, outs } = fixture();
    const sel = (...t: string[]) => selectTracked(outs.outs, ctx, t).map((o) => `${o.path}${o.only ? `:${o.only}` : ''}`);
    expect(sel()).toEqual(['raw.csv', 'dist', 'table.csv', 'report.txt']);
    expect(sel('build')).toEqual(['dist', 'table.csv']);
    expect(sel('dvc.yaml:report')).toEqual(['report.txt']);
    expect(sel('raw.csv.dvc')).toEqual(['raw.csv']);
    expect(sel('dvc.yaml')).toEqual(['dist', 'table.csv', 'report.txt']);
    expect(sel('table.csv', './dist/')).toEqual(['table.csv', 'dist']);
    expect(sel('dist/y.txt')).toEqual(['dist:y.txt']);
    expect(selectTracked(outs.outs, ctx, ['report'], { withDeps: true }).map((o) => o.path)).toEqual(['dist', 'table.csv', 'report.txt', 'raw.csv']);
    expect(() => sel('nothing-here')).toThrow(/not a stage, a .dvc file or a tracked output/);
  });
});

/** The fixture with a sub/dvc.yaml (stage `inner`) and sub/data.txt.dvc beside the root's. */
function nestedFixture(): { ctx: SelectContext; outs: ReturnType<typeof trackedOuts> } {
  const root = parseDvcYaml(DVC_YAML, { file: 'dvc.yaml', readFile: () => undefined });
  const sub = parseDvcYaml('stages:\n  inner:\n    cmd: cp sin.txt inner.txt\n    deps: [sin.txt]\n    outs: [inner.txt]\n', { file: 'sub/dvc.yaml', readFile: () => undefined });
  const pipeline = mergePipelines([root, sub]);
  const inner = parseLockfile("schema: '2.0'\nstages:\n  inner:\n    cmd: cp sin.txt inner.txt\n    outs:\n    - path: inner.txt\n      hash: md5\n      md5: 33333333333333333333333333333333\n      size: 4\n");
  const lock = { stages: new Map([...parseLockfile(DVC_LOCK).stages, ['sub/dvc.yaml:inner', inner.stages.get('inner')!]]) };
  const dvcFiles = [parseDvcFile(RAW_DVC, 'raw.csv.dvc'), parseDvcFile(RAW_DVC.replace('raw.csv', 'data.txt'), 'sub/data.txt.dvc')];
  return { ctx: { dag: buildDag(pipeline), dvcFiles }, outs: trackedOuts(pipeline.stages, lock, dvcFiles) };
}

describe('targets from a sub-folder', () => {
  const { ctx, outs } = nestedFixture();
  const sel = (cwd: string, ...t: string[]) => selectTracked(outs.outs, ctx, t, { cwd }).map((o) => o.path);

  it('reads stage names, .dvc files and paths from the folder started in, as DVC', () => {
    expect(sel('sub', 'inner')).toEqual(['sub/inner.txt']);
    expect(sel('sub', 'inner.txt', 'data.txt')).toEqual(['sub/inner.txt', 'sub/data.txt']);
    expect(sel('sub', 'data.txt.dvc')).toEqual(['sub/data.txt']);
    expect(sel('sub', '../raw.csv.dvc', '../table.csv')).toEqual(['raw.csv', 'table.csv']);
    expect(sel('sub', '../dvc.yaml:build')).toEqual(['dist', 'table.csv']);
    expect(sel('sub', '.')).toEqual(['sub/data.txt', 'sub/inner.txt']);
    // the same from the root, by address and by path
    expect(sel('.', 'sub/dvc.yaml:inner')).toEqual(['sub/inner.txt']);
    expect(sel('.', 'sub/data.txt')).toEqual(['sub/data.txt']);
  });

  it('takes a dvc.yaml as the stages written in it, not every file’s', () => {
    expect(sel('sub', 'dvc.yaml')).toEqual(['sub/inner.txt']);
    expect(sel('sub', '../dvc.yaml')).toEqual(['dist', 'table.csv', 'report.txt']);
    expect(sel('.', 'dvc.yaml')).toEqual(['dist', 'table.csv', 'report.txt']);
    expect(sel('.', 'sub/dvc.yaml')).toEqual(['sub/inner.txt']);
  });

  it('refuses what is not there from that folder, and paths that leave the workspace', () => {
    // build is the root's: in sub/ it is neither a stage there nor a path
    expect(() => sel('sub', 'build')).toThrow(/'build' is not a stage, a .dvc file or a tracked output/);
    expect(() => sel('sub', 'dvc.yaml:build')).toThrow(/stage 'sub\/dvc.yaml:build' does not exist/);
    expect(() => sel('sub', '../../x')).toThrow(/outside the workspace/);
    expect(() => sel('.', 'inner')).toThrow(/'inner' is not a stage/);
  });
});

describe('objects', () => {
  it('expands directories through their listing; an object shared by two paths keeps the first name', () => {
    const { outs } = fixture();
    const refs = expandObjects(outs.outs, new Map([['0763696a0ee503cf7daa85645d570297.dir', parseListing(DIST_LISTING)]]));
    expect(refs.map((r) => [r.name, r.key])).toEqual([
      ['raw.csv', 'files/md5/55/ef7578b917b32028f18767310eac72'],
      ['dist', 'files/md5/07/63696a0ee503cf7daa85645d570297.dir'],
      ['dist/x.txt', 'files/md5/40/1b30e3b8b5d629635a5c613cdb7919'],
      ['dist/y.txt', 'files/md5/00/9520053b00386d1173f3988c55d192'],
      ['report.txt', 'files/md5/22/222222222222222222222222222222'],
    ]);
  });

  it('yields only the chosen files of a granular target (and its listing only when asked)', () => {
    const dist = { path: 'dist', oid: '0763696a0ee503cf7daa85645d570297.dir', owner: 'build', push: true, only: 'y.txt' };
    const listings = new Map([[dist.oid, parseListing(DIST_LISTING)]]);
    expect(expandObjects([dist], listings).map((r) => r.name)).toEqual(['dist/y.txt']);
    expect(expandObjects([dist], listings, { withGranularListing: true }).map((r) => r.name)).toEqual(['dist', 'dist/y.txt']);
  });

  it('refuses listings DVC could not have written', () => {
    expect(parseListing(DIST_LISTING)).toHaveLength(2);
    expect(parseListing('not json')).toBeUndefined();
    expect(parseListing('{"md5": "x"}')).toBeUndefined();
    expect(parseListing('[{"md5": "401b30e3b8b5d629635a5c613cdb7919", "relpath": "../../etc/passwd"}]')).toBeUndefined();
    expect(parseListing('[{"md5": "401b30e3b8b5d629635a5c613cdb7919", "relpath": "/abs"}]')).toBeUndefined();
    expect(parseListing('[{"md5": "short", "relpath": "a"}]')).toBeUndefined();
  });
});
