/**
 * The RemoteStore contract: what data-sync relies on, checked the same way
 * against every remote adapter (a folder, S3, and each network remote) on a
 * real server. An adapter passes by calling `remoteContract` from its own
 * test file with a harness that opens it and can see what the server holds.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReprodError } from '../../src/core/errors.js';
import type { RemoteStore } from '../../src/core/ports.js';
import { LocalRemote } from '../../src/adapters/remote/local-remote.js';

export interface RemoteHarness {
  /** Opens the adapter on a fresh, empty remote location (a new prefix or folder each call). */
  open(): Promise<RemoteStore>;
  /**
   * What the server itself holds under that location, `key<TAB>size`, sorted:
   * read by the harness without the adapter (a folder walk, a bucket listing).
   */
  layout(remote: RemoteStore): Promise<string[]>;
  /** false for remotes that cannot list (DVC's HTTP remote): listing must refuse clearly instead. */
  listable?: boolean;
  /** The same remote with a wrong secret, and the secret used; absent for remotes without credentials. */
  badCredentials?(): Promise<{ remote: RemoteStore; secret: string; name: string; source: string }>;
}

const md5 = (b: Buffer | Uint8Array) => createHash('md5').update(b).digest('hex');
const keyOf = (b: Buffer) => {
  const h = md5(b);
  return `files/md5/${h.slice(0, 2)}/${h.slice(2)}`;
};

/** Objects of several sizes, binary and empty among them, each under its md5 key. */
function objects(): Map<string, Buffer> {
  const bodies = [Buffer.from('hello\n'), Buffer.alloc(0), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256)), Buffer.from('{"k": 1}\n')];
  for (let i = 0; i < 20; i++) bodies.push(Buffer.from(`small object ${i}\n`));
  return new Map(bodies.map((b) => [keyOf(b), b]));
}

/** What a local-folder remote holds after the same puts: the reference every remote's layout must equal. */
async function referenceLayout(put: Map<string, Buffer>, scratch: string): Promise<string[]> {
  const dir = mkdtempSync(path.join(scratch, 'ref-'));
  const ref = new LocalRemote(dir);
  for (const [k, b] of put) {
    const f = path.join(scratch, `ref-${md5(b)}`);
    writeFileSync(f, b);
    await ref.put(k, f, b.length);
  }
  const out: string[] = [];
  for await (const k of ref.list('')) out.push(`${k}\t${put.get(k)?.length}`);
  return out.sort();
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}

