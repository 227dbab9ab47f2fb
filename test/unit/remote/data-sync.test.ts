import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { cloudStatus, formatCloudStatus } from '../../../src/remote/cloud-status.js';
import { cloudStatusOf, fetchObjects, pushObjects, usedOids, verifyRunEntry, type SyncContext } from '../../../src/remote/data-sync.js';
import { gcPlan } from '../../../src/remote/gc-plan.js';
import { objectKey, oidOfKey, parseRunKey } from '../../../src/remote/layout.js';
import { forEachLimit } from '../../../src/remote/pool.js';
import { RemoteUnreachable, type CacheStore, type Downloaded, type RemoteStore } from '../../../src/core/ports.js';
import { Progress } from '../../../src/remote/progress.js';
import { failuresError, summary } from '../../../src/remote/report.js';
import type { TrackedOut } from '../../../src/remote/tracked.js';
import { conformance } from '../../helpers/conformance.js';

const enc = (s: string) => new TextEncoder().encode(s);
const md5 = (b: Uint8Array | string) => createHash('md5').update(b).digest('hex');

/** Both ends over one in-memory "filesystem" of paths → bytes. */
class World {
  files = new Map<string, Uint8Array>();
  puts: string[] = [];
  failPut = new Set<string>();
  private n = 0;

  cache: CacheStore = {
    pathOf: (k) => `cache/${k}`,
    sizes: async (ks) => new Map(ks.filter((k) => this.files.has(`cache/${k}`)).map((k) => [k, this.files.get(`cache/${k}`)!.length])),
    list: (prefix) => this.keys('cache/', prefix),
    tempFor: (k) => `cache/${k}.${this.n++}.tmp`,
    adopt: async (temp, k) => {
      this.files.set(`cache/${k}`, this.files.get(temp)!);
      this.files.delete(temp);
    },
    discard: async (temp) => void this.files.delete(temp),
    read: async (k) => this.files.get(`cache/${k}`) ?? null,
    write: async (k, b) => void this.files.set(`cache/${k}`, b),
    delete: async (ks) => ks.forEach((k) => this.files.delete(`cache/${k}`)),
    copyOut: async () => undefined,
  };

  remote: RemoteStore = {
    display: 'mem://remote',
    existing: async (ks) =>
      new Map(ks.flatMap((k) => {
        const b = this.files.get(`remote/${k}`);
        return b ? [[k, b.length] as const] : [];
      })),
    list: (prefix) => this.keys('remote/', prefix),
    put: async (k, file) => {
      if (this.failPut.has(k)) throw new Error('connection reset');
      this.puts.push(k);
      this.files.set(`remote/${k}`, this.files.get(file)!);
    },
    get: async (k, dest): Promise<Downloaded | null> => {
      const b = this.files.get(`remote/${k}`);
      if (!b) return null;
      this.files.set(dest, b);
      return { md5: md5(b), size: b.length };
    },
    read: async (k) => this.files.get(`remote/${k}`) ?? null,
    delete: async (ks) => ks.forEach((k) => this.files.delete(`remote/${k}`)),
    close: () => undefined,
  };

  private async *keys(root: string, prefix: string): AsyncIterable<string> {
    for (const p of [...this.files.keys()].sort()) if (p.startsWith(`${root}${prefix}`)) yield p.slice(root.length);
  }

  /** Puts `content` under its md5 at `where` ('cache' | 'remote'); returns the oid. */
  add(where: 'cache' | 'remote', content: string, dir = false): string {
    const oid = `${md5(content)}${dir ? '.dir' : ''}`;
    this.files.set(`${where}/${objectKey(oid)}`, enc(content));
    return oid;
  }

  ctx(lines: string[] = []): SyncContext {
    return { cache: this.cache, remote: this.remote, jobs: 2, progress: new Progress({ label: 't', write: (s) => lines.push(s), tty: false, clock: { now: () => new Date(0) } }) };
  }
}

