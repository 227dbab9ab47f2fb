/**
 * A fake of Google Cloud Storage's JSON API on loopback, for the gs://
 * remote's tests (there is no real GCS emulator here): the subset the
 * official SDK uses for objects, storing into a folder on disk.
 *
 * - `POST /sts`: a security token service as workload identity federation
 *   (an `external_account` credentials file) calls it: the subject token
 *   read from the credentials' file must be the one the fake was started
 *   with, and buys an access token; anything else is `invalid_grant`.
 * - every `/storage/v1` and `/upload/storage/v1` request needs
 *   `Authorization: Bearer <an access token it issued>`, else 401;
 * - objects: metadata and media GET, list (prefix, maxResults, pageToken),
 *   DELETE, and inserts as the SDK sends them: `uploadType=multipart`
 *   (multipart/related: JSON metadata, then the bytes), `media`, and
 *   `resumable` (a session URI, then PUTs with Content-Range, 308 until the
 *   last byte). Objects appear whole (written beside, then renamed).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, promises as fs, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface GcsFake extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: the API endpoint (DVC's `endpointurl`). */
  endpoint: string;
  bucket: string;
  /** Objects live at `<dir>/<bucket>/<name>`. */
  dir: string;
  /** Writes an `external_account` credentials file holding `subjectToken` (the right one unless told otherwise). */
  credentialsFile(where: string, subjectToken?: string): string;
  /** The requests seen, `METHOD path?uploadType` (what the SDK used). */
  seen: string[];
}

const SUBJECT_TOKEN = 'subject-token-for-reprod-tests';

function apiError(res: http.ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message, errors: [{ message, domain: 'global', reason: code === 401 ? 'authError' : code === 404 ? 'notFound' : 'invalid' }] } }));
}

