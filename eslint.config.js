// Lint, and the dependency rule of the design (core ◄ pure modules ◄ adapters ◄ app ◄ cli):
// each layer may import only the layers to its left; pure modules do no I/O.
import tseslint from 'typescript-eslint';

const io = ['node:fs', 'node:fs/promises', 'fs', 'fs/promises', 'node:child_process', 'child_process', 'dockerode', 'chokidar', 'node:http', 'node:https', 'node:net'];
const layer = (...dirs) => dirs.flatMap((d) => [`**/${d}/**`, `../${d}/*`, `../../${d}/*`]);
const restrict = (files, paths, patterns, message) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: paths.map((name) => ({ name, message })),
        patterns: patterns.length ? [{ group: patterns, message }] : [],
      },
    ],
  },
});

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
  restrict(['src/core/**'], io, layer('pipeline', 'lock', 'status', 'reconcile', 'hashing', 'cache', 'adapters', 'app', 'cli', 'tracking', 'remote'), 'core imports nothing else of ours and does no I/O'),
  restrict(['src/pipeline/**', 'src/lock/**', 'src/status/**', 'src/reconcile/**', 'src/export/**', 'src/remote/**', 'src/tracking/**'], io, layer('hashing', 'cache', 'adapters', 'app', 'cli'), 'pure modules do no I/O: it arrives through ports (src/core/ports.ts)'),
  restrict(['src/hashing/**', 'src/cache/**'], [], layer('adapters', 'app', 'cli', 'reconcile'), 'hashing and cache sit below adapters, app and cli'),
  restrict(['src/adapters/**'], [], layer('app', 'cli'), 'adapters never import the composition root or the CLI'),
  restrict(['src/app/**'], [], layer('cli'), 'the composition root never imports the CLI'),
);
