import { ReprodError } from '../core/errors.js';

/**
 * Where DVC keeps an experiment in git (`dvc/repo/experiments/refs.py`): a
 * commit on the baseline, named by the ref
 *
 *   refs/exps/<baseline sha[0:2]>/<baseline sha[2:]>/<name>
 *
 * `refs/exps/exec/...`, `refs/exps/stash` and the celery and apply
 * namespaces are DVC's own working refs, never experiments.
 */
export const EXPS_NAMESPACE = 'refs/exps';
const RESERVED = new Set(['exec', 'stash', 'celery', 'apply', 'temp']);

export interface ExpRef {
  /** The baseline commit (40 hex digits). */
  baseline: string;
  name: string;
}

export function expRefName(ref: ExpRef): string {
  if (!/^[0-9a-f]{40}$/.test(ref.baseline)) throw new Error(`expRefName: '${ref.baseline}' is not a full commit sha`);
  return `${EXPS_NAMESPACE}/${ref.baseline.slice(0, 2)}/${ref.baseline.slice(2)}/${ref.name}`;
}

/** The experiment a ref names, or undefined for refs that are not experiments. */
export function parseExpRef(ref: string): ExpRef | undefined {
  const parts = ref.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== EXPS_NAMESPACE) return undefined;
  const [, , a, b, name] = parts as [string, string, string, string, string];
  if (RESERVED.has(a) || !/^[0-9a-f]{2}$/.test(a) || !/^[0-9a-f]{38}$/.test(b) || name === '') return undefined;
  return { baseline: `${a}${b}`, name };
}

/**
 * Whether a name can be an experiment's: git's check-ref-format rules for one
 * ref component (DVC checks the whole ref with them), and no `/`.
 */
export function checkExpName(name: string): void {
  const bad = (why: string) =>
    new ReprodError('USAGE', `'${name}' cannot name an experiment: ${why}`, {
      remedy: 'Use letters, digits, - and _ (as git branch names allow), e.g. -n lr-small.',
    });
  if (name === '') throw bad('it is empty');
  if (name.includes('/')) throw bad("it contains '/'");
  // control characters, space and ~ ^ : ? * [ \ are what git refuses in a ref name
  if (/[\s~^:?*[\\]/.test(name) || hasControl(name)) throw bad('it contains a space, a control character or one of ~ ^ : ? * [ \\');
  if (name.startsWith('.') || name.startsWith('-')) throw bad("it starts with '.' or '-'");
  if (name.endsWith('.') || name.endsWith('.lock')) throw bad("it ends with '.' or '.lock'");
  if (name.includes('..') || name.includes('@{') || name === '@') throw bad("it contains '..' or '@{', or is '@'");
}

function hasControl(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

// DVC names unnamed experiments adjective-noun (`azure-walk`); these are reprod's own short lists
const ADJECTIVES = [
  'amber', 'azure', 'bold', 'brisk', 'calm', 'coral', 'crisp', 'dusky', 'eager', 'fleet', 'fresh', 'gentle', 'golden', 'green', 'hazel',
  'ivory', 'jolly', 'keen', 'lunar', 'mellow', 'misty', 'noble', 'olive', 'pale', 'quick', 'quiet', 'rapid', 'rosy', 'rustic', 'sandy',
  'silver', 'sleek', 'snowy', 'solar', 'spry', 'steady', 'sunny', 'tidal', 'vivid', 'warm', 'wild', 'windy',
] as const;
const NOUNS = [
  'acorn', 'alder', 'aspen', 'basin', 'birch', 'brook', 'cedar', 'cliff', 'cloud', 'comet', 'crane', 'delta', 'dune', 'ember', 'fern',
  'field', 'fjord', 'grove', 'harbor', 'heron', 'hill', 'lake', 'larch', 'maple', 'marsh', 'meadow', 'moss', 'oak', 'orbit', 'otter',
  'pine', 'pond', 'reef', 'ridge', 'river', 'shore', 'slope', 'spruce', 'stone', 'trail', 'walk', 'willow',
] as const;

/**
 * An adjective-noun name, chosen by `digest` (hex, e.g. a sha256 of the
 * experiment's settings and start time: the caller brings the entropy, so this
 * stays pure); names in `taken` are skipped, with a numeric suffix at last.
 */
export function generateExpName(digest: string, taken: ReadonlySet<string>): string {
  const n = Number.parseInt(digest.slice(0, 12), 16);
  if (!Number.isFinite(n)) throw new Error('generateExpName: digest must be hex');
  const total = ADJECTIVES.length * NOUNS.length;
  for (let i = 0; i < total; i++) {
    const k = (n + i) % total;
    const name = `${ADJECTIVES[Math.floor(k / NOUNS.length)]}-${NOUNS[k % NOUNS.length]}`;
    if (!taken.has(name)) return name;
  }
  for (let i = 2; ; i++) {
    const name = `${ADJECTIVES[0]}-${NOUNS[0]}-${i}`;
    if (!taken.has(name)) return name;
  }
}

/** `-n NAME` for a sweep of several: DVC numbers them NAME-1, NAME-2... */
export function sweepNames(base: string, count: number): string[] {
  return count === 1 ? [base] : Array.from({ length: count }, (_, i) => `${base}-${i + 1}`);
}
