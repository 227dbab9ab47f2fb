import { describe, expect, it } from 'vitest';
import { PyFloat, type PyDict, type PyValue } from '../../../src/core/pyvalue.js';
import { emitYaml } from '../../../src/lock/yaml-emit.js';
import { plainReadsAsString } from '../../../src/lock/yaml-scalar.js';

// Every expected text below is what ruamel.yaml's round-trip dumper (DVC's
// writer: YAML(), default_flow_style False) printed for the same value.

const map = (entries: [string, PyValue][]): PyDict => new Map(entries);

describe('emitYaml: scalar styles', () => {
  // [case, string value of `k`, expected document]
  const cases: [string, string, string][] = [
  ["colon-space", "a: b", "k: 'a: b'\n"],
  ["colon-end", "a:", "k: 'a:'\n"],
  ["colon-inside", "a:b", "k: a:b\n"],
  ["url", "http://x.org/a?b=c", "k: http://x.org/a?b=c\n"],
  ["hash-after-space", "a #b", "k: 'a #b'\n"],
  ["hash-inside", "a#b", "k: a#b\n"],
  ["leading-hash", "#a", "k: '#a'\n"],
  ["leading-dash-space", "- a", "k: '- a'\n"],
  ["leading-dash", "-a", "k: -a\n"],
  ["dash-only", "-", "k: '-'\n"],
  ["star", "*a", "k: '*a'\n"],
  ["amp", "&a", "k: '&a'\n"],
  ["bang", "!a", "k: '!a'\n"],
  ["pct", "%a", "k: '%a'\n"],
  ["at", "@a", "k: '@a'\n"],
  ["backtick", "`a", "k: '`a'\n"],
  ["pipe", "|a", "k: '|a'\n"],
  ["gt", ">a", "k: '>a'\n"],
  ["single-quote", "it's", "k: it's\n"],
  ["leading-single-quote", "'a", "k: \"'a\"\n"],
  ["double-quote", "say \"hi\"", "k: say \"hi\"\n"],
  ["leading-double-quote", "\"a\"", "k: '\"a\"'\n"],
  ["brace", "{a}", "k: '{a}'\n"],
  ["bracket-inside", "a[0]", "k: a[0]\n"],
  ["comma", "a,b", "k: a,b\n"],
  ["trailing-space", "a ", "k: 'a '\n"],
  ["leading-space", " a", "k: ' a'\n"],
  ["empty", "", "k: ''\n"],
  ["tab", "a\tb", "k: \"a\\tb\"\n"],
  ["newline", "a\nb", "k: \"a\\nb\"\n"],
  ["newline-quote", "a'\nb", "k: \"a'\\nb\"\n"],
  ["unicode", "na\u00efve \u65e5\u672c", "k: na\u00efve \u65e5\u672c\n"],
  ["emoji", "x\ud83d\ude00", "k: x\ud83d\ude00\n"],
  ["emoji-space-lead", " \ud83d\ude00", "k: ' \ud83d\ude00'\n"],
  ["nbsp", "a\u00a0b", "k: a\u00a0b\n"],
  ["bom", "\ufeffa", "k: \"\\uFEFFa\"\n"],
  ["del", "a\u007fb", "k: \"a\\x7Fb\"\n"],
  ["ctrl", "a\u0001b", "k: \"a\\x01b\"\n"],
  ["nel", "a\u0085b", "k: 'a\u0085  b'\n"],
  ["ls", "a\u2028b", "k: 'a\u2028  b'\n"],
  ["int-str", "123", "k: '123'\n"],
  ["neg-int-str", "-5", "k: '-5'\n"],
  ["float-str", "2.0", "k: '2.0'\n"],
  ["exp-str", "1e5", "k: '1e5'\n"],
  ["dot-float", ".5", "k: '.5'\n"],
  ["inf-str", ".inf", "k: '.inf'\n"],
  ["nan-str", ".NaN", "k: '.NaN'\n"],
  ["hex-str", "0x1F", "k: '0x1F'\n"],
  ["oct-str", "0o17", "k: '0o17'\n"],
  ["octal-like", "0777", "k: '0777'\n"],
  ["underscore-int", "1_000", "k: '1_000'\n"],
  ["bin-str", "0b101", "k: '0b101'\n"],
  ["true-str", "true", "k: 'true'\n"],
  ["True-str", "True", "k: 'True'\n"],
  ["yes-str", "yes", "k: yes\n"],
  ["no-str", "No", "k: No\n"],
  ["on-str", "on", "k: on\n"],
  ["null-str", "null", "k: 'null'\n"],
  ["tilde", "~", "k: '~'\n"],
  ["Null", "Null", "k: 'Null'\n"],
  ["date-str", "2024-01-02", "k: '2024-01-02'\n"],
  ["ts-str", "2024-01-02 10:20:30", "k: '2024-01-02 10:20:30'\n"],
  ["merge", "<<", "k: '<<'\n"],
  ["eq", "=", "k: '='\n"],
  ["doc-start", "---", "k: '---'\n"],
  ["doc-end", "...", "k: '...'\n"],
  ["doc-start-word", "---a", "k: '---a'\n"],
  ["question", "?", "k: '?'\n"],
  ["question-space", "? a", "k: '? a'\n"],
  ["question-word", "?a", "k: ?a\n"],
  ["version", "1.2.3", "k: 1.2.3\n"],
  ["md5-digits", "12345678901234567890123456789012", "k: '12345678901234567890123456789012'\n"],
  ["backslash", "a\\b", "k: a\\b\n"],
  ];
  it.each(cases)('%s', (_name, value, expected) => {
    expect(emitYaml(map([['k', value]]))).toBe(expected);
  });
});

