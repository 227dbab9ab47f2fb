/**
 * Removes credentials from text before it reaches a log line, a status
 * file, the outbox or an error message. Every form a secret travels in is
 * covered: as given, URL-encoded, and inside a basic `Authorization` value.
 */
export class Redactor {
  private readonly needles: string[];

  constructor(secrets: readonly (string | undefined)[], basic?: { username: string; password: string }) {
    const forms = new Set<string>();
    for (const s of secrets) {
      if (!s) continue;
      forms.add(s);
      forms.add(encodeURIComponent(s));
    }
    if (basic && (basic.username || basic.password)) forms.add(Buffer.from(`${basic.username}:${basic.password}`).toString('base64'));
    // longest first, so that a secret containing another is removed whole
    this.needles = [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const n of this.needles) out = out.split(n).join('***');
    return out;
  }
}
