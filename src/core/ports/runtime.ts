/** The stage runtime: what a stage runs in (the host, a container engine) and how it runs. */
import type { Stage } from '../types.js';

/** Where a stage's output goes while it runs. */
export interface StageLogSink {
  write(chunk: string, stream: 'stdout' | 'stderr'): void;
  /**
   * The output is complete: a sink that holds text back (a redactor waiting
   * to see whether a secret continues in the next chunk) writes it now.
   * Called once, after the run; writes after it are not expected.
   */
  end?(): void;
}

/** The container settings of a stage, defaults applied (from its manifest). */
export interface ContainerSettings {
  network: 'none' | 'bridge' | 'host';
  cpus?: number;
  memoryBytes?: number;
  env: Record<string, string>;
  /** Overrides the default user (the workspace owner's uid:gid); never root (refused where the manifest is read). */
  user?: string;
  /** The most processes and threads the container may have at once (default: the runtime's, 512). */
  pidsLimit?: number;
}

/**
 * What a stage runs in, as far as it can be known without building or
 * pulling anything: `status` and `repro --dry` stop here. `key` is what is
 * compared with the last successful run's to tell whether the runtime changed:
 *
 *   host                          'host'
 *   image built from a context    'ctx:<hash of the build context>'   (reason: image context changed)
 *   named image                   its local ID 'sha256:…', or undefined while the engine has none
 */
export interface RuntimeIdentity {
  kind: 'host' | 'container';
  key: string | undefined;
  /** The image reference: the tag a context builds to, or the manifest's image name. */
  ref?: string;
}

/**
 * What a stage will run in, made ready: the image built or pulled. A value
 * that travels from the plan to the run: the runtime keeps no per-stage state.
 */
export type PreparedRuntime =
  | { kind: 'host'; identity: RuntimeIdentity }
  | {
      kind: 'container';
      identity: RuntimeIdentity;
      /** The engine's image ID, `sha256:…`. */
      imageId: string;
      /** The tag or name the image was found or built under. */
      ref: string;
      settings: ContainerSettings;
    };

/** The `runtime` a status report and a run record name: the image ID, or `host`. */
export function runtimeLabel(p: PreparedRuntime): string {
  return p.kind === 'host' ? 'host' : p.imageId;
}

export interface RunRequest {
  stage: Stage;
  /** What `prepare` made ready for this stage. */
  prepared: PreparedRuntime;
  /** Absolute path of the workspace root. */
  workspace: string;
  /** Unique id of this run (labels, logs, tracking). */
  runId: string;
  env: Record<string, string>;
  log: StageLogSink;
  signal: AbortSignal;
}

export type RunOutcome =
  | { kind: 'exited'; exitCode: number; oomKilled?: boolean }
  | { kind: 'cancelled' };

export interface RunResult {
  outcome: RunOutcome;
  /** What the stage ran in: an image ID, or `host`. */
  runtime: string;
  container?: string;
  startedAt: Date;
  finishedAt: Date;
}

/**
 * Runs a stage's `cmd` (every command of a list, in order, each in its own
 * shell) somewhere: on the host, or in a container.
 *
 *   identify(stage)  read-only: what it would run in (status, dry runs, planning)
 *   prepare(stage)   builds or pulls the image; only right before a run
 *   run(request)     runs the commands in what prepare returned
 */
export interface StageRuntime {
  readonly name: string;
  /** Never builds, pulls or writes anything. */
  identify(stage: Stage, signal: AbortSignal): Promise<RuntimeIdentity>;
  /** Build output goes to `log`. */
  /** `onBuilding` hears that the stage's image is being built (with its tag): a build is under way, not a look-up. */
  prepare(stage: Stage, signal: AbortSignal, log?: StageLogSink, onBuilding?: (image: string) => void): Promise<PreparedRuntime>;
  run(req: RunRequest): Promise<RunResult>;
}
