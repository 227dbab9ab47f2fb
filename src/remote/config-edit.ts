import path from 'node:path';
import type { DvcConfig } from '../core/dvc-config.js';
import { ReprodError } from '../core/errors.js';
import { checkRemoteKey, checkSectionKey, SECRET_KEYS, urlHasPassword } from './config-schema.js';

/**
 * `reprod remote …` and `reprod config …` as pure edits of DVC's two
 * workspace config files, following dvc/commands/remote.py,
 * dvc/commands/config.py and `Config.edit` in dvc/config.py: the level's
 * file is read (keys and section names lower-cased), changed, and written
 * whole, empty plain sections dropped, `['remote "x"']` sections last;
 * paths (a local remote's url, keyfile, …) are kept relative to `.dvc/`.
 * The global and system levels are not offered: reprod writes only inside
 * the workspace.
 */

export type ConfigLevel = 'repo' | 'local';

export const LEVEL_FILE: Readonly<Record<ConfigLevel, string>> = { repo: '.dvc/config', local: '.dvc/config.local' };

export interface ConfigFilesInput {
  config: DvcConfig;
  local: DvcConfig;
  /** Absolute `.dvc/`: relative paths in the files are relative to it. */
  dvcDir: string;
  /** Absolute folder the command runs in: relative paths given on the command line are relative to it. */
  cwd: string;
}

/** What an edit produced: the files to write (whole) and the lines to print. */
export interface ConfigEdit {
  writes: Partial<Record<ConfigLevel, DvcConfig>>;
  out: string[];
  /** Non-zero when the command reports a failure without an error (`remote default` with none set). */
  exit?: number;
}

const NAMED = ['remote', 'machine', 'db'] as const;
type NamedKind = (typeof NAMED)[number];

/** One level's file as DVC holds it: plain sections, and the named ones by kind. */
interface Conf {
  plain: Map<string, Map<string, string>>;
  named: Record<NamedKind, Map<string, Map<string, string>>>;
}

/** Keys whose values are paths, relative to the config file's folder. */
const PATH_KEYS = new Set(['url', 'gdrive_user_credentials_file', 'gdrive_service_account_json_file_path', 'credentialpath', 'keyfile', 'cert_path', 'key_path']);

function isPathKey(kind: NamedKind | 'plain', section: string, key: string): boolean {
  return kind === 'plain' ? section === 'cache' && key === 'dir' : kind === 'remote' && PATH_KEYS.has(key);
}

function isRelativePath(v: string): boolean {
  return !/^\w+:\/\//.test(v) && !path.isAbsolute(v);
}

function emptyConf(): Conf {
  return { plain: new Map(), named: { remote: new Map(), machine: new Map(), db: new Map() } };
}

/** DVC's `_lower_keys` and `_parse_named`. */
function load(file: DvcConfig): Conf {
  const conf = emptyConf();
  for (const [rawName, section] of file) {
    const lowered = new Map([...section].map(([k, v]) => [k.toLowerCase(), v]));
    const name = rawName.toLowerCase();
    const m = /^\s*(remote|machine|db)\s*"(.*)"\s*$/.exec(name);
    const target = m ? conf.named[m[1] as NamedKind] : conf.plain;
    const key = m ? (m[2] as string) : name;
    target.set(key, new Map([...(target.get(key) ?? []), ...lowered]));
  }
  return conf;
}

/** DVC's `_pack_named` and `_save_paths`: what the level's file will hold. */
function pack(conf: Conf, dvcDir: string): DvcConfig {
  const rel = (v: string) => (isRelativePath(v) ? path.relative(dvcDir, path.resolve(dvcDir, v)) || '.' : v);
  const out: DvcConfig = new Map();
  for (const [name, section] of conf.plain) {
    if (section.size === 0) continue;
    out.set(name, new Map([...section].map(([k, v]) => [k, isPathKey('plain', name, k) ? rel(v) : v])));
  }
  for (const kind of NAMED) {
    for (const [name, section] of conf.named[kind]) {
      out.set(`${kind} "${name}"`, new Map([...section].map(([k, v]) => [k, isPathKey(kind, name, k) ? rel(v) : v])));
    }
  }
  return out;
}

