import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDvcYaml } from '../../../src/pipeline/parse-dvc-yaml.js';
import { conformance } from '../../helpers/conformance.js';

/**
 * Every recorded DVC 3 workspace: the stages reprod generates from its
 * dvc.yaml must be the ones DVC wrote to dvc.lock, with the same names, the
 * same commands (byte for byte), deps, outs and params.
 */
const CASES = pathToFileURL(`${conformance('dvc')}/`);

interface LockEntry {
  cmd: unknown;
  deps: string[];
  outs: string[];
  params: Map<string, string[]>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The parts of dvc.lock compared here, read without trusting the file's shape. */
function readLock(text: string): Map<string, LockEntry> {
  const doc: unknown = parseYaml(text);
  const stages = isRecord(doc) && isRecord(doc.stages) ? doc.stages : {};
  const paths = (v: unknown): string[] => (Array.isArray(v) ? v.flatMap((x) => (isRecord(x) && typeof x.path === 'string' ? [x.path] : [])) : []);
  const out = new Map<string, LockEntry>();
  for (const [name, e] of Object.entries(stages)) {
    if (!isRecord(e)) continue;
    const params = new Map<string, string[]>();
    if (isRecord(e.params)) for (const [f, kv] of Object.entries(e.params)) params.set(f, isRecord(kv) ? Object.keys(kv) : []);
    out.set(name, { cmd: e.cmd, deps: paths(e.deps), outs: paths(e.outs), params });
  }
  return out;
}

const cases = readdirSync(CASES)
  .filter((c) => existsSync(new URL(`${c}/input/dvc.yaml`, CASES)))
  .sort();

describe.each(cases)('conformance case %s', (name) => {
  const root = new URL(`${name}/input/`, CASES);
  const readFile = (rel: string): string | undefined => {
    const u = new URL(rel, root);
    return existsSync(u) && statSync(u).isFile() ? readFileSync(u, 'utf8') : undefined;
  };
  const lockText = readFileSync(new URL(`${name}/expected/dvc.lock`, CASES), 'utf8');
  const lock = readLock(lockText);
  const pipeline = parseDvcYaml(readFile('dvc.yaml') ?? '', { file: 'dvc.yaml', readFile });

  it('generates exactly the stages DVC locked', () => {
    expect(pipeline.stages.map((s) => s.name).sort()).toEqual([...lock.keys()].sort());
  });

  it('matches cmd, deps, outs and params of every locked stage', () => {
    for (const stage of pipeline.stages) {
      const entry = lock.get(stage.name);
      expect(entry, stage.name).toBeDefined();
      if (!entry) continue;
      expect(stage.cmd, stage.name).toEqual(entry.cmd);
      expect(stage.deps.map((d) => d.defPath).sort(), stage.name).toEqual([...entry.deps].sort());
      expect(stage.outs.map((o) => o.defPath).sort(), stage.name).toEqual([...entry.outs].sort());
      expect(stage.params.map((p) => p.defPath).sort(), stage.name).toEqual([...entry.params.keys()].sort());
      for (const p of stage.params) {
        if (p.keys !== null) expect([...p.keys].sort(), `${stage.name} ${p.defPath}`).toEqual([...(entry.params.get(p.defPath) ?? [])].sort());
      }
    }
  });
});

describe('conformance specifics', () => {
  const read = (c: string) => (rel: string): string | undefined => {
    const u = new URL(`${c}/input/${rel}`, CASES);
    return existsSync(u) && statSync(u).isFile() ? readFileSync(u, 'utf8') : undefined;
  };

  it('e-foreach-matrix: names and commands of generated stages, in file order', () => {
    const r = read('e-foreach-matrix');
    const p = parseDvcYaml(r('dvc.yaml') ?? '', { file: 'dvc.yaml', readFile: r });
    expect(p.stages.map((s) => s.name)).toEqual([
      'gen@small',
      'gen@large',
      'lang@en',
      'lang@fr',
      'pairs@0',
      'pairs@1',
      'grid@small-0.1',
      'grid@small-0.01',
      'grid@large-0.1',
      'grid@large-0.01',
    ]);
    const grid = p.stages.find((s) => s.name === 'grid@small-0.01');
    expect(grid?.cmd).toBe('mkdir -p grid && cat out/small.txt > grid/small-0.01.txt && echo "lr=0.01" >> grid/small-0.01.txt');
    expect(grid?.group).toBe('grid');
    const gen = p.stages.find((s) => s.name === 'gen@large');
    expect(gen?.params).toMatchObject([{ defPath: 'params.yaml', path: 'params.yaml', keys: ['models.large.size'] }]);
  });

  it('i-cmd-list: an escaped \\${VAR} reaches the shell as ${VAR}', () => {
    const r = read('i-cmd-list');
    const p = parseDvcYaml(r('dvc.yaml') ?? '', { file: 'dvc.yaml', readFile: r });
    expect(p.stages[0]?.cmd).toContain('echo "var=${VAR:-unset}" > out/var2.txt');
    expect(p.stages[1]?.cmd).toEqual(["printf '#!/bin/sh\\necho tool\\n' > tool.sh && chmod +x tool.sh"]);
  });

  it('c-params: whole-file params and keys of other files', () => {
    const r = read('c-params');
    const p = parseDvcYaml(r('dvc.yaml') ?? '', { file: 'dvc.yaml', readFile: r });
    const byName = new Map(p.stages.map((s) => [s.name, s]));
    expect(byName.get('whole_file')?.params).toMatchObject([{ defPath: 'config/custom.yaml', path: 'config/custom.yaml', keys: null }]);
    expect(byName.get('evaluate')?.params.map((x) => x.defPath)).toEqual(['params.yaml', 'config/custom.yaml', 'config/extra.json']);
  });
});