async function body(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The JSON part and the media part of a multipart/related body. */
function multipart(buf: Buffer, contentType: string): { meta: Record<string, unknown>; media: Buffer } {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error('no boundary');
  const sep = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = buf.indexOf(sep);
  while (at >= 0) {
    const next = buf.indexOf(sep, at + sep.length);
    if (next < 0) break;
    parts.push(buf.subarray(at + sep.length, next));
    at = next;
  }
  const content = (p: Buffer) => {
    const start = p.indexOf('\r\n\r\n') + 4;
    const end = p.subarray(-2).toString() === '\r\n' ? p.length - 2 : p.length;
    return p.subarray(start, end);
  };
  if (parts.length < 2) throw new Error('expected two parts');
  return { meta: JSON.parse(content(parts[0] as Buffer).toString('utf8')) as Record<string, unknown>, media: content(parts[1] as Buffer) };
}

export async function startGcsFake(opts: { bucket?: string } = {}): Promise<GcsFake> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reprod-gcs-'));
  const bucket = opts.bucket ?? 'dvc-bucket';
  mkdirSync(path.join(dir, bucket));
  const tokens = new Set<string>();
  const sessions = new Map<string, { name: string; chunks: Buffer[]; received: number }>();
  const seen: string[] = [];
  const fileOf = (name: string) => path.join(dir, bucket, ...name.split('/'));

  const metadata = (name: string) => {
    const file = fileOf(name);
    const st = statSync(file);
    const md5 = createHash('md5').update(readFileSync(file)).digest('base64');
    return { kind: 'storage#object', id: `${bucket}/${name}/1`, name, bucket, generation: '1', metageneration: '1', size: String(st.size), md5Hash: md5, contentType: 'application/octet-stream', updated: st.mtime.toISOString() };
  };
  const store = async (name: string, bytes: Buffer) => {
    const file = fileOf(name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.${randomBytes(4).toString('hex')}.partial`;
    await fs.writeFile(temp, bytes);
    await fs.rename(temp, file);
    return metadata(name);
  };
  const json = (res: http.ServerResponse, value: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(value));
  };
  const listAll = (): string[] => {
    const out: string[] = [];
    const walk = (d: string, rel: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.name.endsWith('.partial')) continue;
        if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
        else out.push(`${rel}${e.name}`);
      }
    };
    walk(path.join(dir, bucket), '');
    return out.sort();
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.method} ${url.pathname}${url.searchParams.has('uploadType') ? `?uploadType=${url.searchParams.get('uploadType')}` : ''}`);
    if (req.method === 'POST' && url.pathname === '/sts') {
      const form = new URLSearchParams((await body(req)).toString('utf8'));
      if (form.get('subject_token') !== SUBJECT_TOKEN) {
        res.writeHead(400, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'The subject token is not valid.' }));
      }
      const token = `ya29.fake-${randomBytes(8).toString('hex')}`;
      tokens.add(token);
      return json(res, { access_token: token, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 3600 });
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (auth === undefined || !tokens.has(auth)) return apiError(res, 401, 'Invalid Credentials');

    const objects = new RegExp(`^/storage/v1/b/${bucket}/o(?:/(.+))?$`).exec(url.pathname);
    const uploads = url.pathname === `/upload/storage/v1/b/${bucket}/o`;
    if (objects && objects[1] === undefined && req.method === 'GET') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const max = Number(url.searchParams.get('maxResults') ?? '1000');
      const after = url.searchParams.get('pageToken') ?? '';
      const names = listAll().filter((n) => n.startsWith(prefix) && n > after);
      const page = names.slice(0, max);
      return json(res, { kind: 'storage#objects', items: page.map(metadata), ...(names.length > max ? { nextPageToken: page.at(-1) } : {}) });
    }
    if (objects && objects[1] !== undefined) {
      const name = decodeURIComponent(objects[1]);
      const exists = (() => {
        try {
          return statSync(fileOf(name)).isFile();
        } catch {
          return false;
        }
      })();
      if (!exists) return apiError(res, 404, `No such object: ${bucket}/${name}`);
      if (req.method === 'DELETE') {
        rmSync(fileOf(name));
        res.writeHead(204);
        return void res.end();
      }
      if (req.method === 'GET' && url.searchParams.get('alt') === 'media') {
        const bytes = readFileSync(fileOf(name));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), 'x-goog-hash': `md5=${createHash('md5').update(bytes).digest('base64')}` });
        return void res.end(bytes);
      }
      if (req.method === 'GET') return json(res, metadata(name));
    }
    if (uploads && req.method === 'POST') {
      const kind = url.searchParams.get('uploadType');
      const buf = await body(req);
      if (kind === 'multipart') {
        const { meta, media } = multipart(buf, req.headers['content-type'] ?? '');
        const name = String(meta.name ?? url.searchParams.get('name'));
        return json(res, await store(name, media));
      }
      if (kind === 'media') return json(res, await store(String(url.searchParams.get('name')), buf));
      if (kind === 'resumable') {
        const meta = buf.length ? (JSON.parse(buf.toString('utf8')) as Record<string, unknown>) : {};
        const name = String(url.searchParams.get('name') ?? meta.name);
        const id = randomBytes(8).toString('hex');
        sessions.set(id, { name, chunks: [], received: 0 });
        const host = req.headers.host ?? '127.0.0.1';
        res.writeHead(200, { location: `http://${host}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&upload_id=${id}` });
        return void res.end();
      }
      return apiError(res, 400, `uploadType ${kind} is not faked`);
    }
    if (uploads && req.method === 'PUT') {
      const session = sessions.get(url.searchParams.get('upload_id') ?? '');
      if (!session) return apiError(res, 404, 'no such upload session');
      const buf = await body(req);
      // `bytes START-END/TOTAL`, `bytes START-*/TOTAL` (the rest of the object in this request), `bytes */TOTAL` (a status query)
      const range = /^bytes (\d+|\*)(?:-(\d+|\*))?\/(\d+|\*)$/.exec(String(req.headers['content-range'] ?? ''));
      if (!range) return apiError(res, 400, `bad Content-Range '${String(req.headers['content-range'])}'`);
      if (range[1] !== '*' && Number(range[1]) !== session.received) return apiError(res, 400, `chunk starts at ${range[1]}, expected ${session.received}`);
      session.chunks.push(buf);
      session.received += buf.length;
      const total = range[3] as string;
      if (range[2] === '*' || (total !== '*' && session.received >= Number(total))) {
        sessions.delete(url.searchParams.get('upload_id') ?? '');
        return json(res, await store(session.name, Buffer.concat(session.chunks)));
      }
      res.writeHead(308, session.received > 0 ? { range: `bytes=0-${session.received - 1}` } : {});
      return void res.end();
    }
    return apiError(res, 400, `${req.method} ${url.pathname} is not faked`);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => apiError(res, 500, String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    bucket,
    dir,
    seen,
    credentialsFile: (where, subjectToken = SUBJECT_TOKEN) => {
      const tokenFile = `${where}.subject-token`;
      writeFileSync(tokenFile, subjectToken);
      writeFileSync(
        where,
        JSON.stringify({
          type: 'external_account',
          audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/reprod/providers/tests',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          token_url: `${endpoint}/sts`,
          credential_source: { file: tokenFile },
        }),
      );
      return where;
    },
    [Symbol.asyncDispose]: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
