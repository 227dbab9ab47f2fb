import dagre, { type Point } from '@dagrejs/dagre';
import type { ViewPipeline, ViewStage } from '../../src/core/ports/web-view.js';
import { s } from './dom.js';
import { PHASES } from './phases.js';

const NODE_W = 152;
const NODE_H = 58;

/** A node is wide enough for its name (bold 14px: about 8.6px a character) beside its stripe. */
function widthOf(name: string): number {
  return Math.max(NODE_W, Math.ceil(36 + name.length * 8.6));
}

/**
 * The pipeline drawn as an SVG, laid out by dagre left to right (upstream
 * first). Each node is `<g class="node" data-stage=NAME data-phase=PHASE>`,
 * each edge `<path class="edge" data-from data-to>`: the page restyles
 * them in place when a phase changes, without a new layout.
 */
export class GraphView {
  readonly svg: SVGSVGElement;
  private readonly nodes = new Map<string, SVGGElement>();
  private shape = '';

  constructor(private readonly onSelect: (stage: string) => void) {
    this.svg = s('svg', { class: 'graph', role: 'img', 'aria-label': 'pipeline graph' });
  }

  /** Lays the graph out again only when its stages or edges changed; phases are updated either way. */
  draw(p: ViewPipeline, selected: string | undefined): void {
    const shape = JSON.stringify([p.stages.map((x) => x.name), p.edges]);
    if (shape !== this.shape) this.layout(p);
    this.shape = shape;
    for (const st of p.stages) this.setStage(st);
    this.select(selected);
  }

  setStage(st: Pick<ViewStage, 'name' | 'phase' | 'reasons'>): void {
    const g = this.nodes.get(st.name);
    if (!g) return;
    g.dataset['phase'] = st.phase;
    const look = PHASES[st.phase];
    g.style.setProperty('--phase', look.color);
    const label = g.querySelector('.phase');
    if (label) label.textContent = look.label;
    const title = g.querySelector('title');
    if (title) title.textContent = [st.name, look.label, ...st.reasons].join('\n');
  }

  select(stage: string | undefined): void {
    for (const [name, g] of this.nodes) g.classList.toggle('selected', name === stage);
  }

  private layout(p: ViewPipeline): void {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 48, marginx: 8, marginy: 12 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const st of p.stages) g.setNode(st.name, { width: widthOf(st.name), height: NODE_H });
    for (const e of p.edges) g.setEdge(e.from, e.to);
    dagre.layout(g);
    const size = g.graph();
    const width = Math.max(size.width ?? 0, NODE_W + 32);
    const height = Math.max(size.height ?? 0, NODE_H + 32);
    this.svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    // drawn at its natural size, scaled down (never up) to fit the card
    this.svg.style.maxWidth = `${width}px`;
    const defs = s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' })));
    const edges = p.edges.map((e) => {
      const pts: Point[] = (g.edge(e.from, e.to) as { points?: Point[] } | undefined)?.points ?? [];
      const d = pts.map((pt, i) => `${i === 0 ? 'M' : 'L'} ${pt.x.toFixed(1)} ${pt.y.toFixed(1)}`).join(' ');
      return s('path', { class: 'edge', d, 'data-from': e.from, 'data-to': e.to, 'marker-end': 'url(#arrow)' });
    });
    this.nodes.clear();
    const nodes = p.stages.map((st) => {
      const n = g.node(st.name);
      const w = widthOf(st.name);
      const x = (n?.x ?? 0) - w / 2;
      const y = (n?.y ?? 0) - NODE_H / 2;
      const node = s(
        'g',
        { class: 'node', transform: `translate(${x.toFixed(1)} ${y.toFixed(1)})`, 'data-stage': st.name, tabindex: 0, role: 'button' },
        s('title', {}, st.name),
        s('rect', { class: 'box', width: w, height: NODE_H, rx: 10 }),
        s('rect', { class: 'stripe', width: 6, height: NODE_H - 16, x: 8, y: 8, rx: 3 }),
        s('text', { class: 'name', x: 24, y: 25 }, st.name),
        s('circle', { class: 'dot', cx: 28, cy: 41, r: 4 }),
        s('text', { class: 'phase', x: 38, y: 45 }, ''),
      );
      node.addEventListener('click', () => this.onSelect(st.name));
      node.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') this.onSelect(st.name);
      });
      this.nodes.set(st.name, node);
      return node;
    });
    this.svg.replaceChildren(defs, ...edges, ...nodes);
  }
}