/** DVC's `merge`, section by section and key by key. */
function merged(...confs: Conf[]): Conf {
  const out = emptyConf();
  for (const c of confs) {
    for (const [n, s] of c.plain) out.plain.set(n, new Map([...(out.plain.get(n) ?? []), ...s]));
    for (const kind of NAMED) for (const [n, s] of c.named[kind]) out.named[kind].set(n, new Map([...(out.named[kind].get(n) ?? []), ...s]));
  }
  return out;
}

/** Reads the files once; every command works on this. */
class Files {
  readonly repo: Conf;
  readonly local: Conf;

  constructor(readonly input: ConfigFilesInput) {
    this.repo = load(input.config);
    this.local = load(input.local);
  }

  level(l: ConfigLevel): Conf {
    return l === 'repo' ? this.repo : this.local;
  }

  /** DVC's `load_config_to_level(level)`: the levels below `level` merged. */
  below(l: ConfigLevel): Conf {
    return l === 'repo' ? emptyConf() : this.repo;
  }

  /** DVC's `read(level)`: one level, or (none given) all merged. */
  read(l: ConfigLevel | undefined): Conf {
    return l === undefined ? merged(this.repo, this.local) : this.level(l);
  }

  /** A value for display: a relative path is shown joined to `.dvc/`, as DVC shows it. */
  shown(kind: NamedKind | 'plain', section: string, key: string, value: string): string {
    if (SECRET_KEYS.has(key)) return '***';
    if (key === 'url' && urlHasPassword(value)) return value.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/, '$1:***@');
    return isPathKey(kind, section, key) && isRelativePath(value) ? `${this.input.dvcDir}/${value}` : value;
  }

  /** A path given on the command line, relative to where the command runs, as a path relative to `.dvc/`. */
  fromCommandLine(value: string): string {
    return isRelativePath(value) ? path.relative(this.input.dvcDir, path.resolve(this.input.cwd, value)) || '.' : value;
  }

  write(edit: ConfigEdit, l: ConfigLevel): void {
    edit.writes[l] = pack(this.level(l), this.input.dvcDir);
  }
}

