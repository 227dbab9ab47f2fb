import type { Logger } from '../../core/ports.js';
import { PIPELINE_KEY } from '../../reconcile/reconciler.js';
import { isAlwaysIgnored, type WatchPlan } from './watch-plan.js';
import { errnoCode, errorMessage } from '../../core/errno.js';
import { TreeWatcher } from './tree-watcher.js';

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

/** How often a polling watcher looks (chokidar's default, which the daemon used before). */
const POLL_MS = 100;

/**
 * Watches what a {@link WatchPlan} names, and turns each change into
 * work-queue keys. It watches the workspace root and descends only into
 * folders that lead to a target or lie inside one, one watch per folder
 * ({@link TreeWatcher}): watching the targets themselves loses a file that
 * is deleted and created again, or one that does not exist yet, which the
 * folder watches do not. A plan with other paths re-aligns the watches; once
 * they are in place it asks for `pipeline`, so that nothing changed during
 * the switch goes unseen.
 */
export class SpecWatcher implements AsyncDisposable {
  private readonly tree: TreeWatcher;
  private plan: WatchPlan | undefined;
  private key: string | undefined;
  private closed = false;
  /** Plans are followed one at a time, in the order they came. */
  private updating: Promise<void> = Promise.resolve();
  /** Errors already logged, by code: a full watch table is said once, not once per folder. */
  private readonly warned = new Set<string>();

  constructor(private readonly opts: SpecWatcherOptions) {
    this.tree = new TreeWatcher({
      root: opts.root,
      descend: (rel) => !isAlwaysIgnored(rel) && (this.plan?.isRelevant(rel) ?? false),
      onChange: (rel, isDir) => this.onChange(rel, isDir),
      onError: (err, rel) => this.onError(err, rel),
      ...(opts.usePolling ? { pollMs: POLL_MS } : {}),
    });
  }

  /** Follows a new plan; resolves once every folder it needs is watched. */
  update(plan: WatchPlan): Promise<void> {
    const next = this.updating.then(() => this.follow(plan));
    this.updating = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tree.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private async follow(plan: WatchPlan): Promise<void> {
    const key = plan.paths.join('\n');
    this.plan = plan;
    if (this.closed || key === this.key) return;
    this.key = key;
    this.warned.clear();
    await this.tree.refresh();
    this.opts.log.debug({ paths: plan.paths.length, folders: this.tree.watched().length }, 'watching');
    if (!this.closed) this.opts.onKeys([PIPELINE_KEY]);
  }

  private onError(err: unknown, rel: string): void {
    const code = errnoCode(err) ?? 'error';
    if (this.warned.has(code)) return;
    this.warned.add(code);
    const hint = code === 'ENOSPC' ? ' (the inotify watch limit, fs.inotify.max_user_watches, is reached: raise it, or run the daemon with --poll)' : '';
    this.opts.log.warn({ err: errorMessage(err), path: rel === '' ? '.' : rel }, `file watcher error${hint}; changes there go unseen`);
  }

  private onChange(rel: string, isDir: boolean): void {
    if (rel === '' || !this.plan || isAlwaysIgnored(rel)) return;
    if (this.opts.isBeingWritten(rel)) return;
    const keys = this.plan.keysFor(rel, isDir);
    if (keys.length === 0) return;
    this.opts.log.debug({ path: rel, dir: isDir, keys }, 'change');
    this.opts.onKeys(keys);
  }
}
