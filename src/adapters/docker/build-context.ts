import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ReprodError } from '../../core/errors.js';
import { parseDockerIgnore, type DockerIgnore } from './dockerignore.js';
import { TAR_END, tarHeader, tarPadding, type TarEntry } from './tar-writer.js';
import { isMissing } from '../../core/errno.js';

/**
 * A build context: the files of a folder that `.dockerignore` lets through,
 * and a hash of what the build depends on. The hash covers each entry's path,
 * type, permission bits and bytes (or link target), the Dockerfile's path and
 * the build args; not mtimes nor owners, so that a fresh checkout of the same
 * files gives the same hash, and so the same image tag.
 */
export interface BuildContext {
  /** Absolute path of the context folder. */
  root: string;
  /** Context-relative path of the Dockerfile. */
  dockerfile: string;
  /** Sorted by name. */
  entries: TarEntry[];
  /** sha256, hex. */
  hash: string;
}

const HASH_FORMAT = 'reprod-build-context/1';

/**
 * The last hash of each context folder, by a signature of what the walk saw
 * (every entry's name, mode, size, mtime, ctime and inode, the Dockerfile's
 * path and the build args). Planning hashes every stage's context, and a
 * foreach group of a hundred stages shares one: with the signature equal,
 * no file is read again. Any write changes a file's ctime, so a signature
 * that matches means the bytes read last time are still there.
 */
export class ContextMemo {
  private readonly last = new Map<string, { signature: string; hash: string }>();

  hashOf(root: string, signature: string): string | undefined {
    const m = this.last.get(root);
    return m?.signature === signature ? m.hash : undefined;
  }

  remember(root: string, signature: string, hash: string): void {
    this.last.set(root, { signature, hash });
  }
}

async function hashFile(file: string, h: ReturnType<typeof createHash>): Promise<void> {
  for await (const chunk of createReadStream(file)) {
    if (Buffer.isBuffer(chunk)) h.update(chunk);
  }
}

async function readIgnore(root: string, dockerfile: string): Promise<DockerIgnore> {
  let text = '';
  try {
    text = await fs.readFile(path.join(root, '.dockerignore'), 'utf8');
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  return parseDockerIgnore(text, [dockerfile, '.dockerignore']);
}

/**
 * Lists and hashes a context folder. Sockets, fifos and devices are left out,
 * as Docker's CLI leaves them. Symlinks are kept as links, not followed.
 */
export async function scanBuildContext(root: string, dockerfile: string, args: Readonly<Record<string, string>>, memo?: ContextMemo): Promise<BuildContext> {
  const abs = path.resolve(root);
  let st;
  try {
    st = await fs.stat(abs);
  } catch (err) {
    throw new ReprodError('RUNTIME', `build context ${abs} does not exist`, { cause: err, remedy: 'Create the folder, or fix `build.context` in the manifest.' });
  }
  if (!st.isDirectory()) throw new ReprodError('RUNTIME', `build context ${abs} is not a folder`, { remedy: 'Point `build.context` at a folder.' });
  const df = await fs.lstat(path.join(abs, dockerfile)).catch(() => undefined);
  if (!df?.isFile()) {
    throw new ReprodError('RUNTIME', `no Dockerfile at ${path.join(abs, dockerfile)}`, { remedy: 'Create it, or fix `build.dockerfile` in the manifest.' });
  }
  const ignore = await readIgnore(abs, dockerfile);
  const entries: TarEntry[] = [];
  const seen: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const dir = rel === '' ? abs : path.join(abs, rel);
    const names = (await fs.readdir(dir)).sort();
    for (const name of names) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const ignored = ignore.ignores(relPath);
      const s = await fs.lstat(path.join(abs, relPath));
      if (!ignored) seen.push(`${relPath}\0${s.mode}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}\0${s.ino}`);
      const mtimeSeconds = Math.floor(s.mtimeMs / 1000);
      if (s.isDirectory()) {
        if (ignored && !ignore.hasExceptions) continue;
        if (!ignored) entries.push({ name: relPath, type: 'dir', mode: s.mode & 0o7777, size: 0, mtimeSeconds });
        await walk(relPath);
      } else if (ignored) {
        continue;
      } else if (s.isFile()) {
        entries.push({ name: relPath, type: 'file', mode: s.mode & 0o7777, size: s.size, mtimeSeconds });
      } else if (s.isSymbolicLink()) {
        entries.push({ name: relPath, type: 'symlink', mode: 0o777, size: 0, mtimeSeconds, linkTarget: await fs.readlink(path.join(abs, relPath)) });
      }
    }
  };
  await walk('');
  // readdir order per folder gives parents first; a global sort keeps it (a parent is a prefix).
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const signature = `${dockerfile}\0${JSON.stringify(Object.entries(args).sort())}\0${seen.join('\n')}`;
  const known = memo?.hashOf(abs, signature);
  if (known !== undefined) return { root: abs, dockerfile, entries, hash: known };
  const h = createHash('sha256');
  h.update(`${HASH_FORMAT}\0dockerfile\0${dockerfile}\0`);
  for (const k of Object.keys(args).sort()) h.update(`arg\0${k}\0${args[k] ?? ''}\0`);
  for (const e of entries) {
    h.update(`${e.type}\0${e.name}\0${e.mode.toString(8)}\0`);
    if (e.type === 'symlink') h.update(`${e.linkTarget ?? ''}\0`);
    if (e.type === 'file') {
      h.update(`${e.size}\0`);
      await hashFile(path.join(abs, e.name), h);
    }
  }
  const hash = h.digest('hex');
  memo?.remember(abs, signature, hash);
  return { root: abs, dockerfile, entries, hash };
}

/**
 * The context as a tar stream for the engine's `/build`. A file that changed
 * size since the scan fails the stream rather than send a corrupt archive.
 */
export function packBuildContext(ctx: BuildContext): Readable {
  async function* blocks(): AsyncGenerator<Buffer> {
    for (const e of ctx.entries) {
      if (e.type !== 'file') {
        yield tarHeader(e);
        continue;
      }
      const data = await fs.readFile(path.join(ctx.root, e.name));
      if (data.length !== e.size) {
        throw new ReprodError('RUNTIME', `${path.join(ctx.root, e.name)} changed while the image was being built`, {
          remedy: 'Run again once the files of the build context stop changing.',
        });
      }
      yield tarHeader(e);
      yield data;
      yield tarPadding(data.length);
    }
    yield TAR_END;
  }
  return Readable.from(blocks(), { objectMode: false });
}
