import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { LocalRemote } from '../../../../src/adapters/remote/local-remote.js';
import { remoteContract } from '../../../helpers/remote-contract.js';
import { folderLayout } from '../../../helpers/remote-layout.js';

const base = mkdtempSync(path.join(os.tmpdir(), 'reprod-local-remote-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

remoteContract('local folder', {
  open: async () => new LocalRemote(mkdtempSync(path.join(base, 'r-'))),
  layout: async (remote) => folderLayout((remote as LocalRemote).root),
});
