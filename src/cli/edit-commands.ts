import type { Command } from 'commander';
import type { Io } from './io.js';

/*
 * The commands that edit the pipeline for the user, as DVC's do: `freeze`,
 * `unfreeze` and `remove`. Each takes the workspace lock (a daemon or a
 * `dvc` working on the workspace is waited for), and prints nothing on
 * success, as DVC prints nothing.
 */

const stageEdit = () => import('../app/stage-edit.js');

type Locked = (fn: () => Promise<number>) => Promise<number>;

/** `stageTargets` names the targets as the pipeline does (a bare name given in sub/ is `sub/dvc.yaml:name`). */
export function registerEditCommands(program: Command, io: Io, root: () => string, locked: Locked, stageTargets: (targets: string[]) => string[] = (t) => t): void {
  for (const [name, frozen] of [
    ['freeze', true],
    ['unfreeze', false],
  ] as const) {
    program
      .command(name)
      .description(
        frozen
          ? 'mark stages frozen in dvc.yaml, as `dvc freeze`: status and repro leave them as they are'
          : 'take `frozen` off stages in dvc.yaml, as `dvc unfreeze`',
      )
      .argument('<targets...>', 'stages')
      .action(async (targets: string[]) => {
        io.exitCode = await locked(async () => {
          await (await stageEdit()).freezeStages(root(), stageTargets(targets), frozen);
          return 0;
        });
      });
  }
  program
    .command('remove')
    .description('take stages out of dvc.yaml and dvc.lock, as `dvc remove`; their outputs stay (as plain files) unless --outs')
    .argument('<targets...>', 'stages, or a foreach/matrix group by its name')
    .option('--outs', 'delete the outputs of the stages as well')
    .action(async (targets: string[], o: { outs?: boolean }) => {
      io.exitCode = await locked(async () => {
        await (await stageEdit()).removeStages(root(), stageTargets(targets), { outs: o.outs === true });
        return 0;
      });
    });
}
