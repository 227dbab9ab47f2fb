/**
 * dvc-render 1.0.2's built-in Vega-Lite templates (dvc_render/vega_templates.py),
 * in its order and with its key order: `dvc plots templates` lists them so.
 * Transcribed from that file (same values, same order); `<DVC_METRIC_X>` strings are the anchors that
 * {@link Template.fill} (vega-template.ts) replaces. `linear` is `smooth` under another name.
 */
export type TemplateJson = { [key: string]: TemplateJson } | TemplateJson[] | string | number | boolean | null;

const anchor = (name: string): string => `<DVC_METRIC_${name.toUpperCase()}>`;

const A = {
  color: anchor('color'),
  column: anchor('column'),
  data: anchor('data'),
  group_by: anchor('group_by'),
  group_by_x: anchor('group_by_x'),
  group_by_y: anchor('group_by_y'),
  pivot_field: anchor('pivot_field'),
  plot_height: anchor('plot_height'),
  plot_width: anchor('plot_width'),
  row: anchor('row'),
  shape: anchor('shape'),
  stroke_dash: anchor('stroke_dash'),
  title: anchor('title'),
  tooltip: anchor('tooltip'),
  x: anchor('x'),
  x_label: anchor('x_label'),
  y: anchor('y'),
  y_label: anchor('y_label'),
  zoom_and_pan: anchor('zoom_and_pan'),
} as const;

/** `smooth` (and `linear`): the line with a loess smoothing slider, raw points faded, the last point marked, a hover rule. */
const smooth = (): TemplateJson => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  data: { values: A.data },
  title: { text: A.title, anchor: 'middle' },
  width: A.plot_width,
  height: A.plot_height,
  params: [{ name: 'smooth', value: 0.001, bind: { input: 'range', min: 0.001, max: 1, step: 0.001 } }],
  encoding: { x: { field: A.x, type: 'quantitative', title: A.x_label }, color: A.color, strokeDash: A.stroke_dash },
  layer: [
    {
      layer: [
        { params: [A.zoom_and_pan], mark: 'line' },
        { transform: [{ filter: { param: 'hover', empty: false } }], mark: 'point' },
      ],
      encoding: {
        y: { field: A.y, type: 'quantitative', title: A.y_label, scale: { zero: false } },
        color: { field: 'rev', type: 'nominal' },
      },
      transform: [{ loess: A.y, on: A.x, groupby: A.group_by, bandwidth: { signal: 'smooth' } }],
    },
    {
      mark: { type: 'line', opacity: 0.2 },
      encoding: {
        x: { field: A.x, type: 'quantitative', title: A.x_label },
        y: { field: A.y, type: 'quantitative', title: A.y_label, scale: { zero: false } },
        color: { field: 'rev', type: 'nominal' },
      },
    },
    {
      mark: { type: 'circle', size: 10 },
      encoding: {
        x: { aggregate: 'max', field: A.x, type: 'quantitative', title: A.x_label },
        y: {
          aggregate: { argmax: A.x },
          field: A.y,
          type: 'quantitative',
          title: A.y_label,
          scale: { zero: false },
        },
        color: { field: 'rev', type: 'nominal' },
      },
    },
    {
      transform: [
        { calculate: A.pivot_field, as: 'pivot_field' },
        { pivot: 'pivot_field', op: 'mean', value: A.y, groupby: [A.x] },
      ],
      mark: { type: 'rule', tooltip: { content: 'data' }, stroke: 'grey' },
      encoding: { opacity: { condition: { value: 0.3, param: 'hover', empty: false }, value: 0 } },
      params: [
        {
          name: 'hover',
          select: { type: 'point', fields: [A.x], nearest: true, on: 'mouseover', clear: 'mouseout' },
        },
      ],
    },
  ],
});

