import type { PyDict, PyValue } from '../core/pyvalue.js';
import type { EncodedError } from '../metrics/data-file.js';
import { isFalsy } from '../pipeline/params-file.js';
import { dataSources, groupDefinitions, type RevisionPlots } from './collect.js';
import { isImagePath } from './sources.js';
import { flatDatapoints, plotDataError } from './vega-converter.js';
import { fillVegaTemplate, renderRevs, type Datapoint, type PlotProps } from './vega-renderer.js';
import { getTemplate } from './vega-template.js';

/**
 * DVC's `match_defs_renderers` (dvc/render/match.py): each plot id, over the
 * revisions in order, becomes one renderer with the datapoints of every
 * revision that has some; the first revision's definition wins where
 * revisions disagree.
 */

export interface ImageDatapoint {
  rev: string;
  filename: string;
  /** Where the image was written (absolute), or a `data:` URI. */
  src: string;
}

interface Errors {
  /** rev → data file → why it did not load. */
  sourceErrors: Map<string, Map<string, EncodedError>>;
  /** rev → why the datapoints could not be made. */
  definitionErrors: Map<string, EncodedError>;
}

export type Renderer =
  | ({ type: 'vega'; id: string; datapoints: Datapoint[]; props: PlotProps } & Errors)
  | ({ type: 'image'; id: string; datapoints: ImageDatapoint[] } & Errors);

export interface MatchOptions {
  /** Writes an image of a revision where the page will find it; returns its path (DVC's `{rev}_{file}` in the output folder). */
  placeImage: (rev: string, filename: string, bytes: Uint8Array) => string;
}

export function matchRenderers(revisions: readonly RevisionPlots[], o: MatchOptions): Renderer[] {
  const groups = new Map<string, [RevisionPlots, string, PyDict][]>();
  for (const r of revisions) {
    for (const [plotId, [innerId, def]] of groupDefinitions(r.definitions)) {
      const g = groups.get(plotId) ?? [];
      g.push([r, innerId, def]);
      groups.set(plotId, g);
    }
  }
  const renderers: Renderer[] = [];
  for (const [plotId, group] of groups) {
    // `_squash_plots_properties`: the first revision's values win
    let props: PlotProps = new Map();
    for (const [, , def] of [...group].reverse()) props = new Map([...props, ...def]);
    const errors: Errors = { sourceErrors: new Map(), definitionErrors: new Map() };
    let firstProps: PlotProps = new Map();
    const revs: string[] = [];
    const vegaPoints: Datapoint[] = [];
    const imagePoints: ImageDatapoint[] = [];
    let image = false;
    let rendererId = plotId;

    for (const [r, innerId, def] of group) {
      const files = dataSources(innerId, def);
      const data = new Map<string, PyValue>();
      const images = new Map<string, Uint8Array>();
      for (const f of files) {
        const s = r.sources.get(f);
        if (!s) continue;
        if ('error' in s) {
          const perRev = errors.sourceErrors.get(r.rev) ?? new Map<string, EncodedError>();
          perRev.set(f, s.error);
          errors.sourceErrors.set(r.rev, perRev);
        } else if ('image' in s) {
          if (s.image.length > 0) images.set(f, s.image);
        } else if (!isFalsy(s.data)) {
          // DVC's `get_definition_data` skips empty (falsy) content
          data.set(f, s.data);
        }
      }
      image = isImagePath(innerId);
      rendererId = image ? innerId : plotId;
      if (image) {
        for (const [filename, bytes] of images) imagePoints.push({ rev: r.rev, filename, src: o.placeImage(r.rev, filename, bytes) });
        if (images.size > 0 && !revs.includes(r.rev)) revs.push(r.rev);
        continue;
      }
      try {
        const { datapoints, props: revProps } = flatDatapoints(innerId, data, props, r.rev);
        if (datapoints.length > 0 && !revs.includes(r.rev)) revs.push(r.rev);
        if (firstProps.size === 0 && revProps.size > 0) firstProps = revProps;
        vegaPoints.push(...datapoints);
      } catch (e) {
        errors.definitionErrors.set(r.rev, plotDataError(e));
      }
    }
    if (!firstProps.has('title')) firstProps.set('title', rendererId);
    if (revs.length > 0) firstProps.set('revs_with_datapoints', revs);
    renderers.push(
      image
        ? { type: 'image', id: rendererId, datapoints: imagePoints, ...errors }
        : { type: 'vega', id: rendererId, datapoints: vegaPoints, props: firstProps, ...errors },
    );
  }
  return renderers;
}

/** One vega renderer's filled spec ({} without datapoints), with the revisions it shows. */
export function vegaSpec(r: Extract<Renderer, { type: 'vega' }>, customTemplate: (name: string) => PyValue | undefined): { revisions: string[]; content: PyDict } {
  const template = r.props.get('template');
  const revisions = renderRevs(r.datapoints, r.props);
  const content = fillVegaTemplate(getTemplate(typeof template === 'string' ? template : undefined, customTemplate), r.datapoints, r.props);
  return { revisions, content };
}
