import { ReprodError } from './errors.js';

/**
 * The parts of configobj's INI dialect that DVC's config files use, read and
 * written as configobj (with its defaults: `list_values`, 4-space indents)
 * reads and writes them, so that real DVC reads what reprod writes.
 */

/** configobj's `wspace_plus`: a value that starts or ends with one of these must be quoted. */
const WSPACE_PLUS = ' \r\n\v\t\'"';

/** Why a value cannot be written (configobj raises on these too). */
function unquotable(what: string, value: string): ReprodError {
  return new ReprodError('CONFIG', `${what} '${value.replace(/\n/g, '\\n')}' cannot be written to a DVC config file`, {
    remedy: "Use a value without a line break, and without both ' and \" when it must be quoted.",
  });
}

function singleQuote(value: string, what: string): string {
  if (value.includes("'") && value.includes('"')) throw unquotable(what, value);
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

/**
 * configobj's `_quote`: bare when the value is unambiguous, else in single or
 * double quotes, else (both kinds of quote in a value) in triple quotes.
 * `multiline` is true for values and false for keys and section names.
 */
export function quoteConfigObj(value: string, multiline: boolean, what = 'value'): string {
  if (value === '') return '""';
  const needTriple = multiline && ((value.includes("'") && value.includes('"')) || value.includes('\n'));
  if (needTriple) {
    if (value.includes('\n')) throw unquotable(what, value);
    if (value.includes('"""') && value.includes("'''")) throw unquotable(what, value);
    return value.includes('"""') ? `'''${value}'''` : `"""${value}"""`;
  }
  if (value.includes('\n')) throw unquotable(what, value);
  const first = value[0] as string;
  const last = value[value.length - 1] as string;
  const bare = !WSPACE_PLUS.includes(first) && !WSPACE_PLUS.includes(last) && !value.includes(',');
  if (bare && !value.includes('#')) return value;
  return singleQuote(value, what);
}

/**
 * A value as configobj reads it from one line: a quoted string (single,
 * double or triple quotes) or a bare word up to an inline `#` comment. A
 * bare comma-separated value (a configobj list) is kept as its text.
 * Undefined when the line is not a well-formed value (an unclosed quote).
 */
export function unquoteConfigObj(raw: string): string | undefined {
  const text = raw.trim();
  for (const q of ['"""', "'''", '"', "'"]) {
    if (!text.startsWith(q)) continue;
    const end = text.indexOf(q, q.length);
    if (end < 0) return undefined;
    const rest = text.slice(end + q.length).trim();
    // what follows a quoted value may only be a comment (or a list's next items, kept verbatim)
    if (rest === '' || rest.startsWith('#')) return text.slice(q.length, end);
    if (rest.startsWith(',')) return text;
    return undefined;
  }
  const hash = text.indexOf('#');
  return (hash < 0 ? text : text.slice(0, hash)).trim();
}

/** A `[section]` line as configobj writes it (depth 1). */
export function formatSectionLine(name: string): string {
  return `[${quoteConfigObj(name, false, 'section name')}]`;
}

/** A `key = value` line of a depth-1 section. */
export function formatKeyLine(key: string, value: string): string {
  return `    ${quoteConfigObj(key, false, 'key')} = ${quoteConfigObj(value, true)}`;
}
