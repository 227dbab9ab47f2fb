import path from 'node:path';
import { loadPipeline } from '../app/project.js';
import { dagOfTarget, dagToMermaid } from '../pipeline/dag-format.js';
import type { Io } from './commands.js';

/** `reprod dag --md [target]`: what `dvc dag --md` prints, a mermaid flowchart in a Markdown block. */
export async function commandDagMarkdown(io: Io, root: string, target: string | undefined): Promise<number> {
  const { dag } = loadPipeline(path.resolve(root));
  io.out(dagToMermaid(target ? dagOfTarget(dag, target) : dag, { markdown: true }));
  return 0;
}
