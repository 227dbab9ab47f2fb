/**
 * Names of the images `npm run images` makes. Each `*Image` is both what
 * scripts/images.ts tags and what the Dockerfiles' build arguments receive.
 */

/** Debian bookworm: the registry's slim image, or a local debootstrap. */
export const baseImage = 'reprod/base:bookworm';

/** The example pipeline's shared Python + scikit-learn environment. */
export const mlBaseImage = 'reprod/ml-base:latest';

/** Node 20 on the base, standing in for `registryNodeImage` when no registry answers. */
export const nodeImage = 'reprod/node:20';

/** reprod's own image, from the repository's root Dockerfile. */
export const reprodImage = 'reprod/reprod:latest';
/** The build stage of reprod's image, kept as the layer cache of the next build. */
export const buildStageImage = 'reprod/reprod-build:cache';

/** What the Dockerfiles name by default, where a registry answers. */
export const registryNodeImage = 'node:20-bookworm-slim';

/** Folders of stages/ that hold shared build inputs rather than a stage. */
export function isStageFolder(name: string): boolean {
  return !name.startsWith('_') && !name.startsWith('.');
}

/** The tag `npm run images` gives the image of the example's stage `stage`. */
export function stageImage(stage: string): string {
  return `reprod/stage-${stage}:latest`;
}
