import { createHash } from '../core/crypto.js';
import { getDotted, type PyValue } from '../core/pyvalue.js';
import { pyJsonDumpsSorted } from '../lock/py-json.js';
import type { StagePlan } from './stage-steps.js';

/**
 * A digest of what a stage's run depends on, as observed by a plan: its
 * command, the identity of what it runs in (`host`, a build context, an image), the content of every dep, and
 * the value of every param it reads. Outputs are left out on purpose: a failed
 * run removes them, and that must not count as a change of inputs.
 *
 * Two plans with the same fingerprint would run the same command on the same
 * bytes: a stage that exited non-zero stays failed until it changes, and a
 * running stage whose fingerprint changed is running on stale inputs.
 */
export function inputsFingerprint(plan: StagePlan): string {
  const { stage, obs } = plan;
  const deps: PyValue[] = stage.deps.map((d) => [d.path, obs.hashes.get(d.path)?.md5 ?? null]);
  const params: PyValue[] = stage.params.map((p) => {
    const file = obs.params.get(p.path);
    if (file === undefined || file === null) return [p.path, null];
    if (p.keys === null) return [p.path, file];
    return [p.path, p.keys.map((k): PyValue => {
      const v = getDotted(file, k);
      return v.found ? [k, v.value] : [k];
    })];
  });
  const cmd: PyValue = typeof stage.cmd === 'string' ? stage.cmd : [...stage.cmd];
  const text = pyJsonDumpsSorted([cmd, stage.wdir, plan.runtime.key ?? null, deps, params]);
  return createHash('sha256').update(text).digest('hex');
}