export function remoteContract(label: string, harness: RemoteHarness): void {
  describe(`RemoteStore contract: ${label}`, () => {
    let scratch: string;
    const data = objects();
    const runKey = 'runs/ab/abcdef/0123456789';
    beforeAll(() => {
      scratch = mkdtempSync(path.join(os.tmpdir(), 'reprod-contract-'));
    });
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    const fileOf = (b: Buffer) => {
      const f = path.join(scratch, `src-${md5(b)}`);
      writeFileSync(f, b);
      return f;
    };

    it('an empty remote has nothing: existing is empty, get and read say null, list yields nothing', async () => {
      const remote = await harness.open();
      try {
        const keys = [...data.keys()];
        expect(await remote.existing(keys.slice(0, 3), { jobs: 4 })).toEqual(new Map());
        expect(await remote.existing(keys, { jobs: 4 })).toEqual(new Map());
        expect(await remote.get(keys[0] as string, path.join(scratch, 'none'), {})).toBeNull();
        expect(await remote.read(keys[0] as string)).toBeNull();
        if (harness.listable !== false) {
          const listed: string[] = [];
          for await (const k of remote.list('files/md5/')) listed.push(k);
          expect(listed).toEqual([]);
        } else {
          await expect(collect(remote.list('files/md5/'))).rejects.toMatchObject({ code: 'REMOTE', message: expect.stringMatching(/cannot be listed/) });
        }
      } finally {
        remote.close();
      }
    });

    it("put stores each object under its key in DVC's layout, byte for byte what a local-folder remote holds", async () => {
      const remote = await harness.open();
      try {
        let bytes = 0;
        for (const [k, b] of data) await remote.put(k, fileOf(b), b.length, { onBytes: (n) => void (bytes += n) });
        expect(bytes).toBe([...data.values()].reduce((n, b) => n + b.length, 0));
        const run = Buffer.from('cmd: echo\n');
        await remote.put(runKey, fileOf(run), run.length);
        const all = new Map([...data, [runKey, run]]);
        expect(await harness.layout(remote)).toEqual(await referenceLayout(all, scratch));
        // a few keys (one request each) and many (listings) give the same answer, with sizes
        const keys = [...data.keys()];
        const few = await remote.existing([...keys.slice(0, 2), 'files/md5/00/0000000000000000000000000000ff'], { jobs: 4 });
        expect(few).toEqual(new Map(keys.slice(0, 2).map((k) => [k, data.get(k)?.length])));
        const many = await remote.existing([...keys, 'files/md5/ff/ffffffffffffffffffffffffffff00'], { jobs: 4 });
        expect(many).toEqual(new Map(keys.map((k) => [k, data.get(k)?.length])));
        if (harness.listable !== false) {
          expect((await collect(remote.list('files/md5/'))).sort()).toEqual(keys.sort());
          expect(await collect(remote.list('runs/'))).toEqual([runKey]);
        }
      } finally {
        remote.close();
      }
    });

    it('get writes the object and reports its md5 and size; read returns the bytes; progress counts every byte', async () => {
      const remote = await harness.open();
      try {
        for (const [k, b] of data) await remote.put(k, fileOf(b), b.length);
        for (const [k, b] of data) {
          const dest = path.join(scratch, 'got', k);
          let bytes = 0;
          const got = await remote.get(k, dest, { onBytes: (n) => void (bytes += n) });
          expect(got).toEqual({ md5: md5(b), size: b.length });
          expect(bytes).toBe(b.length);
          expect(md5(readFileSync(dest))).toBe(md5(b));
          expect(md5((await remote.read(k)) as Uint8Array)).toBe(md5(b));
        }
      } finally {
        remote.close();
      }
    });

    it('putting an object again is harmless; delete removes objects, absent ones are no error', async () => {
      const remote = await harness.open();
      try {
        const [[k1, b1], [k2, b2]] = [...data].slice(0, 2) as [[string, Buffer], [string, Buffer]];
        await remote.put(k1, fileOf(b1), b1.length);
        await remote.put(k1, fileOf(b1), b1.length);
        await remote.put(k2, fileOf(b2), b2.length);
        await remote.delete([k1, 'files/md5/00/0000000000000000000000000000ff'], { jobs: 2 });
        expect(await remote.existing([k1, k2], { jobs: 2 })).toEqual(new Map([[k2, b2.length]]));
        expect(await harness.layout(remote)).toEqual([`${k2}\t${b2.length}`]);
      } finally {
        remote.close();
      }
    });

    if (harness.badCredentials) {
      const bad = harness.badCredentials.bind(harness);
      it('wrong credentials: REMOTE_AUTH naming the remote and where its credentials came from, the secret nowhere', async () => {
        const { remote, secret, name, source } = await bad();
        try {
          let err: unknown;
          try {
            await remote.existing(['files/md5/00/0000000000000000000000000000ff'], { jobs: 1 });
          } catch (e) {
            err = e;
          }
          expect(err).toBeInstanceOf(ReprodError);
          const e = err as ReprodError;
          expect(e.code).toBe('REMOTE_AUTH');
          expect(e.message).toContain(`remote '${name}'`);
          expect(e.message).toContain(`(from ${source})`);
          expect(`${e.format()}\n${remote.display}`).not.toContain(secret);
        } finally {
          remote.close();
        }
      });
    }
  });
}
