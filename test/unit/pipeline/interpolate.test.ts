import { describe, expect, it } from 'vitest';
import { PyFloat, type PyDict, type PyValue } from '../../../src/core/pyvalue.js';
import {
  checkInterpolatedValue,
  findInterpolations,
  formatDictArgs,
  interpolateString,
  isInterpolated,
  parseExpression,
  selectPath,
  shellQuote,
  TemplateError,
  toStr,
  type ParsingConfig,
} from '../../../src/pipeline/interpolate.js';

const dict = (entries: [string, PyValue][]): PyDict => new Map(entries);

/** Resolves one string against a literal context, as a stage key `key` would. */
function render(src: string, ctx: PyDict, key: string | null = 'cmd', config: ParsingConfig = {}): PyValue {
  const found = findInterpolations(src);
  const parsed = found.map((m) => parseExpression(m.inner));
  return interpolateString(
    src,
    found,
    parsed,
    (parts) => {
      const r = selectPath(ctx, parts);
      if (!r.found) throw new TemplateError(`Could not find '${parts.join('.')}'`);
      return r.value;
    },
    key,
    config,
  );
}

describe('findInterpolations', () => {
  it('finds ${...} not preceded by a backslash, shortest match first', () => {
    expect(findInterpolations('a ${x} b ${y.z}').map((m) => m.inner)).toEqual(['x', 'y.z']);
    expect(findInterpolations('\\${x} ${y}').map((m) => m.inner)).toEqual(['y']);
    expect(findInterpolations('${a}}').map((m) => [m.start, m.end])).toEqual([[0, 4]]);
    expect(findInterpolations('${a\nb}')).toEqual([]);
    expect(findInterpolations('$x {y} $ {z}')).toEqual([]);
    expect(isInterpolated('echo ${x}')).toBe(true);
    expect(isInterpolated('echo \\${x}')).toBe(false);
  });
});

describe('parseExpression', () => {
  it('splits names, dots and brackets', () => {
    expect(parseExpression('a')).toEqual(['a']);
    expect(parseExpression('a.b[0].c')).toEqual(['a', 'b', '0', 'c']);
    expect(parseExpression('nested.item[index]')).toEqual(['nested', 'item', 'index']);
    expect(parseExpression(' a ')).toEqual([' a ']);
  });

  it('rejects malformed expressions', () => {
    for (const bad of ['', 'a..b', 'a.', '.a', 'a[0', 'a[]', 'a]b', 'a[b.c]']) {
      expect(() => parseExpression(bad), bad).toThrow(TemplateError);
    }
  });
});

describe('selectPath', () => {
  const ctx = dict([
    ['a', dict([['b', [10, 20, dict([['c', 'deep']])]]])],
    ['s', 'str'],
  ]);
  it('follows keys and Python-style list indexes', () => {
    expect(selectPath(ctx, ['a', 'b', '1'])).toEqual({ found: true, value: 20 });
    expect(selectPath(ctx, ['a', 'b', '-1', 'c'])).toEqual({ found: true, value: 'deep' });
    expect(selectPath(ctx, [' a ', 'b', ' 0 '])).toEqual({ found: true, value: 10 });
    expect(selectPath(ctx, ['a', 'b', '3'])).toEqual({ found: false });
    expect(selectPath(ctx, ['a', 'b', 'x'])).toEqual({ found: false });
    expect(selectPath(ctx, ['s', 'x'])).toEqual({ found: false });
    expect(selectPath(ctx, ['missing'])).toEqual({ found: false });
  });
});

describe('toStr (DVC to_str)', () => {
  it('renders scalars as DVC does', () => {
    expect(toStr(true)).toBe('true');
    expect(toStr(false)).toBe('false');
    expect(toStr(null)).toBe('None');
    expect(toStr(3)).toBe('3');
    expect(toStr(12345678901234567890n)).toBe('12345678901234567890');
    expect(toStr(new PyFloat(0.1))).toBe('0.1');
    expect(toStr(new PyFloat(1))).toBe('1.0');
    expect(toStr(new PyFloat(1e-5))).toBe('1e-05');
    expect(toStr(new PyFloat(1e16))).toBe('1e+16');
    expect(toStr('x y')).toBe('x y');
  });

  it('renders lists with Python repr', () => {
    expect(toStr([1, 'a', true, null, new PyFloat(2)])).toBe("[1, 'a', True, None, 2.0]");
  });
});