describe('emitYaml: folding at width 80', () => {
  const cases: [string, string, string][] = [
  ["plain folds at the first single space past column 80", Array(12).fill('abcdefghij').join(' '), "cmd: abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij\n  abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij\n"],
  ["a line of exactly 80 columns does not fold", 'x'.repeat(75) + ' ' + 'y'.repeat(10), "cmd: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx yyyyyyyyyy\n"],
  ["a line of 81 columns folds", 'x'.repeat(76) + ' ' + 'y'.repeat(10), "cmd: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n  yyyyyyyyyy\n"],
  ["a word longer than the width never breaks", 'z'.repeat(200), "cmd: zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n"],
  ["a long word folds at the next space", 'z'.repeat(100) + ' tail', "cmd: zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\n  tail\n"],
  ["double spaces are never a fold point", 'a'.repeat(79) + '  b', "cmd: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  b\n"],
  ["single-quoted strings fold too", 'true ' + Array(10).fill('abcdefghij').join(' '), "cmd: true abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij\n  abcdefghij abcdefghij abcdefghij\n"],
  ["a leading indicator quotes and folds", '#' + Array(10).fill('abcdefghij').join(' '), "cmd: '#abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij\n  abcdefghij abcdefghij abcdefghij'\n"],
  ["double-quoted strings fold with a backslash", "#it's " + Array(10).fill('abcdefghij').join(' '), "cmd: \"#it's abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij\\\n  \\ abcdefghij abcdefghij abcdefghij\"\n"],
  ["double-quoted escapes fold", '\t'.repeat(50) + 'x'.repeat(50), "cmd: \"\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\\n  \\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\txxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n"],
  ];
  it.each(cases)('%s', (_name, value, expected) => {
    expect(emitYaml(map([['cmd', value]]))).toBe(expected);
  });

  it('indents continuation lines two past the key, at any depth', () => {
    const cmd = Array(12).fill('abcdefghij').join(' ');
    expect(emitYaml(map([['stages', map([['s', map([['cmd', cmd]])]])]]))).toBe(
      "stages:\n  s:\n    cmd: abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij\n      abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij\n",
    );
  });

  it('indents continuation lines of a list item two past the dash', () => {
    const cmd = Array(12).fill('abcdefghij').join(' ');
    expect(emitYaml(map([['cmd', [cmd]]]))).toBe("cmd:\n- abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij\n  abcdefghij abcdefghij abcdefghij abcdefghij\n");
  });
});

describe('emitYaml: keys, values and collections', () => {
  it('quotes keys that would read back as another type, and writes long keys explicitly', () => {
    const doc = map([
      ['true', 1],
      ['2.0', 2],
      ['', 3],
      ['a: b', 4],
      ['x'.repeat(130), 5],
    ]);
    expect(emitYaml(doc)).toBe("'true': 1\n'2.0': 2\n'': 3\n'a: b': 4\n? xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n: 5\n");
  });

  it('writes ints, floats (Python repr), bools, null, and empty collections as ruamel does', () => {
    const doc = map([
      ['i', 1],
      ['big', 12345678901234567890123n],
      ['neg', -3],
      ['f', new PyFloat(0.1)],
      ['f2', new PyFloat(2)],
      ['e', new PyFloat(1e-5)],
      ['e2', new PyFloat(1e16)],
      ['nan', new PyFloat(NaN)],
      ['inf', new PyFloat(Infinity)],
      ['ninf', new PyFloat(-Infinity)],
      ['t', true],
      ['n', null],
      ['l', []],
      ['m', new Map()],
      ['ln', [null, 1]],
    ]);
    expect(emitYaml(doc)).toBe("i: 1\nbig: 12345678901234567890123\nneg: -3\nf: 0.1\nf2: 2.0\ne: 1e-05\ne2: 1e+16\nnan: .nan\ninf: .inf\nninf: -.inf\nt: true\nn:\nl: []\nm: {}\nln:\n- \n- 1\n");
  });

  it('nests lists in lists and mappings in lists compactly', () => {
    const doc = map([['a', [[1, 2], [], [map([['x', 1], ['y', [3]]])], new Map()]]]);
    expect(emitYaml(doc)).toBe("a:\n- - 1\n  - 2\n- []\n- - x: 1\n    y:\n    - 3\n- {}\n");
  });

  it('writes a list as the document', () => {
    expect(emitYaml([map([['a', 1]]), 'b'])).toBe("- a: 1\n- b\n");
  });

  it('writes an empty document mapping as {}', () => {
    expect(emitYaml(new Map())).toBe('{}\n');
  });
});

describe('plainReadsAsString (YAML 1.2 resolution)', () => {
  it.each(['yes', 'no', 'on', 'off', 'y', 'n', '1.2.3', 'abc', '0x', '1e', '.', '-', 'nulls', 'True1'])('%s stays a string', (s) => {
    expect(plainReadsAsString(s)).toBe(true);
  });
  it.each(['', 'true', 'FALSE', 'null', '~', '1', '-1', '+1', '1_0', '0o7', '0x1f', '0b1', '1.', '1.5', '1e5', '.5', '.inf', '-.Inf', '.nan', '2024-01-02', '<<', '=', '1\n'])(
    '%j reads as another type',
    (s) => {
      expect(plainReadsAsString(s)).toBe(false);
    },
  );
});
