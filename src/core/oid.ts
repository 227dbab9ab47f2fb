/**
 * What an object id (oid) is: the md5 as dvc.lock, `.dvc` files and `.dir`
 * listings record it, 32 lowercase hex digits, plus `.dir` for a directory
 * listing. Here, below every reader of those files (lock/ checks dvc.lock,
 * remote/ listings and run-cache entries, the cache its arguments), because
 * an oid becomes a path in the cache and on a remote: remote/layout.ts
 * spells those paths out.
 */

const OID_RE = /^[0-9a-f]{32}(\.dir)?$/;
const FILE_MD5_RE = /^[0-9a-f]{32}$/;

export function isOid(s: string): boolean {
  return OID_RE.test(s);
}

/**
 * Why a recorded md5 cannot name an object, or undefined when it can.
 * Anything but 32 lowercase hex digits (plus `.dir` where a directory is
 * meant) could climb out of the cache or the remote (`../../etc/hostname`),
 * so it is refused wherever one is read. `kind: 'file'` is a row of a
 * listing, which never names a directory; `'any'` is an output's, which may
 * be either.
 */
export function oidProblem(oid: string, kind: 'file' | 'any' = 'any'): string | undefined {
  if (kind === 'file' ? FILE_MD5_RE.test(oid) : OID_RE.test(oid)) return undefined;
  if (kind === 'file' && OID_RE.test(oid)) return `'${oid}' names a directory listing where a file is meant`;
  return `'${oid}' is not an md5: DVC writes 32 lowercase hex digits${kind === 'file' ? '' : ' (with .dir for a directory)'}`;
}