export const TEMPLATES = {
  simple: (): TemplateJson => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: A.data },
    title: { text: A.title, anchor: 'middle' },
    params: [A.zoom_and_pan],
    width: A.plot_width,
    height: A.plot_height,
    mark: { type: 'line', tooltip: { content: 'data' } },
    encoding: {
      x: { field: A.x, type: 'quantitative', title: A.x_label },
      y: { field: A.y, type: 'quantitative', title: A.y_label, scale: { zero: false } },
      color: A.color,
      strokeDash: A.stroke_dash,
      tooltip: A.tooltip,
    },
  }),
  // LinearTemplate is SmoothLinearTemplate under another name
  linear: smooth,
  confusion: (): TemplateJson => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: A.data },
    title: { text: A.title, anchor: 'middle' },
    facet: { column: { field: 'rev', sort: [] }, row: A.row },
    params: [{ name: 'showValues', bind: { input: 'checkbox' } }],
    spec: {
      transform: [
        { aggregate: [{ op: 'count', as: 'xy_count' }], groupby: [A.y, A.x] },
        { impute: 'xy_count', groupby: A.group_by_y, key: A.x, value: 0 },
        { impute: 'xy_count', groupby: A.group_by_x, key: A.y, value: 0 },
        { joinaggregate: [{ op: 'max', field: 'xy_count', as: 'max_count' }], groupby: [] },
        { calculate: 'datum.xy_count / datum.max_count', as: 'percent_of_max' },
      ],
      encoding: {
        x: { field: A.x, type: 'nominal', sort: 'ascending', title: A.x_label },
        y: { field: A.y, type: 'nominal', sort: 'ascending', title: A.y_label },
      },
      layer: [
        {
          mark: 'rect',
          width: A.plot_width,
          height: A.plot_height,
          encoding: {
            color: { field: 'xy_count', type: 'quantitative', title: '', scale: { domainMin: 0, nice: true } },
          },
        },
        {
          selection: {
            label: { type: 'single', on: 'mouseover', encodings: ['x', 'y'], empty: 'none', clear: 'mouseout' },
          },
          mark: 'rect',
          encoding: {
            tooltip: [
              { field: A.x, type: 'nominal' },
              { field: A.y, type: 'nominal' },
              { field: 'xy_count', type: 'quantitative' },
            ],
            opacity: { condition: { selection: 'label', value: 1 }, value: 0 },
          },
        },
        {
          transform: [{ filter: { selection: 'label' } }],
          layer: [{ mark: { type: 'rect', color: 'lightpink' } }],
        },
        {
          mark: 'text',
          encoding: {
            text: { condition: { param: 'showValues', field: 'xy_count', type: 'quantitative' } },
            color: { condition: { test: 'datum.percent_of_max > 0.5', value: 'white' }, value: 'black' },
          },
        },
      ],
    },
  }),
  confusion_normalized: (): TemplateJson => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: A.data },
    title: { text: A.title, anchor: 'middle' },
    facet: { column: { field: 'rev', sort: [] }, row: A.row },
    spec: {
      transform: [
        { aggregate: [{ op: 'count', as: 'xy_count' }], groupby: [A.y, A.x] },
        { impute: 'xy_count', groupby: ['rev', A.y], key: A.x, value: 0 },
        { impute: 'xy_count', groupby: A.group_by_x, key: A.y, value: 0 },
        { joinaggregate: [{ op: 'sum', field: 'xy_count', as: 'sum_y' }], groupby: [A.y] },
        { calculate: 'datum.xy_count / datum.sum_y', as: 'percent_of_y' },
      ],
      encoding: {
        x: { field: A.x, type: 'nominal', sort: 'ascending', title: A.x_label },
        y: { field: A.y, type: 'nominal', sort: 'ascending', title: A.y_label },
      },
      layer: [
        {
          mark: 'rect',
          width: A.plot_width,
          height: A.plot_height,
          encoding: { color: { field: 'percent_of_y', type: 'quantitative', title: '', scale: { domain: [0, 1] } } },
        },
        {
          selection: {
            label: { type: 'single', on: 'mouseover', encodings: ['x', 'y'], empty: 'none', clear: 'mouseout' },
          },
          mark: 'rect',
          encoding: {
            tooltip: [
              { field: A.x, type: 'nominal' },
              { field: A.y, type: 'nominal' },
              { field: 'percent_of_y', type: 'quantitative', format: '.2f' },
            ],
            opacity: { condition: { selection: 'label', value: 1 }, value: 0 },
          },
        },
        {
          transform: [{ filter: { selection: 'label' } }],
          layer: [{ mark: { type: 'rect', color: 'lightpink' } }],
        },
        {
          mark: 'text',
          encoding: { color: { condition: { test: 'datum.percent_of_y > 0.5', value: 'white' }, value: 'black' } },
        },
      ],
    },
  }),
  scatter: (): TemplateJson => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: A.data },
    title: { text: A.title, anchor: 'middle' },
    width: A.plot_width,
    height: A.plot_height,
    mark: { type: 'point', tooltip: { content: 'data' } },
    params: [A.zoom_and_pan],
    encoding: {
      x: { field: A.x, type: 'quantitative', title: A.x_label },
      y: { field: A.y, type: 'quantitative', title: A.y_label },
      color: A.color,
      shape: A.shape,
      tooltip: A.tooltip,
    },
  }),
  scatter_jitter: (): TemplateJson => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: A.data },
    title: { text: A.title, anchor: 'middle' },
    width: A.plot_width,
    height: A.plot_height,
    transform: [{ calculate: 'random()', as: 'randomX' }, { calculate: 'random()', as: 'randomY' }],
    mark: { type: 'point', tooltip: { content: 'data' } },
    encoding: {
      x: { field: A.x, title: A.x_label },
      y: { field: A.y, title: A.y_label },
      color: A.color,
      shape: A.shape,
      tooltip: A.tooltip,
      xOffset: { field: 'randomX', type: 'quantitative' },
      yOffset: { field: 'randomY', type: 'quantitative' },
    },
  }),
  smooth,
  bar_horizontal_sorted: (): TemplateJson => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: A.data },
    title: { text: A.title, anchor: 'middle' },
    width: A.plot_width,
    height: A.plot_height,
    mark: { type: 'bar' },
    params: [A.zoom_and_pan],
    encoding: {
      x: { field: A.x, type: 'quantitative', title: A.x_label, scale: { zero: false } },
      y: { field: A.y, type: 'nominal', title: A.y_label, sort: '-x' },
      yOffset: { field: 'rev', sort: [] },
      color: A.color,
      column: A.column,
    },
  }),
  bar_horizontal: (): TemplateJson => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: A.data },
    title: { text: A.title, anchor: 'middle' },
    width: A.plot_width,
    height: A.plot_height,
    mark: { type: 'bar' },
    params: [A.zoom_and_pan],
    encoding: {
      x: { field: A.x, type: 'quantitative', title: A.x_label, scale: { zero: false } },
      y: { field: A.y, type: 'nominal', title: A.y_label },
      yOffset: { field: 'rev', sort: [] },
      color: A.color,
      column: A.column,
    },
  }),
} as const satisfies Record<string, () => TemplateJson>;

export type TemplateName = keyof typeof TEMPLATES;

export { anchor };