function checkName(name: string): void {
  if (name === '' || /["\n\r\]]/.test(name)) {
    throw new ReprodError('USAGE', `'${name}' cannot be a remote name`, { remedy: 'Use a name without quotes, brackets or line breaks.' });
  }
}

/** Secrets go only in `.dvc/config.local`: `.dvc/config` is committed. */
function checkSecret(level: ConfigLevel, what: string, key: string, value: string, remote?: string): void {
  if (level !== 'repo') return;
  if (SECRET_KEYS.has(key) || (key === 'url' && urlHasPassword(value))) {
    const command = remote !== undefined ? `reprod remote modify --local ${remote} ${key} …` : `reprod config --local ${what} …`;
    throw new ReprodError('CONFIG', `a secret does not belong in .dvc/config, which is shared and committed`, {
      source: { file: LEVEL_FILE.repo, key: what },
      remedy: `Keep it in .dvc/config.local: \`${command}\`.`,
    });
  }
}

function notFound(name: string, level: ConfigLevel | undefined): ReprodError {
  return new ReprodError('CONFIG', `remote '${name}' doesn't exist`, {
    source: { file: LEVEL_FILE[level ?? 'repo'] },
    remedy: 'See `reprod remote list`; add it with `reprod remote add <name> <url>`.',
  });
}

export interface RemoteAddOptions {
  level?: ConfigLevel;
  default?: boolean;
  force?: boolean;
}

/** `reprod remote add [-d] [-f] [--local] NAME URL`. */
export function remoteAdd(input: ConfigFilesInput, rawName: string, url: string, opts: RemoteAddOptions = {}): ConfigEdit {
  const name = rawName.toLowerCase();
  checkName(name);
  const level = opts.level ?? 'repo';
  const f = new Files(input);
  const conf = f.level(level);
  const edit: ConfigEdit = { writes: {}, out: opts.default ? [`Setting '${name}' as a default remote.`] : [] };
  if (conf.named.remote.has(name) && !opts.force) {
    throw new ReprodError('CONFIG', `remote '${name}' already exists`, {
      source: { file: LEVEL_FILE[level], key: `remote.${name}` },
      remedy: `Use \`reprod remote add -f ${name} <url>\` to overwrite it, or \`reprod remote modify ${name} url <url>\`.`,
    });
  }
  const stored = f.fromCommandLine(url);
  checkSecret(level, `remote.${name}.url`, 'url', url, name);
  checkRemoteKey(name, stored, 'url', stored, LEVEL_FILE[level]);
  conf.named.remote.set(name, new Map([['url', stored]]));
  if (opts.default) setPlain(conf, 'core', 'remote', name);
  f.write(edit, level);
  return edit;
}

function setPlain(conf: Conf, section: string, key: string, value: string): void {
  const s = conf.plain.get(section) ?? new Map<string, string>();
  s.set(key, value);
  conf.plain.set(section, s);
}

/** `reprod remote modify [--local] NAME OPTION VALUE`, or `-u NAME OPTION`. */
export function remoteModify(input: ConfigFilesInput, rawName: string, rawOption: string, value: string | undefined, opts: { level?: ConfigLevel; unset?: boolean } = {}): ConfigEdit {
  const name = rawName.toLowerCase();
  const option = rawOption.toLowerCase();
  const level = opts.level ?? 'repo';
  const f = new Files(input);
  const conf = f.level(level);
  const all = merged(f.below(level), conf);
  const existing = all.named.remote.get(name);
  if (!existing) throw notFound(name, level);
  const section = conf.named.remote.get(name) ?? new Map<string, string>();
  conf.named.remote.set(name, section);
  if (opts.unset) {
    section.delete(option);
  } else {
    if (value === undefined) throw new ReprodError('USAGE', `remote modify ${name} ${option}: no value given`, { remedy: `Give one, or unset the option with \`reprod remote modify -u ${name} ${option}\`.` });
    const stored = isPathKey('remote', name, option) ? f.fromCommandLine(value) : value;
    checkSecret(level, `remote.${name}.${option}`, option, value, name);
    const url = option === 'url' ? stored : existing.get('url');
    checkRemoteKey(name, url, option, stored, LEVEL_FILE[level]);
    section.set(option, stored);
  }
  const edit: ConfigEdit = { writes: {}, out: [] };
  f.write(edit, level);
  return edit;
}

/** `reprod remote remove [--local] NAME`: also clears `core.remote` where it names the remote, in this level and the ones above it. */
export function remoteRemove(input: ConfigFilesInput, rawName: string, opts: { level?: ConfigLevel } = {}): ConfigEdit {
  const name = rawName.toLowerCase();
  const level = opts.level ?? 'repo';
  const f = new Files(input);
  const conf = f.level(level);
  if (!conf.named.remote.has(name)) throw notFound(name, level);
  conf.named.remote.delete(name);
  const edit: ConfigEdit = { writes: {}, out: [] };
  // DVC walks the levels from the most local down to the one edited, rewriting each
  for (const l of level === 'repo' ? (['local', 'repo'] as const) : (['local'] as const)) {
    const core = f.level(l).plain.get('core');
    if (core?.get('remote') === name) core.delete('remote');
    f.write(edit, l);
  }
  return edit;
}

/** `reprod remote rename [--local] OLD NEW`. */
export function remoteRename(input: ConfigFilesInput, rawOld: string, rawNew: string, opts: { level?: ConfigLevel } = {}): ConfigEdit {
  const from = rawOld.toLowerCase();
  const to = rawNew.toLowerCase();
  checkName(to);
  const level = opts.level ?? 'repo';
  const f = new Files(input);
  if (f.read(undefined).named.remote.has(to)) {
    throw new ReprodError('CONFIG', `cannot rename: remote '${to}' already exists`, { remedy: 'Pick another name, or remove that remote first.' });
  }
  const conf = f.level(level);
  const section = conf.named.remote.get(from);
  if (!section) throw notFound(from, level);
  conf.named.remote.set(to, section);
  conf.named.remote.delete(from);
  const edit: ConfigEdit = { writes: {}, out: [] };
  // the level edited, then (as DVC) each level above it, whose default may name the remote
  for (const l of level === 'repo' ? (['repo', 'local'] as const) : (['local'] as const)) {
    const core = f.level(l).plain.get('core');
    if (core?.get('remote') === from) core.set('remote', to);
    f.write(edit, l);
  }
  return edit;
}

/** `reprod remote default [--local] [NAME]` (or `-u`): prints the default, or sets or unsets it. */
export function remoteDefault(input: ConfigFilesInput, rawName: string | undefined, opts: { level?: ConfigLevel; unset?: boolean } = {}): ConfigEdit {
  const f = new Files(input);
  if (rawName === undefined && !opts.unset) {
    const current = f.read(opts.level).plain.get('core')?.get('remote');
    return current === undefined ? { writes: {}, out: ['No default remote set'], exit: 1 } : { writes: {}, out: [current] };
  }
  const level = opts.level ?? 'repo';
  const conf = f.level(level);
  if (opts.unset) {
    conf.plain.get('core')?.delete('remote');
  } else {
    const name = (rawName as string).toLowerCase();
    if (!merged(f.below(level), conf).named.remote.has(name)) {
      throw new ReprodError('CONFIG', `default remote '${name}' must be present in the remote list`, { remedy: 'Add it first: `reprod remote add <name> <url>`.' });
    }
    setPlain(conf, 'core', 'remote', name);
  }
  const edit: ConfigEdit = { writes: {}, out: [] };
  f.write(edit, level);
  return edit;
}

/** `reprod remote list [--local|--project]`: `name<TAB>url` per remote. */
export function remoteList(input: ConfigFilesInput, opts: { level?: ConfigLevel } = {}): ConfigEdit {
  const f = new Files(input);
  const out = [...f.read(opts.level).named.remote].map(([name, s]) => `${name}\t${f.shown('remote', name, 'url', s.get('url') ?? '')}`);
  return { writes: {}, out };
}

/** `remote.NAME.OPTION` or `SECTION.OPTION`, as DVC's `_name_type` splits it. */
function splitName(raw: string): { kind: 'remote' | 'db' | undefined; section: string; option: string } {
  const m = /^(remote\.|db\.)?([^.]+)\.(.+)$/.exec(raw);
  if (!m) throw new ReprodError('USAGE', `'${raw}': a config name looks like remote.name.option or section.option`);
  return { kind: m[1] ? (m[1].slice(0, -1) as 'remote' | 'db') : undefined, section: (m[2] as string).toLowerCase(), option: (m[3] as string).toLowerCase() };
}

function flatten(f: Files, conf: Conf): string[] {
  const lines: string[] = [];
  for (const kind of NAMED) {
    for (const [n, s] of conf.named[kind]) for (const [k, v] of s) lines.push(`${kind}.${n}.${k}=${f.shown(kind, n, k, v)}`);
  }
  for (const [n, s] of conf.plain) for (const [k, v] of s) lines.push(`${n}.${k}=${f.shown('plain', n, k, v)}`);
  return lines;
}

export interface ConfigCommandOptions {
  level?: ConfigLevel;
  unset?: boolean;
  list?: boolean;
  showOrigin?: boolean;
}

/**
 * `reprod config`: `-l` lists (each level, or one), `NAME` prints the
 * value (the most local level that has it), `NAME VALUE` sets it and
 * `--unset NAME` removes it (in `.dvc/config` unless `--local`). Secrets
 * are printed as `***`: they are read in `.dvc/config.local` itself.
 */
export function configCommand(input: ConfigFilesInput, name: string | undefined, value: string | undefined, opts: ConfigCommandOptions = {}): ConfigEdit {
  const f = new Files(input);
  const levels: ConfigLevel[] = opts.level ? [opts.level] : ['repo', 'local'];
  const prefix = (l: ConfigLevel) => (opts.showOrigin ? `${LEVEL_FILE[l]}\t` : '');
  if (opts.list) {
    if (name !== undefined || value !== undefined || opts.unset) {
      throw new ReprodError('USAGE', "-l/--list can't be used together with any of these options: -u/--unset, name, value");
    }
    return { writes: {}, out: levels.flatMap((l) => flatten(f, f.level(l)).map((line) => `${prefix(l)}${line}`)) };
  }
  if (name === undefined) throw new ReprodError('USAGE', 'name argument is required');
  const { kind, section, option } = splitName(name);
  const sections = (c: Conf) => (kind ? c.named[kind] : c.plain);
  const what = kind ? `${kind} '${section}'` : `section '${section}'`;
  const missing = (l: ConfigLevel, c: Conf) => {
    const s = sections(c).get(section);
    if (!s) return new ReprodError('CONFIG', `${what} doesn't exist`, { source: { file: LEVEL_FILE[l], key: name } });
    if (!s.has(option)) return new ReprodError('CONFIG', `option '${option}' doesn't exist in ${what}`, { source: { file: LEVEL_FILE[l], key: name } });
    return undefined;
  };
  if (value === undefined && !opts.unset) {
    for (const l of [...levels].reverse()) {
      const c = f.level(l);
      const err = missing(l, c);
      if (err) {
        if (opts.level) throw err;
        continue;
      }
      const v = sections(c).get(section)?.get(option) as string;
      return { writes: {}, out: [`${prefix(l)}${f.shown(kind ?? 'plain', section, option, v)}`] };
    }
    return { writes: {}, out: [] };
  }
  const level = opts.level ?? 'repo';
  const conf = f.level(level);
  if (opts.unset) {
    const err = missing(level, conf);
    if (err) throw err;
    sections(conf).get(section)?.delete(option);
  } else {
    const v = value as string;
    if (kind === 'remote') {
      const all = merged(f.below(level), conf).named.remote.get(section);
      if (!all) throw notFound(section, level);
      const stored = isPathKey('remote', section, option) ? f.fromCommandLine(v) : v;
      checkSecret(level, name, option, v, section);
      checkRemoteKey(section, option === 'url' ? stored : all.get('url'), option, stored, LEVEL_FILE[level]);
      const s = conf.named.remote.get(section) ?? new Map<string, string>();
      s.set(option, stored);
      conf.named.remote.set(section, s);
    } else if (kind === 'db') {
      if (!['url', 'username', 'password'].includes(option)) throw new ReprodError('CONFIG', `'${option}' is not an option of db sections`, { source: { file: LEVEL_FILE[level], key: name } });
      checkSecret(level, name, option, v);
      const s = conf.named.db.get(section) ?? new Map<string, string>();
      s.set(option, v);
      conf.named.db.set(section, s);
    } else {
      checkSectionKey(section, option, v, LEVEL_FILE[level]);
      checkSecret(level, name, option, v);
      setPlain(conf, section, option, section === 'cache' && option === 'dir' ? f.fromCommandLine(v) : section === 'core' && option === 'remote' ? v.toLowerCase() : v);
    }
  }
  const edit: ConfigEdit = { writes: {}, out: [] };
  f.write(edit, level);
  return edit;
}
