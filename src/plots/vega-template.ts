import { ReprodError } from '../core/errors.js';
import { isPyDict, PyFloat, type PyDict, type PyValue } from '../core/pyvalue.js';
import { anchor, TEMPLATES, type TemplateJson, type TemplateName } from './templates.js';

/**
 * A Vega-Lite template being filled, as dvc-render's `Template` does it
 * (dvc_render/vega_templates.py): anchors are strings `<DVC_METRIC_NAME>`; a
 * value equal to an anchor is replaced by the value given (any JSON), an
 * anchor inside a longer string of a mapping by the text given. Inside lists
 * only whole values are replaced. Every fill walks the whole content again,
 * so the order of fills is part of the result, as it is in DVC.
 */
export class Template {
  content: PyDict;

  constructor(
    readonly name: string,
    private readonly original: PyDict,
  ) {
    this.content = original;
  }

  reset(): void {
    this.content = this.original;
  }

  hasAnchor(name: string): boolean {
    return findValue(this.content, anchor(name));
  }

  fill(name: string, value: PyValue): void {
    this.content = replaceInDict(this.content, anchor(name), value);
  }
}

/** dvc-render's `escape_special_characters`: `.`, `[` and `]` in a field name are escaped for Vega. */
export function escapeField(v: string): string {
  return v.replace(/[.[\]]/g, (c) => `\\${c}`);
}

function replaceInDict(d: PyDict, name: string, value: PyValue): PyDict {
  const out: PyDict = new Map();
  for (const [k, v] of d) {
    if (isPyDict(v)) out.set(k, replaceInDict(v, name, value));
    else if (Array.isArray(v)) out.set(k, replaceInList(v, name, value));
    else if (typeof v === 'string' && v === name) out.set(k, value);
    else if (typeof v === 'string' && typeof value === 'string' && v.includes(name)) out.set(k, v.split(name).join(value));
    else out.set(k, v);
  }
  return out;
}

function replaceInList(l: PyValue[], name: string, value: PyValue): PyValue[] {
  return l.map((e) => {
    if (Array.isArray(e)) return replaceInList(e, name, value);
    if (isPyDict(e)) return replaceInDict(e, name, value);
    return typeof e === 'string' && e === name ? value : e;
  });
}

/** dvc-render's `find_value` (it looks into lists of a mapping, not into lists of lists). */
function findValue(d: PyValue, value: string): boolean {
  if (isPyDict(d)) {
    for (const v of d.values()) {
      if (isPyDict(v) && findValue(v, value)) return true;
      if (typeof v === 'string' && v === value) return true;
      if (Array.isArray(v) && v.some((e) => findValue(e, value))) return true;
    }
    return false;
  }
  return typeof d === 'string' && d === value;
}

/** A template's JSON as Python values: mappings in their order, non-integral numbers as floats. */
export function templateValue(v: TemplateJson): PyValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? v : new PyFloat(v);
  if (Array.isArray(v)) return v.map(templateValue);
  return new Map(Object.entries(v).map(([k, x]) => [k, templateValue(x)]));
}

export function isBuiltinTemplate(name: string): name is TemplateName {
  return Object.hasOwn(TEMPLATES, name);
}

/**
 * dvc-render's `get_template`: no name means `linear`; a custom template is
 * looked up first (the caller reads `.dvc/plots/NAME`, `.dvc/plots/NAME.json`,
 * then NAME as a path), then the built-in ones.
 */
export function getTemplate(name: string | undefined, custom: (name: string) => PyValue | undefined): Template {
  const wanted = name ?? 'linear';
  const found = custom(wanted);
  if (found !== undefined) {
    if (!isPyDict(found)) throw new ReprodError('PLOT', `template '${wanted}' is not a JSON object`);
    return new Template(wanted, found);
  }
  if (isBuiltinTemplate(wanted)) {
    const content = templateValue(TEMPLATES[wanted]());
    return new Template(wanted, content as PyDict);
  }
  throw new ReprodError('PLOT', `Template '${wanted}' not found.`);
}
