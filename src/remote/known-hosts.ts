import { createHmac } from 'node:crypto';

/**
 * OpenSSH's known_hosts, as far as checking one server needs: plain host
 * patterns (`host`, `[host]:port`, comma-separated lists), hashed entries
 * (`|1|salt|hmac`), `@revoked` lines; `@cert-authority` lines are skipped.
 */
export type HostKeyCheck = 'known' | 'unknown' | 'changed' | 'revoked';

/** The name a server is listed under: `host` on port 22, `[host]:port` elsewhere. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matchesHost(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (salt === undefined || hash === undefined) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return pattern.split(',').some((p) => p === name);
}

/** Whether `key` (the server's key blob) is the one `text` lists for `host:port`. */
export function checkHostKey(text: string, host: string, port: number, key: Buffer): HostKeyCheck {
  const name = knownHostsName(host, port);
  let listed = false;
  let known = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]?.startsWith('@')) marker = fields.shift();
    const [hosts, , blob] = fields;
    if (hosts === undefined || blob === undefined || !matchesHost(hosts, name)) continue;
    if (marker === '@cert-authority') continue;
    const same = Buffer.from(blob, 'base64').equals(key);
    if (marker === '@revoked') {
      if (same) return 'revoked';
      continue;
    }
    // a revoked key wins wherever its line is, so keep reading
    if (same) known = true;
    else listed = true;
  }
  return known ? 'known' : listed ? 'changed' : 'unknown';
}
