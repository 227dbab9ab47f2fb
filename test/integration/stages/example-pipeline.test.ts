// The example pipeline's stage code (stages/*/*.py, run by the commands in
// dvc.yaml) in its stage images, the way reprod runs stages: no network, no
// capabilities, as the workspace owner, the workspace bind-mounted at its own
// path. Needs `npm run images` first (CI runs it).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stageImage } from '../../../scripts/image-names.js';

const exec = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const stageOrder = ['ingest', 'preprocess', 'train', 'evaluate'];

/** test/fixtures/mlflow-2.17-model-format.json: MLflow 2.17's model format, read from its source. */
interface ModelFormat {
  mlmodelFile: string;
  metadataFiles: string[];
  topLevelFields: Record<string, string[]>;
  pyfunc: { flavorName: string; required: string[]; sklearnSaveModelAdds: string[]; envKeys: Record<string, string> };
  loaderModules: Record<string, string>;
  sklearn: { flavorName: string; required: string[]; pickledModel: string; serializationFormats: string[] };
  pythonEnvKeys: string[];
  condaEnv: { name: string; channels: string[] };
}

interface StageDecl {
  cmd: string;
  outs: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The paths of an outs/metrics/plots list: plain strings or one-key maps of options. */
function paths(list: unknown): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new Error('expected a list of outputs');
  return list.map((entry: unknown) => {
    if (typeof entry === 'string') return entry;
    const [key] = isRecord(entry) ? Object.keys(entry) : [];
    if (key === undefined) throw new Error(`unexpected output entry ${JSON.stringify(entry)}`);
    return key;
  });
}

async function readStages(): Promise<Map<string, StageDecl>> {
  const doc: unknown = parse(await readFile(join(repoRoot, 'dvc.yaml'), 'utf8'));
  const stages = isRecord(doc) ? doc['stages'] : undefined;
  if (!isRecord(stages)) throw new Error('dvc.yaml has no stages');
  const out = new Map<string, StageDecl>();
  for (const [name, body] of Object.entries(stages)) {
    if (!isRecord(body) || typeof body['cmd'] !== 'string') throw new Error(`stage ${name} has no string cmd`);
    out.set(name, {
      cmd: body['cmd'],
      outs: [...paths(body['outs']), ...paths(body['metrics']), ...paths(body['plots'])],
    });
  }
  return out;
}

/** A fresh workspace: the pipeline's spec and code, none of its outputs. */
async function makeWorkspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-example-'));
  for (const entry of ['dvc.yaml', 'params.yaml', 'stages']) {
    await cp(join(repoRoot, entry), join(dir, entry), { recursive: true });
  }
  return dir;
}

/** Stage containers run as the workspace owner; as root, the test makes that an ordinary user. */
async function owner(dir: string): Promise<string> {
  if (process.getuid?.() === 0) {
    await exec('chown', ['-R', '1000:1000', dir]);
    return '1000:1000';
  }
  return `${process.getuid?.() ?? 1000}:${process.getgid?.() ?? 1000}`;
}

async function runStage(workspace: string, user: string, stage: string, cmd: string): Promise<string> {
  const { stdout } = await exec('docker', [
    'run', '--rm', '--pull', 'never', '--network', 'none', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
    '--user', user, '-v', `${workspace}:${workspace}`, '-w', workspace,
    stageImage(stage), 'sh', '-c', cmd,
  ]);
  return stdout;
}

/** md5 of every file under `dir`, keyed by path relative to `root`. */
async function digests(root: string, dir: string, into: Map<string, string>): Promise<void> {
  const info = await stat(dir);
  if (info.isFile()) {
    into.set(relative(root, dir), createHash('md5').update(await readFile(dir)).digest('hex'));
    return;
  }
  for (const name of (await readdir(dir)).sort()) await digests(root, join(dir, name), into);
}

async function runPipeline(workspace: string): Promise<Map<string, string>> {
  const stages = await readStages();
  const user = await owner(workspace);
  const files = new Map<string, string>();
  for (const name of stageOrder) {
    const stage = stages.get(name);
    if (!stage) throw new Error(`dvc.yaml has no stage ${name}`);
    await runStage(workspace, user, name, stage.cmd);
    for (const out of stage.outs) await digests(workspace, join(workspace, out), files);
  }
  return files;
}

