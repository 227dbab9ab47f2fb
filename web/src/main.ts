import type { ViewEvent, ViewPipeline, ViewStageDetail } from '../../src/core/ports/web-view.js';
import { DetailView } from './detail.js';
import { fill, h } from './dom.js';
import { GraphView } from './graph.js';
import { drawPlots, experimentsTable, metricsTable } from './outputs.js';
import { LEGEND, PHASES } from './phases.js';
import './style.css';

/**
 * The daemon's page: the graph, the selected stage, metrics, plots and
 * experiments. It reads the state once (`/api/…`), then follows `/events`:
 * a `condition` restyles a node (and reloads the selected stage's panel), a
 * `log` line is appended to the selected stage's output, a `pass` reloads
 * metrics and plots. On reconnecting it reads the state again.
 */

const TOKEN_KEY = 'reprod.token';

/** The actions' token: from `#token=…` (then removed from the address bar), kept for this tab. */
function takeToken(): string | undefined {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function card(title: string, body: HTMLElement, extra: Record<string, string> = {}): HTMLElement {
  return h('section', { class: 'card', ...extra }, h('h2', {}, title), body);
}

class App {
  private pipeline: ViewPipeline = { stages: [], edges: [], actions: false };
  private selected: string | undefined = new URLSearchParams(location.search).get('stage') ?? undefined;
  private readonly token = takeToken();
  private readonly graph = new GraphView((stage) => this.select(stage));
  private readonly detail: DetailView;
  private readonly summary = h('div', { class: 'summary', id: 'summary' });
  private readonly conn = h('div', { class: 'conn', id: 'conn', 'data-state': 'connecting' }, 'connecting…');
  private readonly specError = h('p', { class: 'error banner', hidden: '' });
  private readonly metricsBody = h('div', { id: 'metrics' });
  private readonly plotsBody = h('div', { class: 'plots', id: 'plots' });
  private readonly experimentsBody = h('div', { id: 'experiments-table' });
  private readonly experimentsCard = card('Experiments', this.experimentsBody, { id: 'experiments', hidden: '' });
  /** Log events that arrive while the selected stage's panel is being fetched, replayed after it. */
  private pendingLog: Extract<ViewEvent, { kind: 'log' }>[] | undefined;
  private outputsTimer: number | undefined;

  constructor(root: HTMLElement) {
    // the button shows when the daemon's actions are on and this tab has their token
    this.detail = new DetailView({ rerun: (stage) => this.act(stage, 'rerun'), cancel: (stage) => this.act(stage, 'cancel'), enabled: () => this.token !== undefined && this.pipeline.actions });
    const legend = h('ul', { class: 'legend' }, ...LEGEND.map((p) => h('li', { style: `--phase:${PHASES[p].color}` }, PHASES[p].label)));
    fill(
      root,
      h('header', { class: 'top' }, h('div', { class: 'brand' }, 'reprod'), this.summary, legend, this.conn),
      this.specError,
      h(
        'main',
        { class: 'layout' },
        h('div', { class: 'col-main' }, card('Pipeline', h('div', { class: 'graph-wrap' }, this.graph.svg), { id: 'pipeline' }), card('Metrics', this.metricsBody)),
        h('div', { class: 'col-side' }, this.detail.el),
        // the charts get the page's whole width: DVC's templates are drawn at their own size
        h('div', { class: 'row-wide' }, card('Plots', this.plotsBody), this.experimentsCard),
      ),
    );
  }

  async start(): Promise<void> {
    await this.loadPipeline();
    void this.loadOutputs();
    this.connect();
  }

  private connect(): void {
    const es = new EventSource('/events');
    const on = (kind: ViewEvent['kind']) => es.addEventListener(kind, (m) => this.onEvent(JSON.parse((m as MessageEvent<string>).data) as ViewEvent));
    (['condition', 'run', 'log', 'log-reset', 'pass'] as const).forEach(on);
    let opened = false;
    es.addEventListener('open', () => {
      this.setConn('live', 'live');
      // what happened before the stream opened (between the first read and now), or while it was down, is read again
      const again = opened;
      void this.loadPipeline().then(() => (again ? this.loadOutputs() : undefined));
      opened = true;
    });
    es.addEventListener('error', () => this.setConn('down', 'reconnecting…'));
  }

  private setConn(state: string, text: string): void {
    this.conn.dataset['state'] = state;
    this.conn.textContent = text;
  }

  private onEvent(e: ViewEvent): void {
    switch (e.kind) {
      case 'condition': {
        const st = this.pipeline.stages.find((x) => x.name === e.stage);
        if (!st) {
          void this.loadPipeline();
          return;
        }
        st.phase = e.phase;
        st.reasons = e.reasons;
        this.graph.setStage(st);
        this.renderSummary();
        if (e.stage === this.selected) void this.loadDetail(e.stage);
        return;
      }
      case 'run':
        if (e.stage === this.selected) void this.loadDetail(e.stage);
        return;
      case 'log-reset':
        if (e.stage === this.selected && !this.pendingLog) this.detail.resetLog();
        return;
      case 'log':
        if (e.stage !== this.selected) return;
        if (this.pendingLog) this.pendingLog.push(e);
        else this.detail.appendLine(e.line, e.stream, e.n);
        return;
      case 'pass':
        window.clearTimeout(this.outputsTimer);
        this.outputsTimer = window.setTimeout(() => void this.loadPipeline().then(() => this.loadOutputs()), 250);
        return;
    }
  }

  private async loadPipeline(): Promise<void> {
    this.pipeline = await getJson<ViewPipeline>('/api/pipeline');
    if (this.selected && !this.pipeline.stages.some((s) => s.name === this.selected)) this.selected = undefined;
    this.selected ??= (this.pipeline.stages.find((s) => s.phase !== 'UpToDate') ?? this.pipeline.stages[this.pipeline.stages.length - 1])?.name;
    this.graph.draw(this.pipeline, this.selected);
    this.renderSummary();
    if (this.pipeline.specError) {
      this.specError.textContent = `dvc.yaml is invalid; the last valid pipeline is shown. ${this.pipeline.specError}`;
      this.specError.hidden = false;
    } else this.specError.hidden = true;
    if (this.selected) await this.loadDetail(this.selected);
    else this.detail.empty();
  }

  private renderSummary(): void {
    const counts = new Map<string, number>();
    for (const s of this.pipeline.stages) counts.set(s.phase, (counts.get(s.phase) ?? 0) + 1);
    const parts = [...counts].map(([p, n]) => `${n} ${PHASES[p as keyof typeof PHASES].label.toLowerCase()}`);
    this.summary.textContent = `${this.pipeline.stages.length} stages · ${parts.join(' · ')}`;
  }

  private select(stage: string): void {
    this.selected = stage;
    this.graph.select(stage);
    const q = new URLSearchParams(location.search);
    q.set('stage', stage);
    history.replaceState(null, '', `${location.pathname}?${q.toString()}`);
    void this.loadDetail(stage);
  }

  private async loadDetail(stage: string): Promise<void> {
    this.pendingLog ??= [];
    let d: ViewStageDetail;
    try {
      d = await getJson<ViewStageDetail>(`/api/stages/${encodeURIComponent(stage)}`);
    } finally {
      // the panel shows the stage selected now; lines that came meanwhile follow what it read
      const pending = this.pendingLog;
      this.pendingLog = undefined;
      queueMicrotask(() => pending?.forEach((e) => e.stage === this.selected && this.detail.appendLine(e.line, e.stream, e.n)));
    }
    if (stage !== this.selected) return;
    this.detail.show(d);
  }

  private async loadOutputs(): Promise<void> {
    const [metrics, plots, experiments] = await Promise.all([getJson<unknown>('/api/metrics'), getJson<unknown>('/api/plots'), getJson<Parameters<typeof experimentsTable>[0]>('/api/experiments')]);
    fill(this.metricsBody, metricsTable(metrics) ?? h('p', { class: 'muted' }, 'No metrics yet.'));
    const drawn = await drawPlots(this.plotsBody, plots);
    if (drawn === 0) fill(this.plotsBody, h('p', { class: 'muted' }, 'No plots yet.'));
    const table = experimentsTable(experiments);
    this.experimentsCard.hidden = table === undefined;
    if (table) fill(this.experimentsBody, table);
  }

  private async act(stage: string, action: 'rerun' | 'cancel'): Promise<string> {
    const res = await fetch(`/api/stages/${encodeURIComponent(stage)}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${this.token ?? ''}` } });
    const body = (await res.json()) as { message?: string; error?: string };
    if (!res.ok) throw new Error(body.error ?? String(res.status));
    return body.message ?? 'asked';
  }
}

const root = document.getElementById('app');
if (root) {
  new App(root).start().catch((err: unknown) => {
    console.error(err);
    fill(root, h('p', { class: 'error banner' }, `The daemon did not answer: ${String(err)}`));
  });
}
