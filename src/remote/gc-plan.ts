import { isDirOid, oidOfKey } from './layout.js';

/**
 * What `gc` removes: every object under `files/md5/` that no used oid names
 * (DVC's `gc -w`, with `used` already expanded to the files of each used
 * directory). Listings go first, as DVC removes them, so that an interrupted
 * gc never leaves a listing whose files are gone. Keys that are not objects
 * (temporary files of a transfer, perhaps still running) are left alone. Run-cache
 * entries (`runs/`) are kept: DVC's gc keeps them, and a stage whose entry
 * names a removed object simply runs again.
 */
export function gcPlan(keys: Iterable<string>, used: ReadonlySet<string>): { remove: string[]; kept: number } {
  const dirs: string[] = [];
  const files: string[] = [];
  let kept = 0;
  for (const key of keys) {
    const oid = oidOfKey(key);
    if (oid === undefined) continue;
    if (used.has(oid)) {
      kept++;
      continue;
    }
    (isDirOid(oid) ? dirs : files).push(key);
  }
  return { remove: [...dirs.sort(), ...files.sort()], kept };
}
