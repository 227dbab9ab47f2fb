import type { ViewLastRun, ViewReason, ViewStageDetail } from '../../src/core/ports/web-view.js';
import { fill, h, seconds, when } from './dom.js';
import { PHASES } from './phases.js';

/** Lines the log pane keeps (the oldest go first). */
const MAX_LINES = 2000;

export interface DetailActions {
  /** Present when the daemon's actions are on and the page has the token. */
  rerun: (stage: string) => Promise<string>;
  /** Stops the stage's run; it stays Cancelled until its inputs change or it is rerun. */
  cancel: (stage: string) => Promise<string>;
  enabled: () => boolean;
}

/**
 * The selected stage: its phase, why it is stale (each value old → new),
 * its last run, and its output, to which live lines are appended.
 */
export class DetailView {
  readonly el = h('section', { class: 'card detail', id: 'detail' });
  private logEl: HTMLPreElement | undefined;
  private lines = 0;
  /** The number of the last output line shown (log events at or below it are already there). */
  private seq = 0;
  stage: string | undefined;

  constructor(private readonly actions: DetailActions) {
    this.empty();
  }

  empty(): void {
    this.stage = undefined;
    this.logEl = undefined;
    fill(this.el, h('p', { class: 'hint' }, 'Select a stage in the graph to see why it runs, its last run and its output.'));
  }

  show(d: ViewStageDetail): void {
    const keepScroll = this.stage === d.name && this.logEl ? this.atBottom(this.logEl) : true;
    this.stage = d.name;
    const look = PHASES[d.phase];
    const header = h(
      'div',
      { class: 'detail-head' },
      h('h2', {}, d.name),
      h('span', { class: 'badge', 'data-phase': d.phase, style: `--phase:${look.color}` }, look.label),
      this.actionButton(d.name, 'Rerun', 'Run this stage again now, whatever its state (not from the run cache)', this.actions.rerun),
      d.phase === 'Running' || d.phase === 'Building'
        ? this.actionButton(d.name, 'Cancel', 'Stop this run: the stage stays cancelled until its inputs change or it is rerun', this.actions.cancel)
        : null,
    );
    const log = h('pre', { class: 'log', id: 'log', 'aria-live': 'polite' });
    this.logEl = log;
    this.lines = 0;
    this.seq = 0;
    d.log.forEach((line, i) => this.appendLine(line, 'stdout', d.logSeq - d.log.length + i + 1));
    fill(
      this.el,
      header,
      h('div', { class: 'cmd' }, h('code', {}, d.cmd), h('span', { class: 'muted' }, ` · ${d.runtime}`)),
      d.message ? h('p', { class: d.phase === 'Failed' || d.phase === 'Blocked' ? 'error' : 'note' }, d.message) : null,
      h('h3', {}, 'Why'),
      reasonsList(d.reasons),
      h('h3', {}, 'Last run'),
      d.lastRun ? lastRunTable(d.lastRun) : h('p', { class: 'muted' }, 'No run recorded yet.'),
      h('h3', {}, 'Output'),
      log,
    );
    if (keepScroll) log.scrollTop = log.scrollHeight;
  }

  resetLog(): void {
    this.seq = 0;
    this.lines = 0;
    this.logEl?.replaceChildren();
  }

  /** Appends line `n` of the run's output, unless it is already shown. */
  appendLine(line: string, stream: 'stdout' | 'stderr', n: number): void {
    const el = this.logEl;
    if (!el || n <= this.seq) return;
    this.seq = n;
    const follow = this.atBottom(el);
    el.append(h('span', { class: stream === 'stderr' ? 'line err' : 'line' }, `${line}\n`));
    this.lines++;
    while (this.lines > MAX_LINES && el.firstChild) {
      el.firstChild.remove();
      this.lines--;
    }
    if (follow) el.scrollTop = el.scrollHeight;
  }

  private atBottom(el: HTMLElement): boolean {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  }

  private actionButton(stage: string, label: string, title: string, run: (stage: string) => Promise<string>): HTMLElement | null {
    if (!this.actions.enabled()) return null;
    const b = h('button', { class: 'action', type: 'button', title, 'data-action': label.toLowerCase() }, label);
    b.addEventListener('click', () => {
      b.disabled = true;
      run(stage)
        .then((msg) => (b.title = msg))
        .catch((err: unknown) => (b.title = String(err)))
        .finally(() => (b.disabled = false));
    });
    return b;
  }
}

function reasonsList(reasons: ViewReason[]): HTMLElement {
  if (reasons.length === 0) return h('p', { class: 'muted' }, 'Nothing: its outputs match its inputs.');
  return h(
    'ul',
    { class: 'reasons' },
    ...reasons.map((r) =>
      h(
        'li',
        {},
        h('span', { class: 'code' }, r.code),
        ' ',
        r.message,
        r.changes.length > 0
          ? h(
              'ul',
              { class: 'changes' },
              ...r.changes.map((c) =>
                h('li', {}, h('code', {}, c.what), ' ', h('span', { class: 'old' }, short(c.old) ?? 'absent'), ' → ', h('span', { class: 'new' }, short(c.new) ?? 'absent')),
              ),
            )
          : null,
      ),
    ),
  );
}

/** An md5 is shown by its first 12 digits (the title has it whole). */
function short(v: string | undefined): string | undefined {
  return v && /^[0-9a-f]{32}(\.dir)?$/.test(v) ? `${v.slice(0, 12)}…` : v;
}

function lastRunTable(r: ViewLastRun): HTMLElement {
  const rows: [string, Node | string][] = [
    ['outcome', h('span', { class: `outcome ${r.outcome}` }, r.action === 'restored' ? `${r.outcome} (restored from the run cache)` : r.outcome)],
    ['started', when(r.startedAt)],
    ['finished', when(r.finishedAt)],
    ['duration', seconds(r.durationSeconds)],
    ['exit code', r.exitCode === undefined ? '—' : String(r.exitCode)],
    ['image', r.image ?? (r.runtime === 'host' ? 'host' : '—')],
    ['runtime', h('code', { title: r.runtime }, r.runtime.startsWith('sha256:') ? `${r.runtime.slice(0, 19)}…` : r.runtime)],
  ];
  if (r.error) rows.push(['error', h('span', { class: 'error' }, r.error)]);
  if (r.trackingUrl) rows.push(['MLflow', h('a', { href: r.trackingUrl, target: '_blank', rel: 'noopener' }, r.trackingRunId ?? 'run')]);
  else if (r.trackingRunId) rows.push(['MLflow', h('code', { title: r.trackingPath ?? '' }, r.trackingPath ?? r.trackingRunId)]);
  return h('table', { class: 'kv' }, ...rows.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))));
}
