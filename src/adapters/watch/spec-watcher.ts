import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../../core/ports.js';
import { PIPELINE_KEY } from '../../reconcile/reconciler.js';
import { isAlwaysIgnored, type WatchPlan } from './watch-plan.js';
import { errorMessage } from '../../core/errno.js';

export interface SpecWatcherOptions {
  /** Absolute path of the workspace. */
  root: string;
  /** Receives the keys a change asks for; events carry nothing else. */
  onKeys(keys: string[]): void;
  /** Paths that a running stage is writing: their events are its own, not input changes. */
  isBeingWritten(path: string): boolean;
  log: Logger;
  /** Poll instead of using inotify (network or container file systems that send no events). */
  usePolling?: boolean;
}

/**
 * Watches what a {@link WatchPlan} names with chokidar, and turns each event
 * into work-queue keys. It watches the workspace root and lets chokidar
 * descend only into folders that lead to a target: watching the targets
 * themselves loses a file that is deleted and created again, or one that does
 * not exist yet, which the root watch does not. A plan with other paths
 * replaces the chokidar watcher; once the new one is ready it asks for
 * `pipeline`, so that nothing changed during the switch goes unseen.
 */
export class SpecWatcher implements AsyncDisposable {
  private watcher: FSWatcher | undefined;
  private plan: WatchPlan | undefined;
  private key = '';
  private closed = false;

  constructor(private readonly opts: SpecWatcherOptions) {}

  /** Follows a new plan; resolves once chokidar has scanned what it watches. */
  async update(plan: WatchPlan): Promise<void> {
    this.plan = plan;
    const key = plan.paths.join('\n');
    if (this.closed || (key === this.key && this.watcher)) return;
    this.key = key;
    const old = this.watcher;
    this.watcher = undefined;
    await old?.close();
    const root = this.opts.root;
    const w = watch(root, {
      ignoreInitial: true,
      persistent: true,
      usePolling: this.opts.usePolling ?? false,
      ignored: (abs: string) => {
        const rel = this.relative(abs);
        return rel === undefined || isAlwaysIgnored(rel) || !(this.plan?.isRelevant(rel) ?? false);
      },
    });
    this.watcher = w;
    w.on('all', (event, abs) => this.onEvent(event, abs));
    w.on('error', (err) => this.opts.log.warn({ err: errorMessage(err) }, 'file watcher error'));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
    this.opts.log.debug({ paths: plan.paths.length }, 'watching');
    if (!this.closed && this.watcher === w) this.opts.onKeys([PIPELINE_KEY]);
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.watcher;
    this.watcher = undefined;
    await w?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private relative(abs: string): string | undefined {
    const rel = path.relative(this.opts.root, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
    return rel.split(path.sep).join('/');
  }

  private onEvent(event: string, abs: string): void {
    const rel = this.relative(abs);
    if (rel === undefined || rel === '' || !this.plan || isAlwaysIgnored(rel)) return;
    if (this.opts.isBeingWritten(rel)) return;
    const keys = this.plan.keysFor(rel, event === 'addDir' || event === 'unlinkDir');
    if (keys.length === 0) return;
    this.opts.log.debug({ event, path: rel, keys }, 'change');
    this.opts.onKeys(keys);
  }
}
