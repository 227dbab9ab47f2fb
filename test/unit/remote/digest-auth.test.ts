import { describe, expect, it } from 'vitest';
import { DigestSession, parseDigestChallenge } from '../../../src/adapters/remote/digest-auth.js';

const field = (header: string, name: string) => new RegExp(`${name}="?([^",]*)"?`).exec(header)?.[1];

describe('HTTP digest access authentication', () => {
  it("answers RFC 2617's worked example (MD5, qop=auth)", () => {
    const c = parseDigestChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    expect(c).toMatchObject({ realm: 'testrealm@host.com', algorithm: 'MD5', qopAuth: true, stale: false, opaque: '5ccc069c403ebaf9f0171e9517f40e41' });
    const s = new DigestSession('Mufasa', 'Circle Of Life');
    expect(s.header('GET', '/dir/index.html')).toBeUndefined();
    s.challenged(c!);
    const h = s.header('GET', '/dir/index.html', '0a4f113b') as string;
    expect(field(h, 'response')).toBe('6629fae49393a05397450978507c4ef1');
    expect(field(h, 'nc')).toBe('00000001');
    expect(h).toMatch(/^Digest username="Mufasa", realm="testrealm@host\.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="\/dir\/index\.html", algorithm=MD5, /);
    expect(h).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    // the next request counts on
    expect(field(s.header('GET', '/dir/index.html', 'x') as string, 'nc')).toBe('00000002');
  });

  it("answers RFC 7616's worked examples (MD5 and SHA-256)", () => {
    const nonce = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v';
    const cnonce = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
    const expected = { MD5: '8ca523f5e9506fed4657c9700eebdbec', 'SHA-256': '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1' };
    for (const [algorithm, response] of Object.entries(expected)) {
      const s = new DigestSession('Mufasa', 'Circle of Life');
      s.challenged(parseDigestChallenge(`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="${nonce}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`)!);
      expect(field(s.header('GET', '/dir/index.html', cnonce) as string, 'response'), algorithm).toBe(response);
    }
  });

  it('picks the Digest challenge among several, and leaves what it cannot answer', () => {
    expect(parseDigestChallenge(['Basic realm="x"', 'Digest realm="r", nonce="n", stale=TRUE'])).toMatchObject({ realm: 'r', nonce: 'n', qopAuth: false, stale: true });
    expect(parseDigestChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseDigestChallenge('Digest realm="r", nonce="n", qop="auth-int"')).toBeUndefined();
    expect(parseDigestChallenge('Digest realm="r", nonce="n", algorithm=SHA-512-256')).toBeUndefined();
    // without qop, RFC 2069's response (no nc, no cnonce)
    const s = new DigestSession('u', 'p');
    s.challenged(parseDigestChallenge('Digest realm="r", nonce="n"')!);
    expect(s.header('PUT', '/a')).not.toMatch(/nc=|cnonce=/);
  });
});
