import { ReprodError } from '../core/errors.js';
import { isPyDict, type PyDict, type PyValue } from '../core/pyvalue.js';
import type { HashInfo } from '../core/types.js';
import { loadYaml } from '../pipeline/yaml-load.js';
import { emitYaml } from './yaml-emit.js';

/*
 * The text of a `.dvc` file as DVC 3 writes it, with the block YAML of
 * dvc.lock (yaml-emit.ts):
 *
 *   outs:
 *   - md5: 07526cd625dbb1c572ec0778e63f4545.dir
 *     size: 12
 *     nfiles: 3
 *     hash: md5
 *     path: raw
 *
 * An output's hash comes first, then its meta (size; nfiles for a directory;
 * `isexec: true` for an executable file), then `hash: md5`, then its path.
 */

/** The fields DVC writes for an output's content, in its order. */
const CONTENT_KEYS = ['md5', 'size', 'nfiles', 'isexec', 'hash'] as const;

function contentFields(info: HashInfo): Map<string, PyValue> {
  const m = new Map<string, PyValue>([
    ['md5', info.md5],
    ['size', info.size],
  ]);
  if (info.nfiles !== undefined) m.set('nfiles', info.nfiles);
  if (info.isexec === true) m.set('isexec', true);
  m.set('hash', 'md5');
  return m;
}

/** A new `.dvc` file for one output (`path` relative to the file's folder), as `dvc add` writes it. */
export function newDvcFileText(defPath: string, info: HashInfo): string {
  const out = contentFields(info);
  out.set('path', defPath);
  return emitYaml(new Map<string, PyValue>([['outs', [out]]]));
}

/**
 * The file with the outputs at the indices of `hashes` recorded anew, as DVC
 * rewrites a `.dvc` file when it commits its outputs: every other key stays
 * where it was (desc, remote, push, frozen, meta...), a content field the new
 * hash lacks goes (`nfiles` of a directory that is now a file), one it gains
 * is added after the output's other keys, and a top-level `md5` (DVC 2's
 * stage checksum, which data sources no longer carry) is dropped. Comments
 * do not survive: the file is written again from its values.
 */
export function updatedDvcFileText(text: string, file: string, hashes: ReadonlyMap<number, HashInfo>): string {
  const root = loadYaml(text, file).value;
  if (!isPyDict(root)) throw new ReprodError('SCHEMA', 'a .dvc file must be a mapping', { source: { file } });
  const outs = root.get('outs');
  if (!Array.isArray(outs)) throw new ReprodError('SCHEMA', "'outs' must be a list", { source: { file, key: 'outs' } });
  const next = new Map<string, PyValue>();
  for (const [k, v] of root) {
    if (k === 'md5') continue;
    next.set(
      k,
      k !== 'outs'
        ? v
        : outs.map((o, i) => {
            const info = hashes.get(i);
            return info === undefined || !isPyDict(o) ? o : recorded(o, contentFields(info));
          }),
    );
  }
  return emitYaml(next);
}

/** `old` with its content fields replaced by `fields`, kept in `old`'s order; new ones appended. */
function recorded(old: PyDict, fields: ReadonlyMap<string, PyValue>): PyDict {
  const isContent = (k: string) => (CONTENT_KEYS as readonly string[]).includes(k);
  const out = new Map<string, PyValue>();
  for (const [k, v] of old) {
    if (!isContent(k)) out.set(k, v);
    else if (fields.has(k)) out.set(k, fields.get(k) as PyValue);
  }
  for (const [k, v] of fields) if (!out.has(k)) out.set(k, v);
  return out;
}
