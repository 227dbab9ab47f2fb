import { pathEscapeError, type ReprodError } from '../core/errors.js';
import type { Workspace } from '../core/ports.js';
import type { OutKind, Stage } from '../core/types.js';

const SECTION: Record<OutKind, string> = { out: 'outs', metric: 'metrics', plot: 'plots' };

/**
 * PATH_OUTSIDE for the first output of `stage` that lies under a symlinked
 * folder leading out of the workspace (or into `.git`/`.dvc`), naming the
 * stage, its file, key and line; undefined when every output stays inside.
 * Checked before a stage's outputs are removed, restored or committed, so
 * that such a stage fails having deleted and written nothing.
 */
export async function outsEscapeError(ws: Pick<Workspace, 'escapeOf'>, stage: Stage): Promise<ReprodError | undefined> {
  for (const out of stage.outs) {
    const esc = await ws.escapeOf(out.path);
    if (!esc) continue;
    return pathEscapeError(esc, {
      subject: `stage '${stage.name}': output`,
      source: { ...stage.source, key: `${stage.source.key ?? `stages.${stage.name}`}.${SECTION[out.kind]}` },
    });
  }
  return undefined;
}