describe('the example pipeline in its stage images', () => {
  const workspaces: string[] = [];
  let first = new Map<string, string>();
  let firstWorkspace = '';

  beforeAll(async () => {
    firstWorkspace = await makeWorkspace();
    workspaces.push(firstWorkspace);
    first = await runPipeline(firstWorkspace);
  });

  afterAll(async () => {
    for (const dir of workspaces) await rm(dir, { recursive: true, force: true });
  });

  it('dvc.yaml runs the four stages in order, each through its own code file', async () => {
    const stages = await readStages();
    expect([...stages.keys()]).toEqual(stageOrder);
    for (const name of stageOrder) expect(stages.get(name)?.cmd).toBe(`python3 stages/${name}/${name}.py`);
  });

  it('every stage writes exactly the outputs it declares', () => {
    expect([...first.keys()].sort()).toEqual([
      'data/processed/test.csv',
      'data/processed/train.csv',
      'data/raw/dataset.csv',
      'metrics/scores.json',
      'models/model/MLmodel',
      'models/model/conda.yaml',
      'models/model/model.pkl',
      'models/model/python_env.yaml',
      'models/model/requirements.txt',
      'plots/confusion.csv',
      'plots/roc.csv',
    ]);
  });

  it('evaluate reports accuracy, f1 and ROC AUC of a model that learned something', async () => {
    const scores: unknown = JSON.parse(await readFile(join(firstWorkspace, 'metrics/scores.json'), 'utf8'));
    expect(isRecord(scores) && Object.keys(scores)).toEqual(['accuracy', 'f1', 'roc_auc']);
    if (!isRecord(scores)) return;
    for (const key of ['accuracy', 'f1', 'roc_auc']) {
      expect(scores[key]).toBeGreaterThan(0.9);
      expect(scores[key]).toBeLessThanOrEqual(1);
    }
  });

  it("train writes an MLflow Model folder in MLflow 2.17's format: both flavors' fields, a pyfunc loader module MLflow has, the environment files", async () => {
    const format = JSON.parse(await readFile(join(repoRoot, 'test/fixtures/mlflow-2.17-model-format.json'), 'utf8')) as ModelFormat;
    const dir = join(firstWorkspace, 'models/model');
    expect((await readdir(dir)).sort()).toEqual([...format.metadataFiles, format.sklearn.pickledModel].sort());
    const mlmodel = parse(await readFile(join(dir, format.mlmodelFile), 'utf8'), { version: '1.1' }) as Record<string, unknown>;
    // what save_model writes; the run's fields are added when reprod logs the folder
    expect(Object.keys(mlmodel).sort()).toEqual([...(format.topLevelFields['written by save_model'] ?? [])].sort());
    expect(mlmodel['model_size_bytes']).toBe((await stat(join(dir, format.sklearn.pickledModel))).size);
    const flavors = mlmodel['flavors'] as Record<string, Record<string, unknown>>;
    const pyfunc = flavors[format.pyfunc.flavorName] ?? {};
    const sk = flavors[format.sklearn.flavorName] ?? {};
    for (const key of [...format.pyfunc.required, ...format.pyfunc.sklearnSaveModelAdds]) expect(pyfunc, key).toHaveProperty(key);
    for (const key of format.sklearn.required) expect(sk, key).toHaveProperty(key);
    expect(Object.keys(format.loaderModules)).toContain(pyfunc['loader_module']);
    expect(pyfunc['loader_module']).toBe('mlflow.sklearn');
    expect(pyfunc['model_path']).toBe(format.sklearn.pickledModel);
    expect(pyfunc['env']).toEqual(format.pyfunc.envKeys);
    expect(sk['pickled_model']).toBe(format.sklearn.pickledModel);
    expect(format.sklearn.serializationFormats).toContain(sk['serialization_format']);
    expect(String(sk['sklearn_version'])).toMatch(/^\d+\.\d+/);
    expect(String(pyfunc['python_version'])).toMatch(/^3\.\d+\.\d+$/);

    const pythonEnv = parse(await readFile(join(dir, 'python_env.yaml'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(pythonEnv)).toEqual(format.pythonEnvKeys);
    expect(pythonEnv['python']).toBe(pyfunc['python_version']);
    expect(pythonEnv['dependencies']).toEqual(['-r requirements.txt']);
    const requirements = (await readFile(join(dir, 'requirements.txt'), 'utf8')).split('\n');
    expect(requirements[0]).toBe(`mlflow==${String(mlmodel['mlflow_version'])}`);
    expect(requirements).toContain(`scikit-learn==${String(sk['sklearn_version'])}`);
    const conda = parse(await readFile(join(dir, 'conda.yaml'), 'utf8')) as { name: string; channels: string[]; dependencies: unknown[] };
    expect({ name: conda.name, channels: conda.channels }).toEqual(format.condaEnv);
    expect(conda.dependencies[0]).toBe(`python=${String(pyfunc['python_version'])}`);
    expect(conda.dependencies.at(-1)).toEqual({ pip: requirements });
  });

  it('the plots have the columns dvc.yaml names as x and y', async () => {
    const header = async (file: string): Promise<string | undefined> =>
      (await readFile(join(firstWorkspace, file), 'utf8')).split('\n')[0];
    expect(await header('plots/roc.csv')).toBe('fpr,tpr');
    expect(await header('plots/confusion.csv')).toBe('actual,predicted');
  });

  it('running again in another workspace gives the same bytes', async () => {
    const second = await makeWorkspace();
    workspaces.push(second);
    expect(await runPipeline(second)).toEqual(first);
    // the four stage containers again, as beforeAll runs them (54 s alone on a loaded 2-core machine)
  }, 180_000);
});
