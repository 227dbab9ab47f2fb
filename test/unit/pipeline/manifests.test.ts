import { describe, expect, it } from 'vitest';
import { ReprodError, ReprodErrors } from '../../../src/core/errors.js';
import { parseManifests, parseMemorySize } from '../../../src/pipeline/manifests.js';

function parseError(files: { path: string; text: string }[]): ReprodError {
  try {
    parseManifests(files);
  } catch (err) {
    if (err instanceof ReprodError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

const FULL = `# comment before the first document
apiVersion: reprod.dev/v1
kind: Stage
metadata:
  name: train
spec:
  build:
    context: stages/train
    dockerfile: Dockerfile.gpu
    args: {BASE_IMAGE: reprod/ml-base:latest}
  network: bridge
  resources: {cpus: 1.5, memory: 2g}
  env:
    OMP_NUM_THREADS: "2"
  user: "1000:1000"
  retries: {limit: 3}
  model:
    path: models/model.pkl
    name: iris
    promote: {metric: accuracy, threshold: 0.9, alias: champion}
---
apiVersion: reprod.dev/v1
kind: Stage
metadata: {name: gen}
spec:
  image: busybox:latest
---
# an empty document is ignored
---
apiVersion: reprod.dev/v1
kind: Pipeline
metadata: {name: example}
spec: {maxParallel: 2}
`;

describe('parseManifests', () => {
  it('reads every document of a multi-document file', () => {
    const { stages, pipeline } = parseManifests([{ path: 'manifests/all.yaml', text: FULL }]);
    expect([...stages.keys()]).toEqual(['train', 'gen']);
    expect(stages.get('train')).toEqual({
      name: 'train',
      build: { context: 'stages/train', dockerfile: 'Dockerfile.gpu', args: { BASE_IMAGE: 'reprod/ml-base:latest' } },
      network: 'bridge',
      cpus: 1.5,
      memoryBytes: 2 * 1024 ** 3,
      env: { OMP_NUM_THREADS: '2' },
      user: '1000:1000',
      retries: { limit: 3, backoffSeconds: 10 },
      model: { path: 'models/model.pkl', name: 'iris', promote: { metric: 'accuracy', threshold: 0.9, alias: 'champion' } },
      source: { file: 'manifests/all.yaml', key: 'metadata.name', line: 5 },
    });
    expect(stages.get('gen')).toMatchObject({ image: 'busybox:latest', env: {}, source: { line: 24 } });
    expect(pipeline).toEqual({ maxParallel: 2, source: { file: 'manifests/all.yaml', key: 'metadata.name', line: 32 } });
  });

  it('accepts no files at all', () => {
    expect(parseManifests([])).toEqual({ stages: new Map(), pipeline: {} });
  });

  it('reports an unknown key with file, key path and line', () => {
    const err = parseError([
      { path: 'manifests/a.yaml', text: 'apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: train}\nspec:\n  imag: x\n' },
    ]);
    expect(err.code).toBe('SCHEMA');
    expect(err.source).toEqual({ file: 'manifests/a.yaml', key: 'spec.imag', line: 5 });
    expect(err.message).toBe("unknown key 'imag'");
    expect(err.format()).toBe("manifests/a.yaml:5: spec.imag: unknown key 'imag'\n  hint: Fix or remove the key shown; see schemas/ for what is allowed.");
  });

  it('gives the line inside a later document', () => {
    const text = 'apiVersion: reprod.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {}\n---\napiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: t}\nspec:\n  network: wifi\n';
    const err = parseError([{ path: 'm.yaml', text }]);
    expect(err.source).toEqual({ file: 'm.yaml', key: 'spec.network', line: 10 });
    expect(err.message).toContain('must be one of: "none", "bridge", "host"');
  });

  it('reports a YAML syntax error at its line in the file', () => {
    const text = 'apiVersion: reprod.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {}\n---\nkind: [\n';
    const err = parseError([{ path: 'm.yaml', text }]);
    expect(err.code).toBe('YAML_SYNTAX');
    expect(err.source?.file).toBe('m.yaml');
    expect(err.source?.line).toBeGreaterThanOrEqual(6);
  });

  it('collects every problem of every file', () => {
    const err = parseError([
      { path: 'a.yaml', text: 'apiVersion: reprod.dev/v2\nkind: Stage\nmetadata: {name: x}\nspec: {}\n' },
      { path: 'b.yaml', text: 'apiVersion: reprod.dev/v1\nkind: Job\nmetadata: {}\nspec: {}\n' },
    ]);
    expect(err).toBeInstanceOf(ReprodErrors);
    const all = (err as ReprodErrors).errors.map((e) => `${e.source?.file}:${e.source?.line} ${e.source?.key}`);
    expect(all).toEqual(['a.yaml:1 apiVersion', 'b.yaml:2 kind', 'b.yaml:3 metadata.name']);
  });

  it('refuses image and build together, and runtime host with an image', () => {
    const both = parseError([
      { path: 'a.yaml', text: 'apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: x}\nspec:\n  image: a\n  build: {context: b}\n' },
    ]);
    expect(both.message).toBe('`image` and `build` exclude each other, and `runtime: host` takes neither');
    expect(both.source?.key).toBe('spec');
    const host = parseError([
      { path: 'a.yaml', text: 'apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: x}\nspec: {runtime: host, image: a}\n' },
    ]);
    expect(host.message).toContain('`runtime: host` takes neither');
  });

  it('wants env values as strings and memory as a size', () => {
    const env = parseError([
      { path: 'a.yaml', text: 'apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: x}\nspec:\n  env:\n    N: 2\n' },
    ]);
    expect(env.source).toEqual({ file: 'a.yaml', key: 'spec.env.N', line: 6 });
    expect(env.message).toBe('must be a string');
    const mem = parseError([
      { path: 'a.yaml', text: 'apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: x}\nspec:\n  resources: {memory: lots}\n' },
    ]);
    expect(mem.source?.key).toBe('spec.resources.memory');
  });

  it('refuses a build context outside the workspace', () => {
    const err = parseError([
      { path: 'a.yaml', text: 'apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: x}\nspec:\n  build: {context: ../elsewhere}\n' },
    ]);
    expect(err.source).toEqual({ file: 'a.yaml', key: 'spec.build.context', line: 5 });
  });

  it('names both files of a duplicate entry', () => {
    const doc = (n: string) => `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata:\n  name: ${n}\nspec: {}\n`;
    const err = parseError([
      { path: 'manifests/a.yaml', text: doc('train') },
      { path: 'manifests/b.yaml', text: `# x\n${doc('train')}` },
    ]);
    expect(err.message).toBe('stage `train` has two manifest entries: manifests/a.yaml:4 and manifests/b.yaml:5');
    expect(err.source?.file).toBe('manifests/b.yaml');
  });

  it('refuses two Pipeline documents', () => {
    const doc = 'apiVersion: reprod.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {maxParallel: 1}\n';
    const err = parseError([{ path: 'a.yaml', text: `${doc}---\n${doc}` }]);
    expect(err.message).toBe('two `kind: Pipeline` manifests: a.yaml:3 and a.yaml:8');
  });

  it('refuses a user that names root (uid 0, root, group 0) with the file and line of `user:`', () => {
    const stage = (user: string) => `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: t}\nspec:\n  network: none\n  user: ${user}\n`;
    for (const user of ['0', '"0:0"', 'root', '"root:root"', '"1000:0"', '"00"']) {
      const err = parseError([{ path: 'manifests/t.yaml', text: stage(user) }]);
      expect(err.code, user).toBe('SCHEMA');
      expect(err.source).toEqual({ file: 'manifests/t.yaml', key: 'spec.user', line: 6 });
      expect(err.format()).toMatch(/^manifests\/t\.yaml:6: spec\.user: `user: [^`]+` names root, and a stage never runs as root\n  hint: Remove `user:`/);
    }
    // a uid alone, as YAML reads it (a number), is a user too
    expect(parseManifests([{ path: 'm.yaml', text: stage('1000') }]).stages.get('t')?.user).toBe('1000');
    expect(parseManifests([{ path: 'm.yaml', text: stage('app:staff') }]).stages.get('t')?.user).toBe('app:staff');
  });

  it('reads credentials (sorted) and a pids limit; refuses unknown credential kinds and tiny limits', () => {
    const text = (spec: string) => `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: t}\nspec:\n${spec}`;
    const spec = parseManifests([{ path: 'm.yaml', text: text('  credentials: [mlflow, aws]\n  resources: {pids: 64}\n') }]).stages.get('t');
    expect(spec).toMatchObject({ credentials: ['aws', 'mlflow'], pidsLimit: 64 });
    expect(parseManifests([{ path: 'm.yaml', text: text('  network: none\n') }]).stages.get('t')?.credentials).toBeUndefined();
    const kind = parseError([{ path: 'm.yaml', text: text('  credentials: [mlflow, gcp]\n') }]);
    expect(kind.source).toMatchObject({ file: 'm.yaml', key: 'spec.credentials[1]', line: 5 });
    const pids = parseError([{ path: 'm.yaml', text: text('  resources: {pids: 2}\n') }]);
    expect(pids.source).toMatchObject({ file: 'm.yaml', key: 'spec.resources.pids', line: 5 });
  });

  it('wants maxParallel as an integer of at least 1', () => {
    const err = parseError([{ path: 'a.yaml', text: 'apiVersion: reprod.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {maxParallel: 0}\n' }]);
    expect(err.source?.key).toBe('spec.maxParallel');
  });
});

describe('parseMemorySize', () => {
  it('reads sizes as Docker does (powers of 1024)', () => {
    expect(parseMemorySize('512m')).toBe(512 * 1024 ** 2);
    expect(parseMemorySize('2g')).toBe(2 * 1024 ** 3);
    expect(parseMemorySize('2G')).toBe(2 * 1024 ** 3);
    expect(parseMemorySize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseMemorySize('16mb')).toBe(16 * 1024 ** 2);
    expect(parseMemorySize('100k')).toBe(102400);
    expect(parseMemorySize('4096')).toBe(4096);
    expect(parseMemorySize(4096)).toBe(4096);
    expect(parseMemorySize('lots')).toBeUndefined();
    expect(parseMemorySize('12i')).toBeUndefined();
    expect(parseMemorySize('0')).toBeUndefined();
  });
});
