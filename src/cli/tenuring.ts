/**
 * V8 moves an allocation site's objects straight to the old generation once
 * many of them have outlived a young-generation collection. reprod makes a
 * few short-lived objects per stage (plans, status documents, machine
 * snapshots), so a site tenured early piles garbage into the old generation
 * until a full collection: a no-op repro of 5,000 stages peaked ~40 MiB
 * higher with it (see docs/LIMITS.md, bench/noop-rss.ts).
 *
 * Only the commands that go through many stages turn it off, when they
 * start: node:v8 is not loaded otherwise (with what it brings, a few
 * milliseconds of a short command).
 */
const MANY_STAGES: ReadonlySet<string> = new Set(['repro', 'daemon', 'exp', 'commit']);

/** Called as a command starts, with the top-level command it belongs to (`exp run`: `exp`). */
export function turnOffPretenuringFor(topCommand: string): void {
  if (MANY_STAGES.has(topCommand)) process.getBuiltinModule('node:v8').setFlagsFromString('--no-allocation-site-pretenuring');
}
