/**
 * loadSpec says which files templating read besides dvc.yaml, so that the
 * daemon can watch them without parsing dvc.yaml a second time (with another
 * parser, without the limits).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec } from '../../../src/app/project.js';
import { tempDir } from '../../helpers/workspace.js';

describe('loadSpec: the files templating read', () => {
  it('lists params.yaml and each vars file, once each, present or not', () => {
    using ws = tempDir();
    mkdirSync(path.join(ws.path, 'conf'));
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'vars: [conf/v.yaml, conf/v.yaml]\nstages:\n  s:\n    cmd: echo ${lr}\n    vars: [local.yaml]\n');
    writeFileSync(path.join(ws.path, 'conf/v.yaml'), 'lr: 1\n');
    writeFileSync(path.join(ws.path, 'local.yaml'), 'x: 1\n');
    expect(loadSpec(ws.path).templateFiles).toEqual(['params.yaml', 'conf/v.yaml', 'local.yaml']);
  });
});
