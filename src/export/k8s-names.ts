/**
 * Kubernetes' spelling rules for what reprod exports: object names are DNS
 * subdomain labels (RFC 1123, at most 63 characters here so that they also
 * serve as pod names' prefixes), label values at most 63 characters of
 * `[A-Za-z0-9._-]` starting and ending alphanumeric, memory a quantity.
 */
import { createHash } from 'node:crypto';

function shortHash(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 8);
}

/** `grid@small-0.1` → `grid-small-0-1`; names cut to fit keep a hash of the whole, so two stages never share one. */
export function k8sName(s: string, prefix = ''): string {
  let name = `${prefix}${s}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'stage';
  if (name !== `${prefix}${s}` || name.length > 63) {
    const h = shortHash(`${prefix}${s}`);
    if (name.length > 54) name = name.slice(0, 54).replace(/-+$/, '');
    if (name !== `${prefix}${s}`) name = `${name}-${h}`;
  }
  return name;
}

/** A stage name as a label value (letters, digits, `-`, `_`, `.`; at most 63). */
export function k8sLabelValue(s: string): string {
  const v = s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return v.length <= 63 ? v : `${v.slice(0, 54).replace(/[^A-Za-z0-9]+$/, '')}-${shortHash(s)}`;
}

/** Bytes as a Kubernetes quantity (plain bytes are exact; `Mi` when they divide evenly). */
export function k8sMemory(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)}Mi` : String(bytes);
}

/** `uid:gid` as numbers; undefined for no user or a name (Kubernetes takes numeric ids only). */
export function splitUser(user: string | undefined): { uid: number; gid: number } | undefined {
  const m = user === undefined ? null : /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) return undefined;
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}
