import { ReprodError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { checkoutTracked } from '../remote/checkout.js';
import type { Failure } from '../remote/data-sync.js';
import { isDirOid } from '../remote/layout.js';
import { cachedListings } from '../remote/listings.js';
import { selectTracked, type SkippedOut } from '../remote/tracked.js';
import { withProject } from './project.js';
import { loadTracked } from './tracked-data.js';

export interface CheckoutOptions {
  /** `-f`: overwrite (and delete) workspace files whose content is not in the cache. */
  force?: boolean;
  log?: Logger;
  /** The folder started in (workspace-relative, default the root): targets are read from there. */
  cwd?: string;
}

export interface CheckoutSummary {
  added: string[];
  modified: string[];
  /** Outputs whose objects are not (entirely) in the cache: left as they are. */
  failed: Failure[];
  /** Outputs recorded by DVC 2 (legacy layout), which reprod does not check out. */
  skipped: SkippedOut[];
}

/**
 * `reprod checkout [targets]`: makes the outputs recorded in dvc.lock and
 * the `.dvc` files match the workspace, from the cache, as `dvc checkout`
 * does (see remote/checkout.ts for what it refuses). Targets are stages,
 * `.dvc` files or tracked paths, read from `opts.cwd`; none means all.
 * Paths come back workspace-relative.
 */
export async function checkoutOutputs(root: string, targets: readonly string[], opts: CheckoutOptions = {}): Promise<CheckoutSummary> {
  return withProject(root, opts.log, async (project) => {
    const data = await loadTracked(project);
    const outs = selectTracked(data.outs, data.select, targets, { cwd: opts.cwd });
    // a granular target needs its directory's listing, checked like every listing read from the cache
    const granular = [...new Set(outs.filter((o) => o.only !== undefined && isDirOid(o.oid)).map((o) => o.oid))];
    const { listings, refused } = await cachedListings(project.cache, granular);
    for (const [oid, problem] of refused) {
      const name = outs.find((o) => o.oid === oid)?.path ?? oid;
      throw new ReprodError('OBJECT_INVALID', `'${name}': its directory listing in the cache (${oid}) is not one DVC writes: ${problem}`);
    }
    const res = await checkoutTracked({ hasher: project.hasher, cache: project.cache, store: project.cache, ws: project.ws }, outs, listings, {
      force: opts.force === true,
    });
    await project.hasher.flush();
    return { ...res, skipped: data.skipped };
  });
}

/**
 * The error that ends a checkout some of whose outputs the cache lacks, once
 * the others are restored and reported; undefined when none is missing.
 */
export function notCheckedOutError(failed: readonly Failure[]): ReprodError | undefined {
  if (failed.length === 0) return undefined;
  return new ReprodError('CACHE', `not in the cache, so not checked out: ${failed.map((f) => f.name).join(', ')}`, {
    remedy: 'Run `reprod repro` to produce them, or pull them from a remote.',
  });
}