function listing(rows: [string, string][]): string {
  return JSON.stringify(rows.map(([m, r]) => ({ md5: m, relpath: r }))).replace(/,"/g, ', "').replace(/":/g, '": ').replace(/},{/g, '}, {');
}

function setup() {
  const w = new World();
  const a = w.add('cache', 'a-bytes');
  const b = w.add('cache', 'b-bytes');
  const dir = w.add('cache', listing([[a, 'a.txt'], [b, 'sub/b.txt']]), true);
  const single = w.add('cache', 'single');
  const outs: TrackedOut[] = [
    { path: 'data', oid: dir, owner: 'prep', push: true },
    { path: 'model.bin', oid: single, owner: 'train', push: true },
  ];
  return { w, a, b, dir, single, outs };
}

describe('push', () => {
  it('sends files before the listing that names them, and only what the remote lacks', async () => {
    const { w, a, dir, outs } = setup();
    w.files.set(`remote/${objectKey(a)}`, enc('a-bytes'));
    const res = await pushObjects(w.ctx(), outs);
    expect(res).toEqual({ moved: 3, failed: [] });
    expect(w.puts.indexOf(objectKey(dir))).toBe(w.puts.length - 1);
    expect(w.puts).not.toContain(objectKey(a));
    expect((await pushObjects(w.ctx(), outs)).moved).toBe(0);
  });

  it('sends again an object the remote holds cut short (a non-atomic server that died mid-upload)', async () => {
    const { w, a, outs } = setup();
    w.files.set(`remote/${objectKey(a)}`, enc(''));
    await pushObjects(w.ctx(), outs);
    expect(w.puts).toContain(objectKey(a));
    expect(new TextDecoder().decode(w.files.get(`remote/${objectKey(a)}`))).toBe('a-bytes');
  });

  it('keeps a listing back when one of its files failed, and names every failure', async () => {
    const { w, b, dir, outs } = setup();
    w.failPut.add(objectKey(b));
    const res = await pushObjects(w.ctx(), outs);
    expect(res.failed.map((f) => [f.name, f.reason])).toEqual([
      ['data/sub/b.txt', 'connection reset'],
      ['data', 'not sent: 1 of its files did not reach the remote'],
    ]);
    expect(w.files.has(`remote/${objectKey(dir)}`)).toBe(false);
    w.failPut.clear();
    expect((await pushObjects(w.ctx(), outs)).moved).toBe(2);
    expect(w.files.has(`remote/${objectKey(dir)}`)).toBe(true);
  });

  it('reports objects in neither place; leaves push: false outputs at home', async () => {
    const { w, single, outs } = setup();
    w.files.delete(`cache/${objectKey(single)}`);
    const res = await pushObjects(w.ctx(), [...outs, { path: 'private.bin', oid: w.add('cache', 'p'), owner: 'x', push: false }]);
    expect(res.failed).toEqual([{ name: 'model.bin', key: objectKey(single), reason: 'not in the cache, nor on the remote' }]);
    expect(w.puts.some((k) => k === objectKey(md5('p')))).toBe(false);
  });

  it('once the remote stops answering, attempts nothing more and says so', async () => {
    const { w, outs } = setup();
    let calls = 0;
    w.remote.put = async () => {
      calls++;
      throw new RemoteUnreachable('uploading: cannot reach mem://remote (ECONNREFUSED)');
    };
    const ctx = { ...w.ctx(), jobs: 1 };
    const res = await pushObjects(ctx, outs);
    expect(calls).toBe(1);
    expect(res.failed.map((f) => f.reason)).toEqual([
      'uploading: cannot reach mem://remote (ECONNREFUSED)',
      'not sent: 2 of its files did not reach the remote',
      'not attempted: the remote stopped answering',
      'not attempted: the remote stopped answering',
    ]);
  });

  it('stops at once when the remote refuses the credentials', async () => {
    const { w, outs } = setup();
    w.remote.put = async () => {
      throw new ReprodError('REMOTE_AUTH', 'refused');
    };
    await expect(pushObjects(w.ctx(), outs)).rejects.toThrow('refused');
  });
});

describe('fetch', () => {
  it('fetches the listing first, then its files, verifying each', async () => {
    const { w, outs, dir } = setup();
    for (const [p, v] of [...w.files]) {
      w.files.set(p.replace(/^cache\//, 'remote/'), v);
      w.files.delete(p);
    }
    const lines: string[] = [];
    const res = await fetchObjects(w.ctx(lines), outs);
    expect(res.failed).toEqual([]);
    expect(res.moved).toBe(4);
    expect(res.listings.get(dir)?.map((r) => r.relpath)).toEqual(['a.txt', 'sub/b.txt']);
    expect(lines.at(-1)).toMatch(/^t: 4\/4 objects, /);
    expect((await fetchObjects(w.ctx(), outs)).moved).toBe(0);
  });

  it('reports a corrupt object and never caches it; a missing one likewise', async () => {
    const { w, outs, a, b, single } = setup();
    for (const [p, v] of [...w.files]) w.files.set(p.replace(/^cache\//, 'remote/'), v);
    w.files.delete(`cache/${objectKey(a)}`);
    w.files.delete(`cache/${objectKey(b)}`);
    w.files.delete(`cache/${objectKey(single)}`);
    w.files.set(`remote/${objectKey(a)}`, enc('tampered'));
    w.files.delete(`remote/${objectKey(single)}`);
    const res = await fetchObjects(w.ctx(), outs);
    expect(res.failed).toEqual([
      { name: 'data/a.txt', key: objectKey(a), reason: `corrupt on the remote: its md5 is ${md5('tampered')}, not ${a}`, corrupt: { remote: w.ctx().remote.display } },
      { name: 'model.bin', key: objectKey(single), reason: 'not on the remote' },
    ]);
    expect(w.files.has(`cache/${objectKey(a)}`)).toBe(false);
    expect(w.files.has(`cache/${objectKey(b)}`)).toBe(true);
    expect([...w.files.keys()].filter((p) => p.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a tampered listing', async () => {
    const w = new World();
    const oid = `${md5('[]')}.dir`;
    w.files.set(`remote/${objectKey(oid)}`, enc('[{"md5": "401b30e3b8b5d629635a5c613cdb7919", "relpath": "x"}]'));
    const res = await fetchObjects(w.ctx(), [{ path: 'd', oid, owner: 's', push: true }]);
    expect(res.failed.map((f) => f.reason)).toEqual(['corrupt on the remote: not the listing its name promises']);
    expect(w.files.has(`cache/${objectKey(oid)}`)).toBe(false);
  });
});

describe('status --cloud', () => {
  it('says new, deleted or missing per name, in DVC order', async () => {
    const { w, outs, a, single } = setup();
    w.files.set(`remote/${objectKey(a)}`, enc('a-bytes'));
    w.files.delete(`cache/${objectKey(a)}`);
    w.files.delete(`cache/${objectKey(single)}`);
    const st = await cloudStatusOf({ cache: w.cache, remote: w.remote, jobs: 2 }, outs);
    expect(Object.fromEntries(st)).toEqual({ 'data/a.txt': 'deleted', data: 'new', 'data/sub/b.txt': 'new', 'model.bin': 'missing' });
    expect(formatCloudStatus(st, 'r')).toBe('\tdeleted:            data/a.txt\n\tnew:                data\n\tnew:                data/sub/b.txt\n\tmissing:            model.bin\n');
    expect(formatCloudStatus(new Map(), 'origin')).toBe("Cache and remote 'origin' are in sync.\n");
  });

  it('skips optional objects absent locally', () => {
    const ref = { oid: 'x', key: 'k', name: 'n', optional: true };
    expect(cloudStatus([ref], new Set(), new Set()).size).toBe(0);
  });
});

describe('gc', () => {
  it('removes unused objects, listings first, leaving temporary files and run-cache alone', () => {
    const keep = 'aa' + '0'.repeat(30);
    const plan = gcPlan(
      [objectKey(keep), objectKey('bb' + '1'.repeat(30)), objectKey('cc' + '2'.repeat(30) + '.dir'), `${objectKey(keep)}.1234.tmp`],
      new Set([keep]),
    );
    expect(plan).toEqual({ remove: [objectKey('cc' + '2'.repeat(30) + '.dir'), objectKey('bb' + '1'.repeat(30))], kept: 1 });
  });

  it('will not guess the files of a directory whose listing it cannot read', async () => {
    await expect(usedOids([{ path: 'd', oid: `${'a'.repeat(32)}.dir`, owner: 's', push: true }], async () => undefined)).rejects.toThrow(/cannot tell/);
  });
});

describe('layout, pool, progress, report', () => {
  it('maps oids to keys and back', () => {
    expect(oidOfKey('files/md5/07/63696a0ee503cf7daa85645d570297.dir')).toBe('0763696a0ee503cf7daa85645d570297.dir');
    expect(oidOfKey('files/md5/07/63696a0ee503cf7daa85645d570297.dir.abc.tmp')).toBeUndefined();
    const k = 'e28f8a01087a1ecadc902370e26070175e39089dde667b07f8155aedb92ba009';
    expect(parseRunKey(`runs/e2/${k}/${'b'.repeat(64)}`)).toEqual({ key: k, value: 'b'.repeat(64) });
    expect(parseRunKey(`runs/ff/${k}/${'b'.repeat(64)}`)).toBeUndefined();
  });

  it('checks a run-cache entry against both hashes in its name (the entry DVC pushed for z-remote)', () => {
    const key = 'runs/e2/e28f8a01087a1ecadc902370e26070175e39089dde667b07f8155aedb92ba009/b91aefd3121978842347394a8a58011618abc359d37929e6901ce1c15dd04b5b';
    const entry = readFileSync(path.join(conformance('dvc', 'z-remote-push-pull', 'expected', 'remote'), key), 'utf8');
    expect(verifyRunEntry(key, enc(entry))).toBe(true);
    expect(verifyRunEntry(key, enc(entry.replace('size: 13', 'size: 14').replace('55ef7578', '55ef7579')))).toBe(false);
    expect(verifyRunEntry(key.replace(/b91a/, 'b91b'), enc(entry))).toBe(false);
  });

  it('runs at most `jobs` at once and stops on a throw', async () => {
    let active = 0;
    let peak = 0;
    const seen: number[] = [];
    await expect(
      forEachLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        seen.push(n);
        active--;
        if (n === 3) throw new Error('fatal');
      }),
    ).rejects.toThrow('fatal');
    expect(peak).toBe(2);
    expect(seen).not.toContain(6);
  });

  it('prints a plain line per tenth off a terminal, and a bar on one', () => {
    const lines: string[] = [];
    const p = new Progress({ label: 'push', write: (s) => lines.push(s), tty: false, clock: { now: () => new Date(0) } });
    p.addTotal(20, 2048);
    for (let i = 0; i < 20; i++) {
      p.bytes(100);
      p.objectDone();
    }
    p.finish();
    expect(lines).toHaveLength(10);
    expect(lines.at(-1)).toBe('push: 20/20 objects, 2.0 KiB/2.0 KiB\n');
    // on a terminal: the bar is given each step, and stopped at the end; no plain line
    const drawn: [number, number, string][] = [];
    let stopped = 0;
    const plain: string[] = [];
    let t = 0;
    const q = new Progress({
      label: 'fetch',
      write: (s) => plain.push(s),
      tty: true,
      bar: { update: (d, n, text) => void drawn.push([d, n, text]), stop: () => void stopped++ },
      clock: { now: () => new Date((t += 1000)) },
    });
    q.addTotal(2, 0);
    q.bytes(1024);
    q.objectDone();
    q.objectDone();
    q.finish();
    expect(drawn.at(-1)?.slice(0, 2)).toEqual([2, 2]);
    expect(drawn.at(-1)?.[2]).toMatch(/^2\/2 objects, 1\.0 KiB {2}[\d.]+ [KM]?i?B\/s$/);
    expect(drawn.map((d) => d[0])).toEqual([0, 0, 1, 2]);
    expect(stopped).toBe(1);
    expect(plain).toEqual([]);
  });

  it('summarises as DVC does and lists failures', () => {
    expect(summary([['pushed', 4]])).toBe('4 files pushed');
    expect(summary([['fetched', 1], ['added', 2], ['modified', 0]])).toBe('1 file fetched and 2 files added');
    expect(summary([['pushed', 0]])).toBe('');
    const many = Array.from({ length: 25 }, (_, i) => ({ name: `f${i}`, key: `k${i}`, reason: 'boom' }));
    const e = failuresError('push', many);
    expect(e.code).toBe('TRANSFER');
    expect(e.message.split('\n')).toHaveLength(22);
    expect(e.message).toMatch(/^25 objects failed to push:\n {2}f0: boom/);
    expect(e.message).toMatch(/… and 5 more$/);
    expect(e.remedy).toMatch(/^Run the command again/);
    const key = 'files/md5/00/9520053b00386d1173f3988c55d192';
    const bad = failuresError('fetch', [{ name: 'dist/y.txt', key, reason: 'corrupt on the remote', corrupt: { remote: 's3://b/p' } }, ...many.slice(0, 1)]);
    expect(bad.remedy).toContain(`The remote's copy of ${key} on s3://b/p (dist/y.txt) does not match its md5`);
    expect(bad.remedy).toContain('fetching again gets the same bytes');
    expect(bad.remedy).toContain('delete that object on the remote, then push it again from a workspace whose cache has the right content (`reprod push dist/y.txt` there)');
    expect(bad.remedy).toContain('The other failures: run the command again');
  });

  it('counts failed objects apart in the progress line', () => {
    const lines: string[] = [];
    const p = new Progress({ label: 'push', write: (s) => lines.push(s), tty: false, clock: { now: () => new Date(0) } });
    p.addTotal(4);
    p.objectDone();
    p.objectDone(true);
    p.objectDone();
    p.objectDone(true);
    expect(lines).toEqual(['push: 1/4 objects, 0 B\n', 'push: 1/4 objects, 1 failed, 0 B\n', 'push: 2/4 objects, 1 failed, 0 B\n', 'push: 2/4 objects, 2 failed, 0 B\n']);
  });
});
