import { describe, expect, it } from 'vitest';
import { redactingSink, Redactor } from '../../../src/core/redact.js';

const SECRETS = ['Pa55-w0rd', 'w0rd-and-more', 'tok/+=en', 'aaab'];

/** Every way of cutting `text` into two or three chunks. */
function cuts(text: string): string[][] {
  const out: string[][] = [[text]];
  for (let i = 0; i <= text.length; i++) {
    out.push([text.slice(0, i), text.slice(i)]);
    for (let j = i; j <= text.length; j++) out.push([text.slice(0, i), text.slice(i, j), text.slice(j)]);
  }
  return out;
}

function streamed(r: Redactor, chunks: string[]): string {
  const s = r.stream();
  return chunks.map((c) => s.write(c)).join('') + s.end();
}

describe('StreamRedactor', () => {
  it('removes every secret wherever the chunks are cut, and gives the same text as one chunk', () => {
    const r = new Redactor(SECRETS);
    const text = 'user Pa55-w0rd-and-more; token tok/+=en and tok%2F%2B%3Den; aaaab aab; end Pa55-w0r';
    const whole = streamed(r, [text]);
    expect(whole).toBe('user ***-and-more; token *** and ***; a*** aab; end Pa55-w0r');
    for (const chunks of cuts(text)) {
      const out = streamed(r, chunks);
      expect(out, JSON.stringify(chunks)).toBe(whole);
    }
  });

  it('holds back only what may begin a secret, and passes the rest on at once', () => {
    const s = new Redactor(['secret']).stream();
    expect(s.write('line one\nthe sec')).toBe('line one\nthe ');
    expect(s.write('ond line')).toBe('second line');
    expect(s.write('a secr')).toBe('a ');
    expect(s.write('et!')).toBe('***!');
    expect(s.write('tail: sec')).toBe('tail: ');
    expect(s.end()).toBe('sec');
  });

  it('covers the URL-encoded form and the basic Authorization value', () => {
    const r = new Redactor(['p@ss w'], { username: 'alice', password: 'p@ss w' });
    const basic = Buffer.from('alice:p@ss w').toString('base64');
    expect(streamed(r, ['x p%40ss%20w y ', basic.slice(0, 5), `${basic.slice(5)} z`])).toBe('x *** y *** z');
  });

  it('passes text through when there is no secret', () => {
    const s = new Redactor([undefined, '']).stream();
    expect(s.write('anything')).toBe('anything');
    expect(s.end()).toBe('');
  });
});

describe('redactingSink', () => {
  it('redacts each stream on its own and writes what it held back at the end', () => {
    const got: { stream: string; text: string }[] = [];
    let ended = 0;
    const sink = redactingSink(
      {
        write: (text, stream) => got.push({ stream, text }),
        end: () => void ended++,
      },
      new Redactor(['hunter2']),
    );
    sink.write('pw=hun', 'stdout');
    sink.write('err: hunt', 'stderr');
    sink.write('ter2\n', 'stdout');
    sink.write('er', 'stderr');
    sink.end?.();
    const text = (stream: string) => got.filter((g) => g.stream === stream).map((g) => g.text).join('');
    expect(text('stdout')).toBe('pw=***\n');
    expect(text('stderr')).toBe('err: hunter');
    expect(ended).toBe(1);
  });
});
