import { ReprodError } from '../core/errors.js';
import type { Stage } from '../core/types.js';
import type { ContainerSettings } from '../core/ports.js';
import { where, type StageRuntimeSpec } from './manifests.js';

/**
 * What a stage runs in, decided from its manifest entry (manifests.ts) and
 * the `stages/<group>/Dockerfile` convention: the host, or a container with
 * its image source and settings, defaults applied. Pure: whether the
 * convention's folder exists is asked of the caller.
 */

/** Where a stage's image comes from. */
export type ImageSource =
  | { kind: 'image'; name: string }
  | {
      kind: 'build';
      /** The stage's group: names the image (`reprod/<group>:ctx-…`). */
      group: string;
      /** Workspace-relative context folder. */
      context: string;
      /** Relative to the context. */
      dockerfile: string;
      args: Record<string, string>;
    };

/** The container settings of a stage, defaults applied. */
export type { ContainerSettings };

export type ResolvedRuntime =
  | {
      kind: 'host';
      /** For status and logs: `runs on the host: …`. */
      reason: string;
      /** The manifest entry that applied, if any (retries, model). */
      manifest?: StageRuntimeSpec;
    }
  | {
      kind: 'container';
      image: ImageSource;
      settings: ContainerSettings;
      reason: string;
      manifest?: StageRuntimeSpec;
    };

/**
 * A group as it may name an image: a stage of a nested dvc.yaml
 * (`sub/dvc.yaml:train`) has `/`, `.` and `:` in its address, which an image
 * name cannot hold there (`sub-dvc.yaml-train`).
 */
function imageGroup(group: string): string {
  return group.replace(/[/:]/g, '-');
}

/** The folder whose Dockerfile gives a group its image by convention. */
function conventionContext(group: string): string {
  return `stages/${group}`;
}

/**
 * Decides what a stage runs in:
 *
 *   manifest entry for the stage's name ── else ── for its group ── else none
 *        │ runtime: host ─────────────────────────────► host
 *        │ image: X ──────────────────────────────────► container, image X
 *        │ build: {context…} ─────────────────────────► container, built from context
 *        └ neither ─┐
 *                   ▼
 *   stages/<group>/Dockerfile exists ? ─ yes ─► container, built from stages/<group>/
 *                                     └ no ──► host (DVC's behaviour)
 *
 * The first manifest entry found applies whole (entries are not merged).
 * `hasStageFolder(group)` is true when `stages/<group>/Dockerfile` exists.
 * A manifest that says `runtime: docker` while no image can be found is a SCHEMA error.
 */
export function resolveStageRuntime(
  stage: Stage,
  specs: ReadonlyMap<string, StageRuntimeSpec>,
  hasStageFolder: (group: string) => boolean,
): ResolvedRuntime {
  const manifest = specs.get(stage.name) ?? specs.get(stage.group);
  const withManifest = manifest ? { manifest } : {};
  const at = manifest ? ` (${where(manifest.source)})` : '';
  if (manifest?.runtime === 'host') {
    return { kind: 'host', reason: `runs on the host: its manifest says \`runtime: host\`${at}`, ...withManifest };
  }
  const settings: ContainerSettings = { network: manifest?.network ?? 'none', env: { ...(manifest?.env ?? {}) } };
  if (manifest?.cpus !== undefined) settings.cpus = manifest.cpus;
  if (manifest?.memoryBytes !== undefined) settings.memoryBytes = manifest.memoryBytes;
  if (manifest?.pidsLimit !== undefined) settings.pidsLimit = manifest.pidsLimit;
  if (manifest?.user !== undefined) settings.user = manifest.user;
  if (manifest?.image !== undefined) {
    return {
      kind: 'container',
      image: { kind: 'image', name: manifest.image },
      settings,
      reason: `runs in image ${manifest.image}${at}`,
      ...withManifest,
    };
  }
  if (manifest?.build !== undefined) {
    const b = manifest.build;
    return {
      kind: 'container',
      image: { kind: 'build', group: imageGroup(stage.group), context: b.context, dockerfile: b.dockerfile, args: { ...b.args } },
      settings,
      reason: `runs in the image built from ${b.context}/${at}`,
      ...withManifest,
    };
  }
  const ctx = conventionContext(stage.group);
  if (hasStageFolder(stage.group)) {
    return {
      kind: 'container',
      image: { kind: 'build', group: imageGroup(stage.group), context: ctx, dockerfile: 'Dockerfile', args: {} },
      settings,
      reason: `runs in the image built from ${ctx}/ (convention)`,
      ...withManifest,
    };
  }
  if (manifest?.runtime === 'docker') {
    throw new ReprodError('SCHEMA', `stage \`${stage.name}\`: its manifest says \`runtime: docker\` but names no image and ${ctx}/Dockerfile does not exist`, {
      source: manifest.source,
      remedy: `Add \`image:\` or \`build:\` to the manifest, or create ${ctx}/Dockerfile.`,
    });
  }
  return {
    kind: 'host',
    reason: manifest
      ? `runs on the host: no ${ctx}/Dockerfile, and its manifest${at} names no image`
      : `runs on the host: no ${ctx}/Dockerfile and no manifest`,
    ...withManifest,
  };
}
