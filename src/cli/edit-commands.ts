import type { Command } from 'commander';
import type { Io } from './io.js';

/*
 * The commands that edit the pipeline for the user, as DVC's do: `freeze`,
 * `unfreeze` and `remove` (of stages, and of `.dvc` files). Each takes the
 * workspace lock (a daemon or a `dvc` working on the workspace is waited
 * for), and prints nothing on success, as DVC prints nothing.
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
    .description('take stages out of dvc.yaml and dvc.lock, or delete .dvc files, as `dvc remove`; their outputs stay (as plain files) unless --outs')
    .argument('<targets...>', 'stages, a foreach/matrix group by its name, or .dvc files')
    .option('--outs', 'delete the outputs as well')
    .action(async (targets: string[], o: { outs?: boolean }) => {
      io.exitCode = await locked(async () => {
        // `.dvc` files are data sources, not stages of dvc.yaml; both are named from the folder started in
        const resolved = stageTargets(targets);
        const files = resolved.filter((t) => t.endsWith('.dvc'));
        const stages = resolved.filter((t) => !t.endsWith('.dvc'));
        if (files.length > 0) await (await import('../app/add.js')).removeDataSources(root(), files, { outs: o.outs === true });
        if (stages.length > 0) await (await stageEdit()).removeStages(root(), stages, { outs: o.outs === true });
        return 0;
      });
    });
}
