// Lint, and the dependency rule of the design:
//
//   core ◄ pure modules ◄ hashing, cache ◄ adapters ◄ app ◄ cli
//
// each layer imports only the layers to its left. The pure modules do no I/O
// and are ordered among themselves (PURE, lowest first); the CLI imports only
// app/, core/, its own files and the pure formatters named in CLI_FORMATTERS.
// test/unit/eslint-config.test.ts proves that each restriction fires.
import tseslint from 'typescript-eslint';

/** Modules that do I/O, or load code or data at run time (`createRequire`). */
const io = ['node:fs', 'node:fs/promises', 'fs', 'fs/promises', 'node:child_process', 'child_process', 'dockerode', 'chokidar', 'node:http', 'node:https', 'node:net', 'node:module', 'module'];

/**
 * The pure modules, lowest first. Each imports core and the tiers before its
 * own, never a module of its own tier or a later one. Measured from the
 * imports: lock, status, tracking, remote, export and metrics import
 * pipeline; remote imports lock; reconcile imports pipeline, lock and status;
 * plots and experiments import metrics.
 */
const PURE = [['pipeline'], ['lock'], ['status'], ['tracking', 'remote', 'export', 'metrics'], ['reconcile', 'plots', 'experiments']];
const pureDirs = PURE.flat();

/** What the CLI may take from the pure modules: renderings of their own data, nothing that decides. */
const CLI_FORMATTERS = [
  { module: 'pipeline/dag-format' },
  { module: 'pipeline/stage-status', names: ['describeReason', 'toDvcStatusJson'] },
  { module: 'remote/cloud-status', names: ['formatCloudStatus'] },
  { module: 'remote/report', names: ['summary', 'failuresError'] },
  { module: 'lock/py-json', names: ['pyJsonDumps'] },
  { module: 'metrics/diff', names: ['diffJson'] },
  { module: 'metrics/results', names: ['revResultJson'] },
  { module: 'metrics/table', names: ['DEFAULT_PRECISION', 'diffTable', 'metricsTable', 'renderTable'] },
  { module: 'plots/templates', names: ['TEMPLATES'] },
  { module: 'experiments/exp-table', names: ['showCsv', 'showJson', 'showTable'] },
  { module: 'plots/vega-template', names: ['isBuiltinTemplate', 'templateValue'] },
];

/**
 * The one schema loader reads the package's own JSON Schemas (schemas/) with
 * node:fs, and requires (node:module's createRequire) the validators `npm run
 * build` compiled from them, or else ajv, to compile them: code and data of
 * reprod itself, never the workspace. It alone among the pure modules may
 * import these two; every other rule holds for it.
 */
const SCHEMA_LOADER = 'src/pipeline/schemas.ts';
const SCHEMA_LOADER_IO = ['node:fs', 'node:module'];

/**
 * node:crypto, loaded on first use (process.getBuiltinModule): the one
 * module of core or the pure modules that takes a module of Node's other
 * than by import, so that no other one slips past the I/O rule that way.
 */
const LAZY_CRYPTO = 'src/core/crypto.ts';

const RUN_TIME_LOAD = { selector: 'ImportExpression', message: 'pure modules and core load nothing at run time: take it through a port, or import it statically' };
const BUILTIN_LOAD = {
  selector: "CallExpression[callee.property.name='getBuiltinModule']",
  message: "pure modules and core take Node's modules by import (node:crypto loaded on first use is src/core/crypto.ts)",
};

const layer = (...dirs) => dirs.flatMap((d) => [`**/${d}/**`, `../${d}/*`, `../../${d}/*`]);
const group = (patterns, message) => ({ group: patterns, message });

/** One no-restricted-imports for `files`: the modules in `paths` and the groups of patterns. */
const restrict = (files, paths, pathMessage, groups) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { paths: paths.map((name) => ({ name, message: pathMessage })), patterns: groups.filter((g) => g.group.length > 0) }],
  },
});

const PURE_IO = 'pure modules do no I/O: it arrives through ports (src/core/ports.ts)';
const BELOW = layer('hashing', 'cache', 'adapters', 'app', 'cli');

/** The rule of one pure module: no I/O, nothing from the layers above, nothing from its tier or a later one. */
function pureRule(dir, tier, files = [`src/${dir}/**`], refused = io) {
  const higher = PURE.slice(tier).flat().filter((d) => d !== dir);
  return restrict(files, refused, PURE_IO, [
    group(BELOW, 'pure modules sit below hashing, cache, adapters, app and cli'),
    group(layer(...higher), `${dir} sits below ${higher.join(', ')} among the pure modules (${PURE.map((t) => t.join('|')).join(' ◄ ')}): move what both need down, or the importer up`),
  ]);
}

const pureRules = PURE.flatMap((dirs, tier) => dirs.map((dir) => pureRule(dir, tier)));

/** pipeline's rule for the schema loader, less the two modules it reads and loads with. */
const schemaLoaderRule = pureRule('pipeline', PURE.findIndex((t) => t.includes('pipeline')), [SCHEMA_LOADER], io.filter((m) => !SCHEMA_LOADER_IO.includes(m)));

const CLI_ONLY = 'the CLI does presentation: it imports app/, core/ and the pure formatters named in eslint.config.js';
const cliRule = restrict(['src/cli/**'], io, 'the CLI does presentation: I/O is app/\'s', [
  group(
    [...layer(...pureDirs, 'hashing', 'cache', 'adapters'), ...CLI_FORMATTERS.flatMap((f) => [`!../${f.module}.js`, `!**/${f.module}.js`])],
    CLI_ONLY,
  ),
  ...CLI_FORMATTERS.filter((f) => f.names).map((f) => ({ group: [`../${f.module}.js`], allowImportNames: f.names, message: `${CLI_ONLY}: from ${f.module}, only ${f.names.join(', ')}` })),
]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/.data/**', 'coverage/**', '.tmp/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  restrict(['src/core/**'], io, 'core imports nothing else of ours and does no I/O', [
    group(layer(...pureDirs, 'hashing', 'cache', 'adapters', 'app', 'cli'), 'core imports nothing else of ours and does no I/O'),
  ]),
  ...pureRules,
  schemaLoaderRule,
  {
    files: ['src/core/**', ...pureDirs.map((d) => `src/${d}/**`)],
    ignores: [LAZY_CRYPTO],
    rules: { 'no-restricted-syntax': ['error', RUN_TIME_LOAD, BUILTIN_LOAD] },
  },
  { files: [LAZY_CRYPTO], rules: { 'no-restricted-syntax': ['error', RUN_TIME_LOAD] } },
  restrict(['src/hashing/**', 'src/cache/**'], [], '', [group(layer('adapters', 'app', 'cli', 'reconcile'), 'hashing and cache sit below adapters, app and cli')]),
  restrict(['src/adapters/**'], [], '', [group(layer('app', 'cli'), 'adapters never import the composition root or the CLI')]),
  restrict(['src/app/**'], [], '', [group(layer('cli'), 'the composition root never imports the CLI')]),
  cliRule,
  // bin/reprod.js is CommonJS (bin/package.json): the entry Node starts without its ES module loader
  { files: ['bin/**/*.js'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
