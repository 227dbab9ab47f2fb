import { ownerLabels, processOwner, type ContainerOwner } from './owner.js';

/**
 * The labels on every container reprod creates. They are the only link
 * between a container and the run that made it: after a restart, containers
 * are found by label and removed (see orphans.ts), never duplicated. The
 * owner labels (owner.ts) name the process that created it, so that cleanup
 * spares the containers of another live reprod.
 */
export const LABEL = {
  /** Always `true`: the container is reprod's to remove. */
  managed: 'reprod.managed',
  /**
   * The workspace's path on the engine's host (what the bind mount names),
   * not the path inside a reprod container: the same workspace gets the same
   * label whether reprod runs on the host or in a container.
   */
  workspace: 'reprod.workspace',
  stage: 'reprod.stage',
  runId: 'reprod.run-id',
  /** Hash of what the container was created from (image, command, settings). */
  specHash: 'reprod.spec-hash',
} as const;

export interface StageLabels {
  workspace: string;
  stage: string;
  runId: string;
  specHash: string;
  /** The creating process (default: this one). */
  owner?: ContainerOwner;
}

export function stageLabels(l: StageLabels): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [LABEL.workspace]: l.workspace,
    [LABEL.stage]: l.stage,
    [LABEL.runId]: l.runId,
    [LABEL.specHash]: l.specHash,
    ...ownerLabels(l.owner ?? processOwner()),
  };
}

/** The engine's `filters` for reprod's containers of one workspace. */
export function workspaceFilter(workspace: string): { label: string[] } {
  return { label: [`${LABEL.managed}=true`, `${LABEL.workspace}=${workspace}`] };
}
