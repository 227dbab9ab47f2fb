/**
 * The ports: every external system reprod talks to, one file each under
 * ports/. Pure modules see I/O only through these interfaces; adapters
 * implement them (`satisfies` or `implements`), and the composition root
 * (app/) supplies them.
 *
 *   runtime.ts         StageRuntime (host, container engine)
 *   workspace.ts       Workspace (the project folder), Hasher
 *   cache.ts           ObjectCache, CacheStore (.dvc/cache)
 *   remote.ts          RemoteStore (DVC remotes)
 *   tracker.ts         Tracker (MLflow)
 *   lock-store.ts      LockStore (dvc.lock)
 *   workspace-lock.ts  WorkspaceLock (.dvc/tmp/lock, shared with DVC)
 *   clock.ts           Clock, TimerClock
 *   logger.ts          Logger
 *   web-view.ts        WebViewSource (the daemon's web page)
 */
export * from './ports/runtime.js';
export * from './ports/workspace.js';
export * from './ports/cache.js';
export * from './ports/remote.js';
export * from './ports/tracker.js';
export * from './ports/lock-store.js';
export * from './ports/workspace-lock.js';
export * from './ports/clock.js';
export * from './ports/logger.js';
export * from './ports/web-view.js';
export * from './ports/progress.js';