describe('formatDictArgs (a mapping in cmd)', () => {
  const args = dict([
    ['lr', new PyFloat(0.001)],
    ['epochs', 10],
    ['name', "my model's"],
    ['verbose', true],
    ['dry', false],
    ['layers', [64, 'a b', true]],
    ['opt', dict([['beta', new PyFloat(0.9)], ['empty', dict([])]])],
    ['none', null],
  ]);

  it('uses DVC defaults: store_true booleans, nargs lists, dotted nested keys, shell quoting', () => {
    expect(formatDictArgs(args)).toBe(
      `--lr 0.001 --epochs 10 --name 'my model'"'"'s' --verbose --layers 64 'a b' True --opt.beta 0.9 --none None`,
    );
  });

  it('honours [parsing] bool = boolean_optional and list = append', () => {
    expect(formatDictArgs(args, { bool: 'boolean_optional', list: 'append' })).toBe(
      `--lr 0.001 --epochs 10 --name 'my model'"'"'s' --verbose --no-dry --layers 64 --layers 'a b' --layers True --opt.beta 0.9 --none None`,
    );
  });

  it('refuses nested lists', () => {
    expect(() => formatDictArgs(dict([['x', [[1]]]]))).toThrow("Cannot interpolate nested iterable in 'x'");
  });

  it('renders an empty mapping as nothing', () => {
    expect(formatDictArgs(dict([]))).toBe('');
  });
});

describe('shellQuote (shlex.quote)', () => {
  it('quotes only what needs it', () => {
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a/b-c_d.e:f,g=h+i%j@k')).toBe('a/b-c_d.e:f,g=h+i%j@k');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'"'"'s'`);
    expect(shellQuote('é')).toBe("'é'");
  });
});

describe('interpolateString', () => {
  const ctx = dict([
    ['n', 5],
    ['f', new PyFloat(0.5)],
    ['flag', true],
    ['name', 'model'],
    ['list', [1, 2]],
    ['args', dict([['lr', new PyFloat(0.1)]])],
    ['nothing', null],
  ]);

  it('keeps the type of a whole ${x}', () => {
    expect(render('${n}', ctx, 'frozen')).toBe(5);
    expect(render('${flag}', ctx, 'frozen')).toBe(true);
    expect(render('${f}', ctx, 'desc')).toEqual(new PyFloat(0.5));
    expect(render('${nothing}', ctx, 'desc')).toBe(null);
    expect(render('${list}', ctx, null)).toEqual([1, 2]);
  });

  it('renders values inside longer strings', () => {
    expect(render('train --n ${n} --f ${f} --flag ${flag} ${name}.pkl', ctx)).toBe('train --n 5 --f 0.5 --flag true model.pkl');
    expect(render('python train.py ${args}', ctx)).toBe('python train.py --lr 0.1');
    expect(render('x ${nothing}', ctx, 'desc')).toBe('x None');
    expect(render('${list} as text', ctx, null)).toBe('[1, 2] as text');
  });

  it('un-escapes \\${ in strings that are not one whole interpolation', () => {
    expect(render('echo \\${HOME} ${name}', ctx)).toBe('echo ${HOME} model');
    expect(render('echo "var=\\${VAR:-unset}"', ctx)).toBe('echo "var=${VAR:-unset}"');
  });

  it('refuses lists and mappings under stage keys, except a mapping in cmd', () => {
    expect(() => render('${list}', ctx, 'deps')).toThrow("Cannot interpolate data of type 'list'");
    expect(() => render('x ${list}', ctx, 'cmd')).toThrow("Cannot interpolate data of type 'list'");
    expect(() => render('${args}', ctx, 'outs')).toThrow("Cannot interpolate data of type 'dict'");
    expect(render('${args}', ctx, 'cmd')).toEqual(ctx.get('args'));
    expect(() => checkInterpolatedValue([1], 'foreach')).not.toThrow();
  });

  it('names a missing variable', () => {
    expect(() => render('echo ${missing.key}', ctx)).toThrow("Could not find 'missing.key'");
    expect(() => render('echo ${list[5]}', ctx)).toThrow("Could not find 'list.5'");
  });
});
