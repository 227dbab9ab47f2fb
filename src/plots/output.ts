import type { PyDict, PyValue } from '../core/pyvalue.js';
import { pyJsonDumps } from '../lock/py-json.js';
import type { EncodedError } from '../metrics/data-file.js';
import { vegaSpec, type Renderer } from './render.js';

/** A renderer's output for `--json` and for the page: filled Vega-Lite specs, or images. */
export type RenderedPlot =
  | { type: 'vega'; id: string; revisions: string[]; content: PyDict }
  | { type: 'image'; id: string; images: { rev: string; src: string }[] };

/** Fills each renderer's template (a vega renderer without datapoints gives `{}`, as in DVC). */
export function renderPlots(renderers: readonly Renderer[], customTemplate: (name: string) => PyValue | undefined): RenderedPlot[] {
  return renderers.map((r) =>
    r.type === 'vega'
      ? { type: 'vega', id: r.id, ...vegaSpec(r, customTemplate) }
      : { type: 'image', id: r.id, images: r.datapoints.map((d) => ({ rev: d.rev, src: d.src })) },
  );
}

const err = (e: EncodedError): [string, PyValue][] => [
  ['type', e.type],
  ['msg', e.msg],
];

/**
 * What `dvc plots show --json` prints (dvc/commands/plots.py `_show_json`):
 * `{"errors": [...], "data": {plot id: [{"type", "revisions", "content"}]}}`,
 * each part left out when empty.
 */
export function plotsJson(renderers: readonly Renderer[], rendered: readonly RenderedPlot[], revisionErrors: ReadonlyMap<string, EncodedError>): PyDict {
  const errors: PyDict[] = [];
  const data: PyDict = new Map();
  renderers.forEach((r, i) => {
    const out = rendered[i];
    if (!out) return;
    if (out.type === 'vega') {
      data.set(
        r.id,
        r.datapoints.length === 0
          ? []
          : [
              new Map<string, PyValue>([
                ['type', 'vega'],
                ['revisions', out.revisions],
                ['content', out.content],
              ]),
            ],
      );
    } else {
      data.set(
        r.id,
        out.images.map(
          (im) =>
            new Map<string, PyValue>([
              ['type', 'image'],
              ['revisions', [im.rev]],
              ['url', im.src],
            ]),
        ),
      );
    }
    for (const [rev, perSource] of r.sourceErrors) {
      for (const [source, e] of perSource) errors.push(new Map<string, PyValue>([['name', r.id], ['rev', rev], ['source', source], ...err(e)]));
    }
    for (const [rev, e] of r.definitionErrors) errors.push(new Map<string, PyValue>([['name', r.id], ['rev', rev], ...err(e)]));
  });
  for (const [rev, e] of revisionErrors) errors.push(new Map<string, PyValue>([['rev', rev], ...err(e)]));
  const out: PyDict = new Map();
  if (errors.length > 0) out.set('errors', errors);
  if (data.size > 0) out.set('data', data);
  return out;
}

/** dvc-render's `remove_special_chars`: an HTML id from a plot's name. */
export function htmlId(name: string): string {
  return name.replace(/[!@#$%^&*()[\]{};,<>?\\/:.|`~=_+ ]/g, '_');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Script text that cannot end its `<script>` element early. */
function inlineScript(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

export interface PageScript {
  /** e.g. `vega@5.33.1`, shown in a comment. */
  name: string;
  source: string;
}

/**
 * The HTML page, laid out as dvc-render's (`PAGE_HTML`, one `<div>` per
 * plot, images after the charts), but self-contained: vega, vega-lite and
 * vega-embed are inlined instead of fetched from a CDN, so it renders offline.
 * `relativeSrc` turns an image's path into one relative to the page.
 */
export function plotsHtml(rendered: readonly RenderedPlot[], scripts: readonly PageScript[], relativeSrc: (src: string) => string): string {
  const used = new Map<string, number>();
  const idOf = (name: string) => {
    const base = htmlId(name);
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  };
  const vega = rendered.filter((r): r is Extract<RenderedPlot, { type: 'vega' }> => r.type === 'vega' && r.content.size > 0);
  const images = rendered.filter((r): r is Extract<RenderedPlot, { type: 'image' }> => r.type === 'image' && r.images.length > 0);
  const divs: string[] = [];
  for (const r of vega) {
    const id = idOf(r.id);
    const spec = pyJsonDumps(r.content).replace(/</g, '\\u003c');
    divs.push(`
    <div id = "${id}">
        <script type = "text/javascript">
            var spec = ${spec};
            vegaEmbed(document.getElementById(${JSON.stringify(id)}), spec).catch(function (e) { console.error(e); });
        </script>
    </div>
    `);
  }
  for (const r of sortImages(images)) {
    const id = idOf(r.id);
    const cells = r.images.map(
      (im) => `
                <div
                    style="border:1px dotted black;margin:2px;display:
                    inline-block;
                    overflow:hidden;margin-left:8px;">
                    <p>${escapeHtml(im.rev)}</p>
                    <img src="${escapeHtml(relativeSrc(im.src))}">
                </div>
                `,
    );
    divs.push(`
        <div
            id="${id}"
            style="border:1px solid black;text-align:center;
            white-space: nowrap;overflow-y:hidden;">
            ${[`<p>${escapeHtml(r.id)}</p>`, ...cells].join('\n')}
        </div>`);
  }
  const scriptTags = scripts.map((s) => `<script type="text/javascript">/* ${s.name} */\n${inlineScript(s.source)}\n</script>`).join('\n');
  return `<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    <title>DVC Plot</title>
${scriptTags}
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    ${divs.join('\n')}
</body>
</html>`;
}

/** dvc-render's order of image plots: by folder, then by a numeric file name (a step), then by name. */
function sortImages<T extends { id: string }>(images: T[]): T[] {
  const key = (id: string) => {
    const slash = id.lastIndexOf('/');
    const base = id.slice(slash + 1);
    const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
    return { dir: slash < 0 ? '' : id.slice(0, slash), n: /^\d+$/.test(stem) ? Number(stem) : -1, base };
  };
  return [...images].sort((a, b) => {
    const ka = key(a.id);
    const kb = key(b.id);
    return ka.dir < kb.dir ? -1 : ka.dir > kb.dir ? 1 : ka.n - kb.n || (ka.base < kb.base ? -1 : ka.base > kb.base ? 1 : 0);
  });
}
