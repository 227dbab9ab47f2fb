import type { StageLogSink } from './ports.js';

/**
 * Removes credentials from text before it reaches a log line, a status
 * file, the outbox, an error message or a stage's log. Every form a secret
 * travels in is covered: as given, URL-encoded, and inside a basic
 * `Authorization` value.
 */
export class Redactor {
  /** Every form of every secret, longest first (so that a secret containing another is removed whole). */
  readonly needles: readonly string[];

  constructor(secrets: readonly (string | undefined)[], basic?: { username: string; password: string }) {
    const forms = new Set<string>();
    for (const s of secrets) {
      if (!s) continue;
      forms.add(s);
      forms.add(encodeURIComponent(s));
    }
    if (basic && (basic.username || basic.password)) forms.add(Buffer.from(`${basic.username}:${basic.password}`).toString('base64'));
    this.needles = [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const n of this.needles) out = out.split(n).join('***');
    return out;
  }

  /** A redactor of one stream of text that comes in chunks (see {@link StreamRedactor}). */
  stream(): StreamRedactor {
    return new StreamRedactor(this.needles);
  }
}

/**
 * Redacts a stream chunk by chunk, a secret split across chunks included:
 * text that may be the start of a secret is held back until the next chunk
 * (or the end) tells. Scanning left to right, at each position the longest
 * secret that matches is replaced; a longer one that may still match once
 * more text comes is waited for. Only a proper prefix of a secret is ever
 * held, never more.
 */
export class StreamRedactor {
  private pending = '';
  private readonly starts: Set<string>;

  constructor(private readonly needles: readonly string[]) {
    this.starts = new Set(needles.map((n) => n[0] ?? ''));
  }

  /** The text of `chunk` (after what was held back) that is safe to pass on now. */
  write(chunk: string): string {
    return this.scan(this.pending + chunk, false);
  }

  /** What was held back, redacted: the stream has ended. */
  end(): string {
    return this.scan(this.pending, true);
  }

  private scan(buf: string, final: boolean): string {
    this.pending = '';
    if (this.needles.length === 0) return buf;
    let out = '';
    let from = 0;
    let i = 0;
    while (i < buf.length) {
      if (!this.starts.has(buf[i] as string)) {
        i++;
        continue;
      }
      let match = 0;
      let wait = false;
      for (const n of this.needles) {
        if (buf.startsWith(n, i)) {
          match = n.length;
          break;
        }
        // a longer secret than any that matches here may still: the next chunk decides
        if (!final && n.length > buf.length - i && n.startsWith(buf.slice(i))) {
          wait = true;
          break;
        }
      }
      if (wait) {
        this.pending = buf.slice(i);
        return out + buf.slice(from, i);
      }
      if (match > 0) {
        out += `${buf.slice(from, i)}***`;
        i += match;
        from = i;
      } else {
        i++;
      }
    }
    return out + buf.slice(from);
  }
}

/**
 * A stage log sink that passes on its output with every known secret
 * replaced by `***`, each stream redacted on its own and across chunk
 * boundaries; `end` passes on what was held back.
 */
export function redactingSink(next: StageLogSink, redactor: Redactor): StageLogSink {
  if (redactor.needles.length === 0) return next;
  const streams = { stdout: redactor.stream(), stderr: redactor.stream() };
  return {
    write(chunk, stream) {
      const text = streams[stream].write(chunk);
      if (text !== '') next.write(text, stream);
    },
    end() {
      for (const stream of ['stdout', 'stderr'] as const) {
        const text = streams[stream].end();
        if (text !== '') next.write(text, stream);
      }
      next.end?.();
    },
  };
}
