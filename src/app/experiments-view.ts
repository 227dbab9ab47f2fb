import type { ViewExperiment } from '../core/ports.js';

/**
 * The experiments the web view's table shows, newest first. The page shows
 * its Experiments section only when this returns rows. reprod has no
 * experiments yet (`reprod exp` is to come): until it has, there are none to
 * list; that command's reader is what belongs here then.
 */
export type ExperimentsReader = (root: string) => Promise<ViewExperiment[]>;

export const listExperiments: ExperimentsReader = () => Promise.resolve([]);
