import { isMap, isScalar, isSeq, parseDocument } from 'yaml';

/**
 * The `meta.yaml` files of MLflow's file store, written as MLflow writes
 * them (PyYAML `safe_dump`, block style, keys sorted) and read back.
 *
 * Values are flat: strings, integers, null, an empty list, or a mapping of
 * strings (a registered model's aliases). Strings are plain unless PyYAML
 * would quote them: anything that would read back as another type under YAML
 * 1.1 (`'163580045406626432'`, `''`, `'true'`, `'1.0'`, `'~'`) or that starts
 * with an indicator, has `: ` or ` #`, or leading/trailing spaces. Strings
 * with line breaks or non-printable characters are double-quoted. (PyYAML
 * folds long plain strings at a space past column 80; reprod writes them on
 * one line, which reads back the same.)
 */
export type MetaValue = string | number | null | readonly [] | Readonly<Record<string, string>>;

const RESOLVES_TO_OTHER_TYPE = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/,
  /^(?:<<|=)$/,
];

/** Printable as PyYAML sees it with `allow_unicode`: no control characters, no BOM, no surrogates. */
function printable(s: string): boolean {
  return !/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff\ufffe\uffff]|[\ud800-\udfff]/u.test(s);
}

function plainAllowed(s: string): boolean {
  if (RESOLVES_TO_OTHER_TYPE.some((re) => re.test(s))) return false;
  if (/^[\s]|[\s]$/.test(s)) return false;
  if (/^[#,[\]{}&*!|>'"%@`]/.test(s)) return false;
  if (/^[-?:](\s|$)/.test(s)) return false;
  if (/^(---|\.\.\.)(\s|$)/.test(s)) return false;
  if (/: |:$| #/.test(s)) return false;
  return true;
}

export function metaScalar(s: string): string {
  if (/[\t\n\r\x85\u2028\u2029]/.test(s) || !printable(s)) return JSON.stringify(s);
  if (plainAllowed(s)) return s;
  return `'${s.replace(/'/g, "''")}'`;
}

function valueText(v: MetaValue): string {
  if (v === null) return ' null';
  if (typeof v === 'number') return ` ${v}`;
  if (typeof v === 'string') return ` ${metaScalar(v)}`;
  if (Array.isArray(v)) return ' []';
  const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return ' {}';
  return `\n${entries.map(([k, x]) => `  ${metaScalar(k)}: ${metaScalar(x)}`).join('\n')}`;
}

/** A meta.yaml document: keys sorted, one per line. */
export function writeMeta(doc: Readonly<Record<string, MetaValue>>): string {
  return (
    Object.keys(doc)
      .sort()
      .map((k) => `${metaScalar(k)}:${valueText(doc[k] as MetaValue)}`)
      .join('\n') + '\n'
  );
}

/** A plain scalar as PyYAML resolves it (YAML 1.1 implicit types). */
function resolvePlain(s: string): unknown {
  const [bool, int, float, nul] = RESOLVES_TO_OTHER_TYPE;
  if (nul?.test(s)) return null;
  if (bool?.test(s)) return /^(yes|true|on)$/i.test(s);
  if (int?.test(s) && /^[-+]?\d+$/.test(s.replace(/_/g, ''))) return Number(s.replace(/_/g, ''));
  if (float?.test(s) && !s.includes(':')) {
    const n = Number(s.replace(/_/g, '').replace(/^([-+]?)\.(inf)$/i, '$1Infinity'));
    if (!Number.isNaN(n) || /nan/i.test(s)) return n;
  }
  return s;
}

function fromNode(node: unknown): unknown {
  if (isScalar(node)) {
    const v = String(node.value);
    return node.type === 'PLAIN' ? resolvePlain(v) : v;
  }
  if (isSeq(node)) return node.items.map(fromNode);
  if (isMap(node)) {
    const o: Record<string, unknown> = {};
    for (const pair of node.items) o[String(fromNode(pair.key))] = fromNode(pair.value);
    return o;
  }
  return null;
}

/**
 * Reads a meta.yaml as PyYAML would (YAML 1.1 implicit types on plain
 * scalars only: `1e3` stays a string, as PyYAML reads it) into a plain
 * object; throws when it is not a mapping.
 */
export function readMeta(text: string, file: string): Record<string, unknown> {
  const doc = parseDocument(text, { schema: 'failsafe' });
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
  const v = fromNode(doc.contents);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}: not a YAML mapping`);
  return v as Record<string, unknown>;
}

export function metaString(doc: Record<string, unknown>, key: string): string | undefined {
  const v = doc[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

export function metaNumber(doc: Record<string, unknown>, key: string): number | undefined {
  const v = doc[key];
  return typeof v === 'number' ? v : undefined;
}
