import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../adapters/fs/atomic-file.js';
import { formatDvcConfig } from '../core/dvc-config.js';
import { isMissing } from '../core/errno.js';
import { LEVEL_FILE, type ConfigEdit, type ConfigFilesInput, type ConfigLevel } from '../remote/config-edit.js';
import { readDvcConfigFiles } from './project.js';

/** What `dvc init` puts in `.dvc/.gitignore`: config.local (secrets), tmp and the cache stay out of git. */
const DVC_GITIGNORE = '/config.local\n/tmp\n/cache\n';

/** The workspace's two config files, for an edit; `cwd` is where relative paths on the command line start. */
export function configFilesInput(root: string, cwd: string = root): ConfigFilesInput {
  return { ...readDvcConfigFiles(root), dvcDir: path.join(root, '.dvc'), cwd };
}

/**
 * `.dvc/config.local` holds secrets: `.dvc/.gitignore` must keep it out of
 * git. A workspace without `.dvc/` gets the `.gitignore` `dvc init` writes;
 * one whose `.gitignore` lacks the line gets it added.
 */
async function ignoreLocalConfig(dvcDir: string): Promise<void> {
  const file = path.join(dvcDir, '.gitignore');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (!isMissing(e)) throw e;
    await fs.writeFile(file, DVC_GITIGNORE);
    return;
  }
  if (text.split(/\r?\n/).some((l) => l.trim() === '/config.local' || l.trim() === 'config.local')) return;
  await fs.writeFile(file, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}/config.local\n`);
}

/**
 * Applies an edit's writes: each file whole, through a temporary file, so a
 * crash leaves the old config or the new one. `.dvc/` is created when the
 * workspace has none (reprod works without `dvc init`).
 */
export async function applyConfigEdit(root: string, edit: ConfigEdit): Promise<void> {
  const dvcDir = path.join(root, '.dvc');
  const levels = Object.keys(edit.writes) as ConfigLevel[];
  if (levels.length === 0) return;
  const fresh = !existsSync(dvcDir);
  await fs.mkdir(dvcDir, { recursive: true });
  if (fresh || levels.includes('local')) await ignoreLocalConfig(dvcDir);
  for (const l of levels) {
    const config = edit.writes[l];
    if (config === undefined) continue;
    const text = formatDvcConfig(config);
    // config.local holds secrets: readable by its owner only
    await writeFileAtomic(path.join(root, LEVEL_FILE[l]), (temp) => fs.writeFile(temp, text, { mode: l === 'local' ? 0o600 : 0o644 }));
  }
}

export type { ConfigEdit, ConfigFilesInput, ConfigLevel } from '../remote/config-edit.js';
export { configCommand, remoteAdd, remoteDefault, remoteList, remoteModify, remoteRemove, remoteRename } from '../remote/config-edit.js';

/** Reads the workspace's config files, applies `op`, writes what it changed; returns the edit (its lines to print, its exit code). */
export async function editWorkspaceConfig(root: string, cwd: string, op: (input: ConfigFilesInput) => ConfigEdit): Promise<ConfigEdit> {
  const edit = op(configFilesInput(root, cwd));
  await applyConfigEdit(root, edit);
  return edit;
}
