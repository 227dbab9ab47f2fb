import type { PyDict, PyValue } from './pyvalue.js';

/** Where a value came from, so that errors can name the file, the key and the line. */
export interface SourceRef {
  /** Workspace-relative path of the file, e.g. `dvc.yaml`. */
  file: string;
  /** Dotted key path inside the file, e.g. `stages.train.deps[0]`. */
  key?: string;
  /** 1-based line, when the YAML parser knows it. */
  line?: number;
  column?: number;
}

// ---------------------------------------------------------------- pipeline

/** A dependency on a file or directory (params are separate, see {@link ParamsDep}). */
export interface DepSpec {
  /** The path as written in dvc.yaml (relative to the stage's wdir): dvc.lock's `path`. */
  defPath: string;
  /** The same path relative to the workspace root, normalised with `/`. */
  path: string;
}

export type OutKind = 'out' | 'metric' | 'plot';

export interface OutSpec extends DepSpec {
  kind: OutKind;
  /** `cache: false` outputs are hashed and locked but never copied to the cache. */
  cache: boolean;
  /** `persist: true` outputs are not removed before the stage runs. */
  persist: boolean;
  /** `push: false` outputs stay out of `push`. */
  push: boolean;
  remote?: string;
  desc?: string;
  /**
   * A `plots:` output's display properties as written (`template`, `x`, `y`,
   * `x_label`, `y_label`, `title`, `header`: DVC's PLOT_PROPS), for `plots show`.
   */
  plot?: PyDict;
}

/** `params:` of one file: named keys, or the whole file when `keys` is null. */
export interface ParamsDep {
  /** File as written (relative to wdir), dvc.lock's key under `params:`. */
  defPath: string;
  /** Workspace-relative path. */
  path: string;
  keys: string[] | null;
  /** Where dvc.yaml lists the file (its first entry under `params:`), for errors. */
  source?: SourceRef;
  /** Where dvc.yaml lists each key (its first mention), for errors. */
  keySources?: ReadonlyMap<string, SourceRef>;
}

export interface Stage {
  /** DVC's addressing name: `train`, `gen@small`, `grid@small-0.1`. */
  name: string;
  /** For foreach/matrix stages, the name of the group (`gen`); else the name. */
  group: string;
  cmd: string | string[];
  /** Workspace-relative working directory ('.' for the root). */
  wdir: string;
  deps: DepSpec[];
  params: ParamsDep[];
  outs: OutSpec[];
  frozen: boolean;
  alwaysChanged: boolean;
  desc?: string;
  meta?: PyValue;
  source: SourceRef;
}

export interface Pipeline {
  /** Workspace-relative path of the dvc.yaml file. */
  file: string;
  /** Stages in file order (foreach/matrix expanded in place). */
  stages: Stage[];
  /** Top-level `params:` files (tracked by `dvc params diff`, not by stages). */
  params: string[];
  metrics: string[];
  plots: PyValue[];
}

// ---------------------------------------------------------------- hashing

/**
 * What DVC records about a file or directory: `md5` is the raw md5 of a file's
 * bytes, or `<md5 of .dir listing>.dir` for a directory.
 */
export interface HashInfo {
  md5: string;
  size: number;
  /** Directories only: the number of files in the listing. */
  nfiles?: number;
  /** Files only: true when the owner-exec bit is set. */
  isexec?: boolean;
}

/** One row of a `.dir` listing. */
export interface DirEntry {
  relpath: string;
  md5: string;
  size: number;
  isexec: boolean;
}

// ---------------------------------------------------------------- lock

/** One `deps`/`outs` item of dvc.lock, in DVC 3's field order. */
export interface LockFileEntry {
  path: string;
  /** `md5` for DVC 3 entries; absent in DVC 2 (legacy) entries. */
  hash?: 'md5';
  md5: string;
  size?: number;
  nfiles?: number;
  isexec?: boolean;
}

export interface LockStage {
  cmd: string | string[];
  deps: LockFileEntry[];
  /** file (as written) → key → value; whole-file params keep the file's top-level keys. */
  params: Map<string, PyDict>;
  outs: LockFileEntry[];
}

/** dvc.lock: stage name → entry, in the file's order (new stages are appended). */
export interface Lockfile {
  stages: Map<string, LockStage>;
}

// ---------------------------------------------------------------- status

export type ItemChange = 'modified' | 'deleted' | 'new' | 'not in cache';

/**
 * Why a stage is stale. The `kind`s render as DVC's `status --json` keys;
 * `image` and `always` are reprod's own, rendered in the same style.
 */
export type ChangeReason =
  | { kind: 'dep'; path: string; change: ItemChange }
  | { kind: 'param'; file: string; key: string | null; change: ItemChange }
  | { kind: 'out'; path: string; change: ItemChange }
  | { kind: 'cmd' }
  | { kind: 'always' }
  /** `what: 'context'`: the image's build context changed (`ctx:<hash>` keys); else the image itself (IDs, or host ↔ image). */
  | { kind: 'image'; from?: string; to: string; what?: 'context' | 'image' };

export interface StageStatus {
  stage: string;
  reasons: ChangeReason[];
}
