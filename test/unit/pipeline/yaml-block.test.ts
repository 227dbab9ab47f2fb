import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PyFloat, type PyValue } from '../../../src/core/pyvalue.js';
import { emitYaml } from '../../../src/lock/yaml-emit.js';
import { readBlockYaml } from '../../../src/pipeline/yaml-block.js';
import { loadYaml } from '../../../src/pipeline/yaml-load.js';
import { conformance } from '../../helpers/conformance.js';

/** A value with every distinction made visible: int vs float, Map vs object, key order. */
function shape(v: PyValue): unknown {
  if (v instanceof PyFloat) return { float: Object.is(v.value, -0) ? '-0' : v.value };
  if (typeof v === 'bigint') return { bigint: String(v) };
  if (typeof v === 'number') return { int: v };
  if (Array.isArray(v)) return v.map(shape);
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [k, shape(x)]) };
  return v;
}

function full(text: string): PyValue {
  return loadYaml(text, 'f.yaml').value;
}

/** The block reader either declines or agrees with the full parser. */
function agrees(text: string): boolean {
  const fast = readBlockYaml(text, 100);
  if (fast === undefined) return false;
  expect(shape(fast), text).toEqual(shape(full(text)));
  return true;
}

function filesUnder(dir: string, name: RegExp, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) filesUnder(p, name, out);
    else if (name.test(e)) out.push(p);
  }
  return out;
}

describe('readBlockYaml', () => {
  it('reads every dvc.lock DVC 3.67 wrote as the full parser does', () => {
    const locks = filesUnder(conformance('dvc-3.67'), /^dvc\.lock$/);
    expect(locks.length).toBeGreaterThan(10);
    const declined = locks.filter((f) => !agrees(readFileSync(f, 'utf8')));
    // DVC's lock files are the plain block style: none needs the full parser
    expect(declined).toEqual([]);
  });

  it('reads what reprod writes (dvc.lock emitter, status files) as the full parser does', () => {
    const doc: PyValue = new Map<string, PyValue>([
      ['schema', '2.0'],
      [
        'stages',
        new Map<string, PyValue>([
          [
            'train@1',
            new Map<string, PyValue>([
              ['cmd', 'python train.py --lr 0.1 > log.txt && echo "done: ok"'],
              ['deps', [new Map<string, PyValue>([['path', 'data/x y.csv'], ['md5', '1234e5678901234567890123456789ab'], ['size', 7]])]],
              ['params', new Map<string, PyValue>([['params.yaml', new Map<string, PyValue>([['lr', new PyFloat(0.1)], ['epochs', 10], ['on', true], ['name', 'yes'], ['none', null], ['big', new PyFloat(1e21)], ['neg', -3], ['list', [1, 'a', new PyFloat(-0.5)]]])]])],
              ['outs', [new Map<string, PyValue>([['path', "it's.txt"], ['md5', '00000000000000000000000000000001'], ['isexec', false]])]],
            ]),
          ],
        ]),
      ],
    ]);
    expect(agrees(emitYaml(doc as Map<string, PyValue>))).toBe(true);
    const status = {
      apiVersion: 'reprod.dev/v1',
      kind: 'StageStatus',
      metadata: { name: 'gen@s00001', generation: 1 },
      spec: { cmd: 'cp a b', deps: ['data/a'], outs: [], runtime: { kind: 'host', reason: 'runs on the host: --runtime host' } },
      status: { phase: 'UpToDate', conditions: [{ type: 'Ready', status: 'True', message: '', lastTransitionTime: '2026-12-02T07:06:26.564Z' }], staleReasons: [], extra: {} },
    };
    expect(agrees(stringify(status, { lineWidth: 0, aliasDuplicateObjects: false }))).toBe(true);
  });

  it('reads scalars as YAML 1.2 does, or leaves them to the full parser', () => {
    const scalars = ['1', '-1', '0', '-0', '007', '+5', '1.5', '-0.0', '1.', '.5', '-.5', '1e5', '1E-3', '.inf', '-.inf', '.nan', '0x1f', '0o17',
      '9007199254740993', 'true', 'True', 'TRUE', 'yes', 'no', 'on', 'null', '~', 'Null', '1_000', '12e4567', 'abc', 'a:b', 'a b', '-x', 'x-',
      "'q'", "'it''s'", '"d"', '"e\\n"', "'a' b", '[]', '{}', '[1]', '&a x', '*a', '!!str 1', '|', '>', '@x', '`x`', '%x', 'a #c', 'a: b', '#c', 'x:'];
    let read = 0;
    for (const s of scalars) if (agrees(`k: ${s}\nl:\n  - ${s}\n`)) read++;
    expect(read).toBeGreaterThan(25);
  });

  it('reads nesting and indentation as the full parser does', () => {
    const texts = [
      'a:\n- x\n- y\nb: 1\n',
      'a:\n  - x\n  - y\nb:\n',
      '- a: 1\n  b: 2\n- c: 3\n',
      '- a:\n  - x\n  b: 2\n',
      '-\n    a: 1\n- 2\n',
      'a:\n    b:\n        c: [] \n    d: {}\n',
      '# head\na: 1\n\n  # inside\nb: 2\n',
      "'q k': 1\n\"d k\": 2\n",
      '',
    ];
    for (const t of texts) expect(agrees(t), t).toBe(true);
  });

  it('declines what it cannot be sure of, among them everything the full parser rejects', () => {
    const texts = [
      'a: 1\na: 2\n', // a repeated key: an error, the full parser's to report
      'a: 1\n  b: 2\n',
      'a:\n    b: 1\n  c: 2\n',
      'a: x\n  continued\n',
      'a: "open\n  closed"\n',
      'a: - x\n',
      '- - x\n',
      'a: &x 1\nb: *x\n',
      '1: one\n',
      'true: t\n',
      '---\na: 1\n',
      'a: 1\n---\nb: 2\n',
      'a:\tb\n',
      'a: 1\r\n',
      '? a\n: b\n',
      'a:b\n',
      'plain\n',
      '  a: 1\n',
      'a: |\n  text\n',
      'a: x # comment\n',
      '<<: {}\n',
      'x:y: 1\n',
    ];
    for (const t of texts) {
      expect(readBlockYaml(t, 100), JSON.stringify(t)).toBeUndefined();
    }
  });

  it('leaves nesting at the depth limit to the full parser, which reports it', () => {
    const deep = (n: number): string => Array.from({ length: n }, (_, i) => `${' '.repeat(2 * i)}k:`).join('\n') + ' 1\n';
    expect(shape(readBlockYaml(deep(5), 10) as PyValue)).toEqual(shape(full(deep(5))));
    expect(readBlockYaml(deep(10), 10)).toBeUndefined();
    expect(() => loadYaml(deep(12), 'f.yaml', { written: true, limits: { maxDepth: 10 } })).toThrow(/nested more than 10 levels deep/);
  });

  it('a file read by the block reader still has its lines, from the full parser when asked', () => {
    const loaded = loadYaml('a: 1\nb:\n  - x\n  - y\n', 'f.yaml', { written: true });
    expect(loaded.lineOf(['b', 1])).toBe(4);
    expect(loaded.lineOf(['a'])).toBe(1);
  });
});
