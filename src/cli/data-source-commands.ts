import type { Command } from 'commander';
import { commandLogger } from '../app/logging.js';
import { pathFrom } from '../app/workspace-root.js';
import type { Io } from './io.js';

/*
 * `reprod add`: data tracked by a `.dvc` file, as `dvc add` tracks it. It
 * takes the workspace lock, and in a git repository prints what to
 * `git add`, as DVC does.
 */

type Locked = (fn: () => Promise<number>) => Promise<number>;

export function registerDataSourceCommands(program: Command, io: Io, opts: { root: () => string; cwd: () => string; verbose: () => boolean; locked: Locked }): void {
  program
    .command('add')
    .description('track files or folders with .dvc files, as `dvc add`: hashed, cached, and git-ignored in a git repository')
    .argument('<targets...>', 'files or folders of the workspace, from the folder started in')
    .action(async (targets: string[]) => {
      io.exitCode = await opts.locked(async () => {
        const cwd = opts.cwd();
        const res = await (await import('../app/add.js')).addData(opts.root(), targets, { log: commandLogger(opts.verbose()), cwd });
        // as DVC (dvc/repo/scm_context.py): the files to `git add`, from the folder started in
        const files = (res.gitAdd ?? []).map((p) => pathFrom(p, cwd)).sort();
        if (files.length > 0) io.out(`\nTo track the changes with git, run:\n\n\tgit add ${files.map(shellWord).join(' ')}\n`);
        return 0;
      });
    });
}

/** A path as a shell word (quoted only when it needs it, as Python's shlex.quote). */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`;
}
