import { Option, type Command } from 'commander';
import { ReprodError } from '../core/errors.js';
import type { ConfigEdit, ConfigFilesInput, ConfigLevel } from '../app/config-files.js';
import type { Io } from './commands.js';

/*
 * `reprod remote …` and `reprod config …`, with DVC's arguments and flags:
 * they write `.dvc/config` (or, with --local, `.dvc/config.local`) as DVC
 * writes them. `--global` and `--system` are refused: reprod reads and
 * writes nothing outside the workspace.
 */

const configApp = () => import('../app/config-files.js');

interface LevelFlags {
  local?: boolean;
  project?: boolean;
  global?: boolean;
  system?: boolean;
}

function levelOf(o: LevelFlags): ConfigLevel | undefined {
  if (o.global || o.system) {
    throw new ReprodError('USAGE', `--${o.global ? 'global' : 'system'}: reprod writes only the workspace's .dvc/config and .dvc/config.local`, {
      remedy: 'Use --local for this machine\'s settings (secrets), or no flag for the shared .dvc/config; run `dvc config --global` for user-wide settings.',
    });
  }
  return o.local ? 'local' : o.project ? 'repo' : undefined;
}

function levelFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--local', 'use .dvc/config.local (this machine; the place for secrets)').conflicts(['project', 'global', 'system']))
    .addOption(new Option('--project', 'use .dvc/config (shared, committed; the default for writing)').conflicts(['global', 'system']))
    .addOption(new Option('--global', "the user's config (refused: outside the workspace)").hideHelp())
    .addOption(new Option('--system', 'the system config (refused: outside the workspace)').hideHelp());
}

/** Runs an edit against the workspace's files, writes what it changed, prints its lines. */
type Edits = Awaited<ReturnType<typeof configApp>>;

async function run(io: Io, root: string, cwd: string, fn: (m: Edits, input: ConfigFilesInput) => ConfigEdit): Promise<number> {
  const app = await configApp();
  const edit = await app.editWorkspaceConfig(root, cwd, (input) => fn(app, input));
  for (const line of edit.out) io.out(`${line}\n`);
  return edit.exit ?? 0;
}

export function registerConfigCommands(program: Command, io: Io, root: () => string): void {
  // relative paths on the command line are relative to the folder reprod works in (-C)
  const cwd = root;
  const remote = program.command('remote').description('add, change, remove and list DVC remotes (in .dvc/config, as `dvc remote`)');

  levelFlags(remote.command('add').description('add a remote'))
    .argument('<name>', 'the remote name')
    .argument('<url>', 'a path, s3://, gs://, azure://, ssh://, http(s)://, webdav(s)://…')
    .option('-d, --default', 'make it the default remote (core.remote)')
    .option('-f, --force', 'overwrite a remote of that name')
    .action(async (name: string, url: string, o: LevelFlags & { default?: boolean; force?: boolean }) => {
      const level = levelOf(o);
      io.exitCode = await run(io, root(), cwd(), (m, input) =>
        m.remoteAdd(input, name, url, { ...(level ? { level } : {}), default: o.default === true, force: o.force === true }),
      );
    });

  levelFlags(remote.command('modify').description("set or unset one of a remote's options"))
    .argument('<name>', 'the remote name')
    .argument('<option>', 'the option (url, endpointurl, user, password, …)')
    .argument('[value]', 'its value')
    .option('-u, --unset', 'remove the option')
    .action(async (name: string, option: string, value: string | undefined, o: LevelFlags & { unset?: boolean }) => {
      const level = levelOf(o);
      io.exitCode = await run(io, root(), cwd(), (m, input) => m.remoteModify(input, name, option, value, { ...(level ? { level } : {}), unset: o.unset === true }));
    });

  levelFlags(remote.command('remove').description('remove a remote (and core.remote when it names it)'))
    .argument('<name>', 'the remote name')
    .action(async (name: string, o: LevelFlags) => {
      const level = levelOf(o);
      io.exitCode = await run(io, root(), cwd(), (m, input) => m.remoteRemove(input, name, level ? { level } : {}));
    });

  levelFlags(remote.command('rename').description('rename a remote'))
    .argument('<name>', 'the remote name')
    .argument('<new>', 'its new name')
    .action(async (name: string, to: string, o: LevelFlags) => {
      const level = levelOf(o);
      io.exitCode = await run(io, root(), cwd(), (m, input) => m.remoteRename(input, name, to, level ? { level } : {}));
    });

  levelFlags(remote.command('default').description('print, set or unset the default remote (core.remote)'))
    .argument('[name]', 'the remote to make the default')
    .option('-u, --unset', 'unset the default remote')
    .action(async (name: string | undefined, o: LevelFlags & { unset?: boolean }) => {
      const level = levelOf(o);
      io.exitCode = await run(io, root(), cwd(), (m, input) => m.remoteDefault(input, name, { ...(level ? { level } : {}), unset: o.unset === true }));
    });

  levelFlags(remote.command('list').description('list the remotes: name and url'))
    .action(async (o: LevelFlags) => {
      const level = levelOf(o);
      io.exitCode = await run(io, root(), cwd(), (m, input) => m.remoteList(input, level ? { level } : {}));
    });

  levelFlags(program.command('config').description('get, set, unset or list DVC config options (as `dvc config`; secrets print as ***)'))
    .argument('[name]', 'section.option or remote.name.option')
    .argument('[value]', 'the value to set')
    .option('-u, --unset', 'remove the option')
    .option('-l, --list', 'list every option set')
    .option('--show-origin', 'prefix each value with the file it comes from')
    .action(async (name: string | undefined, value: string | undefined, o: LevelFlags & { unset?: boolean; list?: boolean; showOrigin?: boolean }) => {
      const level = levelOf(o);
      io.exitCode = await run(io, root(), cwd(), (m, input) =>
        m.configCommand(input, name, value, { ...(level ? { level } : {}), unset: o.unset === true, list: o.list === true, showOrigin: o.showOrigin === true }),
      );
    });
}
