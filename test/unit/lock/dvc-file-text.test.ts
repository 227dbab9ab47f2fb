import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newDvcFileText, updatedDvcFileText } from '../../../src/lock/dvc-file-text.js';
import { conformance } from '../../helpers/conformance.js';

const N02 = conformance('dvc-3.67', 'n02-dvc-add-dep');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
/** md5 and size of data/raw.dvc in a recorded workspace listing. */
function recordedDvcFile(listing: string): { md5: string; size: number } {
  const row = readFileSync(listing, 'utf8').split('\n').find((l) => l.endsWith('\tdata/raw.dvc'));
  if (!row) throw new Error(`no data/raw.dvc in ${listing}`);
  const [m, size] = row.split('\t');
  return { md5: m as string, size: Number(size) };
}

describe('.dvc file text', () => {
  it('a new directory output is what `dvc add data/raw` wrote, byte for byte', () => {
    const text = newDvcFileText('raw', { md5: '07526cd625dbb1c572ec0778e63f4545.dir', size: 12, nfiles: 3 });
    expect(text).toBe(readFileSync(path.join(N02, 'input', 'data', 'raw.dvc'), 'utf8'));
  });

  it('a file output has no nfiles; an executable one says isexec before hash', () => {
    expect(newDvcFileText('x.csv', { md5: '55ef7578b917b32028f18767310eac72', size: 13 })).toBe(
      'outs:\n- md5: 55ef7578b917b32028f18767310eac72\n  size: 13\n  hash: md5\n  path: x.csv\n',
    );
    expect(newDvcFileText('run.sh', { md5: '55ef7578b917b32028f18767310eac72', size: 13, isexec: true })).toBe(
      'outs:\n- md5: 55ef7578b917b32028f18767310eac72\n  size: 13\n  isexec: true\n  hash: md5\n  path: run.sh\n',
    );
  });

  it('rewritten after a change, it is the file DVC rewrote in n02 (mods 1 and 2), by md5 and size', () => {
    const input = readFileSync(path.join(N02, 'input', 'data', 'raw.dvc'), 'utf8');
    const cases: [number, { md5: string; size: number; nfiles: number }][] = [
      [1, { md5: '58fb6e5cb8f9a7e778923efb11ff846a.dir', size: 16, nfiles: 4 }],
      [2, { md5: '9aa7518627dd64aa4245624755b95157.dir', size: 17, nfiles: 3 }],
    ];
    for (const [mod, info] of cases) {
      const text = updatedDvcFileText(input, 'data/raw.dvc', new Map([[0, info]]));
      const want = recordedDvcFile(path.join(N02, 'expected', 'mods', String(mod), 'after-repro', 'workspace-files.tsv'));
      expect({ md5: md5(text), size: Buffer.byteLength(text) }).toEqual(want);
    }
  });

  it('keeps the keys DVC keeps where they were, drops a stale nfiles and the DVC 2 stage md5', () => {
    const old = 'md5: 0123456789abcdef0123456789abcdef\nfrozen: true\nouts:\n- md5: 07526cd625dbb1c572ec0778e63f4545.dir\n  size: 12\n  nfiles: 3\n  hash: md5\n  path: raw\n  desc: the raw data\n  push: false\nmeta:\n  owner: data team\n';
    const text = updatedDvcFileText(old, 'data/raw.dvc', new Map([[0, { md5: '55ef7578b917b32028f18767310eac72', size: 5 }]]));
    expect(text).toBe(
      'frozen: true\nouts:\n- md5: 55ef7578b917b32028f18767310eac72\n  size: 5\n  hash: md5\n  path: raw\n  desc: the raw data\n  push: false\nmeta:\n  owner: data team\n',
    );
  });

  it('a field the new hash gains goes after the output\'s other keys, as DVC merges it', () => {
    const old = 'outs:\n- md5: 55ef7578b917b32028f18767310eac72\n  size: 5\n  hash: md5\n  path: raw\n';
    const text = updatedDvcFileText(old, 'raw.dvc', new Map([[0, { md5: '07526cd625dbb1c572ec0778e63f4545.dir', size: 12, nfiles: 3 }]]));
    expect(text).toBe('outs:\n- md5: 07526cd625dbb1c572ec0778e63f4545.dir\n  size: 12\n  hash: md5\n  path: raw\n  nfiles: 3\n');
  });
});
