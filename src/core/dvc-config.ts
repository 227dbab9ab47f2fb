import { formatKeyLine, formatSectionLine, unquoteConfigObj } from './configobj.js';
import { ReprodError } from './errors.js';

/**
 * `.dvc/config` in DVC's own format (configobj INI): `[core]`,
 * `['remote "name"']`, `key = value`, `#` comments. Sections map to objects.
 */
export type DvcConfig = Map<string, Map<string, string>>;

const SECTION_RE = /^\s*\[\s*(?:'([^']*)'|"([^"]*)"|([^\]]*?))\s*\]\s*$/;

/**
 * Parses the file as configobj reads it. As configobj, a section named twice
 * is refused (DVC then fails with "Duplicate section name at line N"), and
 * so is a key repeated in one section. `lines`, when given, receives the line
 * of each `section\0key` (for errors about a key's meaning, found later).
 */
export function parseDvcConfig(text: string, file: string, lines?: Map<string, number>): DvcConfig {
  const config: DvcConfig = new Map();
  let section: Map<string, string> | undefined;
  let sectionName = '';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const m = SECTION_RE.exec(line);
    if (m) {
      const name = (m[1] ?? m[2] ?? m[3] ?? '').trim();
      if (config.has(name)) {
        throw new ReprodError('CONFIG', `Duplicate section name at line ${i + 1}: [${name}] is already above`, {
          source: { file, line: i + 1, key: name },
          remedy: `Merge the two [${name}] sections into one: DVC (configobj) refuses the file too.`,
        });
      }
      section = new Map();
      sectionName = name;
      config.set(name, section);
      return;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !section) {
      throw new ReprodError('CONFIG', `cannot read line ${i + 1}: '${line}'`, { source: { file, line: i + 1 } });
    }
    const rawKey = line.slice(0, eq).trim();
    const key = unquoteConfigObj(rawKey) ?? rawKey;
    const value = unquoteConfigObj(line.slice(eq + 1));
    if (value === undefined) {
      throw new ReprodError('CONFIG', `cannot read the value of '${key}' on line ${i + 1}: a quote is not closed, or text follows it`, {
        source: { file, line: i + 1, key },
        remedy: 'Close the quote, or remove what follows the closing quote.',
      });
    }
    if (section.has(key)) {
      throw new ReprodError('CONFIG', `Duplicate keyword name at line ${i + 1}: '${key}' is already set in [${sectionName}]`, {
        source: { file, line: i + 1, key: `${sectionName}.${key}` },
        remedy: 'Keep one of the two lines: DVC (configobj) refuses the file too.',
      });
    }
    section.set(key, value);
    lines?.set(`${sectionName}\0${key}`, i + 1);
  });
  return config;
}

/**
 * The file's text as configobj writes it (DVC writes its config files
 * through configobj): sections in order, `[name]` quoted only where needed
 * (`['remote "x"']`), keys indented by four spaces, no blank lines, one
 * final newline (an empty config is one newline).
 */
export function formatDvcConfig(config: DvcConfig): string {
  const lines: string[] = [];
  for (const [name, section] of config) {
    lines.push(formatSectionLine(name));
    for (const [k, v] of section) lines.push(formatKeyLine(k, v));
  }
  return `${lines.join('\n')}\n`;
}

/** `config.local` (secrets, machine settings) overrides `config`, key by key. */
export function mergeDvcConfig(base: DvcConfig, local: DvcConfig): DvcConfig {
  const out: DvcConfig = new Map([...base].map(([k, v]) => [k, new Map(v)]));
  for (const [name, sec] of local) {
    const target = out.get(name) ?? new Map<string, string>();
    for (const [k, v] of sec) target.set(k, v);
    out.set(name, target);
  }
  return out;
}

export type LinkType = 'reflink' | 'copy' | 'hardlink' | 'symlink';

/** DVC's `cache.type`: a comma-separated preference list; default `reflink,copy`. */
export function cacheLinkTypes(config: DvcConfig): LinkType[] {
  const raw = config.get('cache')?.get('type') ?? 'reflink,copy';
  const types = raw
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of types) {
    if (!['reflink', 'copy', 'hardlink', 'symlink'].includes(t)) {
      throw new ReprodError('CONFIG', `unknown cache.type '${t}'`, {
        source: { file: '.dvc/config', key: 'cache.type' },
        remedy: 'Use reflink, copy, hardlink or symlink (comma-separated).',
      });
    }
  }
  return types as LinkType[];
}

/** DVC's two config files, as read: kept apart, since secrets may come only from `config.local`. */
export interface DvcConfigFiles {
  /** `.dvc/config`: shared, committed. */
  config: DvcConfig;
  /** `.dvc/config.local`: this machine's settings and secrets. */
  local: DvcConfig;
}
