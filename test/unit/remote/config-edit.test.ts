import { describe, expect, it } from 'vitest';
import { formatDvcConfig, parseDvcConfig } from '../../../src/core/dvc-config.js';
import {
  configCommand,
  remoteAdd,
  remoteDefault,
  remoteList,
  remoteModify,
  remoteRemove,
  remoteRename,
  type ConfigEdit,
  type ConfigFilesInput,
} from '../../../src/remote/config-edit.js';
import { thrown as caught } from '../../helpers/thrown.js';

function files(config = '', local = '', cwd = '/ws'): ConfigFilesInput {
  return { config: parseDvcConfig(config, '.dvc/config'), local: parseDvcConfig(local, '.dvc/config.local'), dvcDir: '/ws/.dvc', cwd };
}

function text(edit: ConfigEdit, level: 'repo' | 'local'): string | undefined {
  const c = edit.writes[level];
  return c === undefined ? undefined : formatDvcConfig(c);
}

const STORE = `[core]\n    remote = store\n['remote "store"']\n    url = s3://b/p\n`;

describe('remote add / modify / remove / rename / default / list, as dvc/commands/remote.py', () => {
  it('add -d writes [core] first and the remote section last, and says so', () => {
    const edit = remoteAdd(files(), 'store', 's3://b/p', { default: true });
    expect(text(edit, 'repo')).toBe(STORE);
    expect(edit.writes.local).toBeUndefined();
    expect(edit.out).toEqual(["Setting 'store' as a default remote."]);
  });

  it('keeps existing sections in order and puts named sections after plain ones, lower-casing names', () => {
    const edit = remoteAdd(files(`['remote "Old"']\n    URL = /x\n[cache]\n    type = "reflink,copy"\n`), 'new', 'gs://b');
    expect(text(edit, 'repo')).toBe(`[cache]\n    type = "reflink,copy"\n['remote "old"']\n    url = /x\n['remote "new"']\n    url = gs://b\n`);
  });

  it('refuses an existing name unless -f, which replaces the whole section', () => {
    expect(caught(() => remoteAdd(files(STORE), 'store', 's3://c')).message).toMatch(/remote 'store' already exists/);
    expect(text(remoteAdd(files(`['remote "store"']\n    url = s3://b\n    region = x\n`), 'store', 's3://c', { force: true }), 'repo')).toBe(`['remote "store"']\n    url = s3://c\n`);
  });

  it('keeps a relative local path relative to .dvc/, from where the command runs', () => {
    expect(text(remoteAdd(files(), 'here', '../store'), 'repo')).toBe(`['remote "here"']\n    url = ../../store\n`);
    expect(text(remoteAdd(files('', '', '/ws/sub'), 'here', 'store'), 'repo')).toBe(`['remote "here"']\n    url = ../sub/store\n`);
  });

  it('modify --local writes only the option in config.local; the shared file is left as it was', () => {
    const edit = remoteModify(files(STORE), 'store', 'secret_access_key', 'X', { level: 'local' });
    expect(text(edit, 'local')).toBe(`['remote "store"']\n    secret_access_key = X\n`);
    expect(edit.writes.repo).toBeUndefined();
  });

  it('refuses a secret (or a URL with a password) in the committed .dvc/config, naming the command to use', () => {
    const err = caught(() => remoteModify(files(STORE), 'store', 'secret_access_key', 'S3CR3T'));
    expect(err.format()).toContain('.dvc/config: remote.store.secret_access_key');
    expect(err.format()).toContain('reprod remote modify --local store secret_access_key');
    expect(err.format()).not.toContain('S3CR3T');
    expect(caught(() => remoteAdd(files(), 'h', 'https://me:pw@example.com/dvc')).code).toBe('CONFIG');
  });

  it("refuses an option the remote's scheme does not have, and a value of the wrong type", () => {
    expect(caught(() => remoteModify(files(STORE), 'store', 'keyfile', '/k')).message).toMatch(/'keyfile' is not an option of s3:\/\/ remotes/);
    expect(caught(() => remoteModify(files(STORE), 'store', 'jobs', 'many')).message).toMatch(/expected a whole number of at least 1/);
    expect(caught(() => remoteModify(files(STORE), 'nope', 'region', 'x')).message).toBe("remote 'nope' doesn't exist");
    expect(caught(() => remoteAdd(files(), 'x', 'foo://b')).message).toMatch(/unsupported URL type foo:\/\//);
  });

  it('modify -u removes the option', () => {
    expect(text(remoteModify(files(`['remote "s"']\n    url = s3://b\n    region = eu\n`), 's', 'region', undefined, { unset: true }), 'repo')).toBe(`['remote "s"']\n    url = s3://b\n`);
  });

  it('remove drops the section and core.remote where it names it, in config.local too', () => {
    const edit = remoteRemove(files(STORE, `[core]\n    remote = store\n['remote "store"']\n    password = p\n`), 'store');
    expect(text(edit, 'repo')).toBe('\n');
    expect(text(edit, 'local')).toBe(`['remote "store"']\n    password = p\n`);
    expect(caught(() => remoteRemove(files(), 'store')).message).toBe("remote 'store' doesn't exist");
  });

  it('rename moves the section and the default', () => {
    expect(text(remoteRename(files(STORE), 'store', 'origin'), 'repo')).toBe(`[core]\n    remote = origin\n['remote "origin"']\n    url = s3://b/p\n`);
  });

  it('default prints, sets (only a known remote) and unsets core.remote', () => {
    expect(remoteDefault(files(STORE), undefined)).toEqual({ writes: {}, out: ['store'] });
    expect(remoteDefault(files(), undefined)).toEqual({ writes: {}, out: ['No default remote set'], exit: 1 });
    expect(caught(() => remoteDefault(files(), 'ghost')).code).toBe('CONFIG');
    expect(text(remoteDefault(files(STORE), undefined, { unset: true }), 'repo')).toBe(`['remote "store"']\n    url = s3://b/p\n`);
    expect(text(remoteDefault(files(STORE), 'store', { level: 'local' }), 'local')).toBe(`[core]\n    remote = store\n`);
  });

  it('list prints name<TAB>url, a relative path joined to .dvc/ as DVC shows it', () => {
    expect(remoteList(files(`${STORE}['remote "here"']\n    url = ../store\n`)).out).toEqual(['store\ts3://b/p', 'here\t/ws/.dvc/../store']);
  });
});

describe('config, as dvc/commands/config.py', () => {
  it('sets, gets and unsets section.option and remote.name.option', () => {
    expect(text(configCommand(files(), 'core.autostage', 'true'), 'repo')).toBe('[core]\n    autostage = true\n');
    expect(configCommand(files(STORE, `[core]\n    remote = other\n`), 'core.remote', undefined).out).toEqual(['other']);
    expect(configCommand(files(STORE), 'core.remote', undefined, { level: 'repo' }).out).toEqual(['store']);
    expect(text(configCommand(files(STORE), 'remote.store.region', 'eu-west-1'), 'repo')).toBe(`${STORE}    region = eu-west-1\n`);
    expect(text(configCommand(files(STORE), 'core.remote', undefined, { unset: true }), 'repo')).toBe(`['remote "store"']\n    url = s3://b/p\n`);
  });

  it("refuses what DVC's schema refuses, naming the key", () => {
    expect(caught(() => configCommand(files(), 'core.nosuch', 'x')).source?.key).toBe('core.nosuch');
    expect(caught(() => configCommand(files(), 'nosuch.key', 'x')).message).toMatch(/not a section/);
    expect(caught(() => configCommand(files(), 'core.autostage', 'maybe')).message).toMatch(/true or false/);
    expect(caught(() => configCommand(files(), 'core.remote', undefined, { unset: true })).message).toBe("section 'core' doesn't exist");
    expect(caught(() => configCommand(files(), 'nodot', undefined)).code).toBe('USAGE');
  });

  it('-l lists each level, named sections first, secrets as ***', () => {
    const out = configCommand(files(STORE, `['remote "store"']\n    secret_access_key = S3CR3T\n`), undefined, undefined, { list: true, showOrigin: true }).out;
    expect(out).toEqual(['.dvc/config\tremote.store.url=s3://b/p', '.dvc/config\tcore.remote=store', '.dvc/config.local\tremote.store.secret_access_key=***']);
    expect(configCommand(files(STORE, `['remote "store"']\n    secret_access_key = S3CR3T\n`), 'remote.store.secret_access_key', undefined).out).toEqual(['***']);
  });
});
