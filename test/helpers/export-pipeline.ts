import { writeFiles } from './workspace.js';

/**
 * A three-stage pipeline of busybox stages for the export tests: a params
 * key, a code dependency, a directory output and a `cache: false` metric,
 * every output a pure function of its inputs (so that two runs anywhere
 * give the same bytes, and the same dvc.lock).
 *
 *   gen ─► split ─► score
 */
export function writeExportPipeline(root: string, image: string): void {
  const files: Record<string, string> = {
    'params.yaml': 'gen:\n  n: 3\nscore:\n  weight: 2\n',
    'src/score.sh': 'set -e\nw=$(grep weight params.yaml | tr -dc 0-9)\nn=$(cat data/parts/* | wc -l)\necho "{\\"lines\\": $n, \\"weight\\": $w}" > metrics.json\n',
    'dvc.yaml': [
      'stages:',
      '  gen:',
      '    cmd: mkdir -p data && seq 1 ${gen.n} > data/raw.txt',
      '    params:',
      '      - gen.n',
      '    outs:',
      '      - data/raw.txt',
      '  split:',
      '    cmd:',
      '      - mkdir -p data/parts',
      '      - head -n 1 data/raw.txt > data/parts/a.txt && tail -n +2 data/raw.txt > data/parts/b.txt',
      '    deps:',
      '      - data/raw.txt',
      '    outs:',
      '      - data/parts',
      '  score:',
      '    cmd: sh src/score.sh',
      '    deps:',
      '      - src/score.sh',
      '      - data/parts',
      '    params:',
      '      - score.weight',
      '    metrics:',
      '      - metrics.json:',
      '          cache: false',
      '',
    ].join('\n'),
  };
  for (const s of ['gen', 'split', 'score']) files[`stages/${s}/Dockerfile`] = `FROM ${image}\n`;
  writeFiles(root, files);
}
