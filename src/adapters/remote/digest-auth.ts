import { createHash, randomBytes } from 'node:crypto';

/** A server's `WWW-Authenticate: Digest …` challenge, the parameters that matter here. */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  /** MD5 (the default), MD5-sess, SHA-256 or SHA-256-sess. */
  algorithm: string;
  /** Whether the server offers qop=auth (RFC 2617/7616); without it, RFC 2069's form is used. */
  qopAuth: boolean;
  /** The nonce was refused as too old, not the password (retry with the new one). */
  stale: boolean;
}

/** The `key=value` / `key="value"` pairs of one challenge (values may hold commas inside quotes). */
function params(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) {
    out.set((m[1] as string).toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''));
  }
  return out;
}

const ALGORITHMS: Readonly<Record<string, string>> = { md5: 'md5', 'md5-sess': 'md5', 'sha-256': 'sha256', 'sha-256-sess': 'sha256' };

/**
 * The Digest challenge among a 401's `WWW-Authenticate` headers, or
 * undefined when the server offers none this client can answer (another
 * scheme, an unknown algorithm, or a qop without `auth`).
 */
export function parseDigestChallenge(headers: string | string[] | undefined): DigestChallenge | undefined {
  for (const h of typeof headers === 'string' ? [headers] : (headers ?? [])) {
    const at = h.search(/\bdigest\s/i);
    if (at < 0) continue;
    const p = params(h.slice(at + 'digest'.length));
    const realm = p.get('realm');
    const nonce = p.get('nonce');
    const algorithm = p.get('algorithm') ?? 'MD5';
    if (realm === undefined || nonce === undefined || ALGORITHMS[algorithm.toLowerCase()] === undefined) continue;
    const qop = p.get('qop');
    const qopAuth = qop !== undefined && qop.split(',').some((q) => q.trim().toLowerCase() === 'auth');
    if (qop !== undefined && !qopAuth) continue;
    const opaque = p.get('opaque');
    return { realm, nonce, algorithm, qopAuth, stale: p.get('stale')?.toLowerCase() === 'true', ...(opaque !== undefined ? { opaque } : {}) };
  }
  return undefined;
}

function quote(v: string): string {
  return `"${v.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * Answers challenges for one user: each request gets the next nonce count,
 * so that the challenge can be reused (the server decides how long; a
 * `stale` answer brings a fresh nonce).
 */
export class DigestSession {
  private challenge: DigestChallenge | undefined;
  private count = 0;

  constructor(
    private readonly user: string,
    private readonly password: string,
  ) {}

  /** Keeps the server's latest challenge. */
  challenged(c: DigestChallenge): void {
    this.challenge = c;
    this.count = 0;
  }

  get ready(): boolean {
    return this.challenge !== undefined;
  }

  /** The Authorization header for `method` on `uri` (path and query, as sent), or undefined before any challenge. */
  header(method: string, uri: string, cnonce = randomBytes(16).toString('hex')): string | undefined {
    const c = this.challenge;
    if (c === undefined) return undefined;
    const alg = c.algorithm.toLowerCase();
    const h = (s: string) => createHash(ALGORITHMS[alg] as string).update(s, 'utf8').digest('hex');
    const nc = (++this.count).toString(16).padStart(8, '0');
    let ha1 = h(`${this.user}:${c.realm}:${this.password}`);
    if (alg.endsWith('-sess')) ha1 = h(`${ha1}:${c.nonce}:${cnonce}`);
    const ha2 = h(`${method}:${uri}`);
    const response = c.qopAuth ? h(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${ha2}`) : h(`${ha1}:${c.nonce}:${ha2}`);
    const parts = [`username=${quote(this.user)}`, `realm=${quote(c.realm)}`, `nonce=${quote(c.nonce)}`, `uri=${quote(uri)}`, `algorithm=${c.algorithm}`, `response=${quote(response)}`];
    if (c.qopAuth) parts.push('qop=auth', `nc=${nc}`, `cnonce=${quote(cnonce)}`);
    if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`);
    return `Digest ${parts.join(', ')}`;
  }
}
