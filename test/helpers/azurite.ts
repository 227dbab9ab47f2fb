/**
 * Azurite (Microsoft's Azure Storage emulator, from npm) on loopback for
 * tests: its blob service in a child process, storing into a temporary
 * folder, with the emulator's well-known development account.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { freePort } from './free-port.js';

/** Azurite's development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteServer extends AsyncDisposable {
  port: number;
  /** A connection string with `key` as the account key (the right one by default). */
  connectionString(key?: string): string;
  /** Creates a container. */
  createContainer(name: string): Promise<void>;
}

export async function startAzurite(): Promise<AzuriteServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reprod-azurite-'));
  const port = await freePort();
  const main = path.join(path.dirname(createRequire(import.meta.url).resolve('azurite/package.json')), 'dist/src/blob/main.js');
  const child = spawn(process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', dir, '--silent', '--skipApiVersionCheck', '--disableProductStyleUrl'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => void (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => void (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // ready when it says so on stdout (not a sleep)
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (/successfully listens/i.test(log)) resolve();
    };
    child.stdout?.on('data', check);
    void exited.then(() => reject(new Error(`azurite exited before listening: ${log}`)));
  });
  const connectionString = (key = AZURITE_KEY) =>
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${key};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`;
  return {
    port,
    connectionString,
    createContainer: async (name) => {
      await BlobServiceClient.fromConnectionString(connectionString()).getContainerClient(name).createIfNotExists();
    },
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
