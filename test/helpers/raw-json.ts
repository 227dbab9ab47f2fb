/**
 * JSON kept as written: numbers and strings as their source text, objects as
 * ordered entries. For comparing what reprod prints with what DVC printed,
 * byte for byte, where DVC's own order is not fixed (it iterates Python sets
 * there): sort those levels on both sides, then compare the text.
 */
export type RawJson = { kind: 'object'; entries: [string, RawJson][] } | { kind: 'array'; items: RawJson[] } | { kind: 'atom'; text: string };

export function parseRawJson(text: string): RawJson {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return text.slice(start, i);
  };
  const value = (): RawJson => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, RawJson][] = [];
      ws();
      if (text[i] === '}') return i++, { kind: 'object', entries };
      for (;;) {
        ws();
        const k = str();
        ws();
        if (text[i++] !== ':') throw new Error(`expected ':' at ${i}`);
        entries.push([k, value()]);
        ws();
        if (text[i++] === '}') return { kind: 'object', entries };
      }
    }
    if (c === '[') {
      i++;
      const items: RawJson[] = [];
      ws();
      if (text[i] === ']') return i++, { kind: 'array', items };
      for (;;) {
        items.push(value());
        ws();
        if (text[i++] === ']') return { kind: 'array', items };
      }
    }
    if (c === '"') return { kind: 'atom', text: str() };
    const m = /^(-?[0-9.eE+-]+|true|false|null|NaN|-?Infinity)/.exec(text.slice(i));
    if (!m) throw new Error(`unexpected JSON at ${i}: ${text.slice(i, i + 20)}`);
    i += m[0].length;
    return { kind: 'atom', text: m[0] };
  };
  const v = value();
  ws();
  if (i !== text.length) throw new Error(`extra text after JSON at ${i}`);
  return v;
}

/** Written back with Python json.dumps's separators. */
export function dumpRawJson(v: RawJson): string {
  if (v.kind === 'atom') return v.text;
  if (v.kind === 'array') return `[${v.items.map(dumpRawJson).join(', ')}]`;
  return `{${v.entries.map(([k, x]) => `${k}: ${dumpRawJson(x)}`).join(', ')}}`;
}

/** Sorts the keys of the objects `depth` levels down (0: the top object) by their text. */
export function sortObjectsAt(v: RawJson, depths: readonly number[], depth = 0): RawJson {
  if (v.kind === 'atom') return v;
  if (v.kind === 'array') return { kind: 'array', items: v.items.map((x) => sortObjectsAt(x, depths, depth + 1)) };
  const entries = v.entries.map(([k, x]): [string, RawJson] => [k, sortObjectsAt(x, depths, depth + 1)]);
  if (depths.includes(depth)) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { kind: 'object', entries };
}
