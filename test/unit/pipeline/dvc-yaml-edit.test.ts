import { describe, expect, it } from 'vitest';
import { removeStage, setFrozen } from '../../../src/pipeline/dvc-yaml-edit.js';
import { parseDvcYaml } from '../../../src/pipeline/parse-dvc-yaml.js';

const BASE = `# the pipeline
stages:
  prepare:   # first
    cmd: python prep.py
    deps:
    - data/raw.csv
    outs: [data/clean.csv]

  train:
    cmd: |
      python train.py
      echo done
    deps: ["data/clean.csv"]
    outs:
      - model.pkl
# after the stages
metrics: [m.json]
`;

const stage = (text: string, name: string) => parseDvcYaml(text, { file: 'dvc.yaml', readFile: () => undefined }).stages.find((s) => s.name === name);

describe('setFrozen', () => {
  it('adds `frozen: true` as the stage’s last key, touching no other line', () => {
    const out = setFrozen(BASE, 'dvc.yaml', 'prepare', true);
    expect(out).toBe(BASE.replace('    outs: [data/clean.csv]\n', '    outs: [data/clean.csv]\n    frozen: true\n'));
    expect(stage(out, 'prepare')?.frozen).toBe(true);
    expect(stage(out, 'train')?.frozen).toBe(false);
  });

  it('after a block scalar and in the last stage', () => {
    const out = setFrozen(BASE, 'dvc.yaml', 'train', true);
    expect(out).toBe(BASE.replace('      - model.pkl\n', '      - model.pkl\n    frozen: true\n'));
    expect(stage(out, 'train')?.frozen).toBe(true);
  });

  it('unfreeze removes the key; freeze then unfreeze gives the text back', () => {
    expect(setFrozen(setFrozen(BASE, 'dvc.yaml', 'prepare', true), 'dvc.yaml', 'prepare', false)).toBe(BASE);
    const withFalse = BASE.replace('    cmd: python prep.py\n', '    cmd: python prep.py\n    frozen: false\n');
    expect(setFrozen(withFalse, 'dvc.yaml', 'prepare', true)).toBe(withFalse.replace('frozen: false', 'frozen: true'));
    expect(setFrozen(withFalse, 'dvc.yaml', 'prepare', false)).toBe(BASE);
    expect(setFrozen(BASE, 'dvc.yaml', 'prepare', false)).toBe(BASE);
  });

  it('a file without a final newline', () => {
    const text = 'stages:\n  a:\n    cmd: echo a';
    const out = setFrozen(text, 'dvc.yaml', 'a', true);
    expect(out).toBe('stages:\n  a:\n    cmd: echo a\n    frozen: true\n');
  });

  it('a flow-style stage is written by the printer, still valid and frozen', () => {
    const text = 'stages:\n  a: {cmd: echo a, outs: [a.txt]}\n';
    const out = setFrozen(text, 'dvc.yaml', 'a', true);
    expect(stage(out, 'a')?.frozen).toBe(true);
    expect(stage(out, 'a')?.outs.map((o) => o.path)).toEqual(['a.txt']);
  });

  it('refuses a templated stage with DVC’s words, and an unknown one', () => {
    const text = 'vars: [{w: hi}]\nstages:\n  a:\n    cmd: echo ${w}\n  g:\n    foreach: [x, y]\n    do:\n      cmd: echo ${item}\n';
    expect(() => setFrozen(text, 'dvc.yaml', 'a', true)).toThrow("cannot dump a parametrized stage: 'a'");
    expect(() => setFrozen(text, 'dvc.yaml', 'g', true)).toThrow("cannot dump a parametrized stage: 'g'");
    expect(() => setFrozen(text, 'dvc.yaml', 'nope', true)).toThrow(/stage 'nope' does not exist in dvc.yaml/);
  });
});

describe('removeStage', () => {
  it('removes the stage’s lines and nothing else', () => {
    const out = removeStage(BASE, 'dvc.yaml', 'prepare').text ?? '';
    expect(out).toBe(BASE.replace(/  prepare:[\s\S]*?outs: \[data\/clean.csv\]\n/, ''));
    expect(stage(out, 'prepare')).toBeUndefined();
    expect(stage(out, 'train')?.cmd).toBe('python train.py\necho done\n');
    const last = removeStage(BASE, 'dvc.yaml', 'train').text ?? '';
    expect(last).toBe(BASE.replace(/  train:[\s\S]*?- model.pkl\n/, ''));
    expect(stage(last, 'prepare')?.outs.map((o) => o.path)).toEqual(['data/clean.csv']);
  });

  it('the last stage: no text, the file goes', () => {
    expect(removeStage('stages:\n  a:\n    cmd: echo a\n', 'dvc.yaml', 'a').text).toBeUndefined();
  });

  it('a whole foreach group by its name', () => {
    const text = 'stages:\n  g:\n    foreach: [x, y]\n    do:\n      cmd: echo ${item}\n  b:\n    cmd: echo b\n';
    expect(removeStage(text, 'dvc.yaml', 'g').text).toBe('stages:\n  b:\n    cmd: echo b\n');
  });
});
