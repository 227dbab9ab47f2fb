import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseDvcConfig } from '../../../src/core/dvc-config.js';
import { ReprodError } from '../../../src/core/errors.js';
import { terminalPrompt } from '../../../src/cli/password-prompt.js';
import { withAskedPassword } from '../../../src/remote/ask-password.js';
import { resolveRemote } from '../../../src/remote/remote-config.js';

function spec(config: string) {
  const env = { HOME: '/home/u', SSH_AUTH_SOCK: '' };
  return resolveRemote({ config: parseDvcConfig(config, '.dvc/config'), local: parseDvcConfig('', '.dvc/config.local'), env, dvcDir: '/ws/.dvc' }, 'r');
}

describe('ask_password', () => {
  it('asks once, naming the user, host and remote, and puts the answer where each remote reads it', async () => {
    const questions: string[] = [];
    const prompt = async (q: string) => {
      questions.push(q);
      return 's3cret';
    };
    const http = await withAskedPassword(spec(`['remote "r"']\n    url = https://h.example/x\n    user = bob\n    auth = digest\n    ask_password = true\n`), prompt);
    expect(http).toMatchObject({ auth: { kind: 'digest', user: 'bob', password: 's3cret' }, credentialSource: 'the terminal' });
    expect(http).not.toHaveProperty('askPassword');
    const ssh = await withAskedPassword(spec(`['remote "r"']\n    url = ssh://carol@h.example:2222/data\n    ask_password = true\n`), prompt);
    expect(ssh).toMatchObject({ password: 's3cret', credentialSource: 'password asked on the terminal' });
    const custom = await withAskedPassword(spec(`['remote "r"']\n    url = http://h/x\n    auth = custom\n    custom_auth_header = X-Key\n    ask_password = true\n`), prompt);
    expect(custom).toMatchObject({ auth: { kind: 'header', name: 'x-key', value: 's3cret' } });
    expect(questions).toEqual(["Password for 'bob' at h.example (remote 'r'): ", "Password for 'carol' at h.example:2222 (remote 'r'): ", "Password for h (remote 'r'): "]);
    // nothing to ask: the spec as it was, no question
    const plain = spec(`['remote "r"']\n    url = https://h/x\n`);
    expect(await withAskedPassword(plain, prompt)).toBe(plain);
    expect(questions).toHaveLength(3);
  });

  it('without a terminal, refuses naming the remote and how to store the password', async () => {
    const err = await withAskedPassword(spec(`['remote "r"']\n    url = ssh://h/data\n    user = u\n    ask_password = true\n`), undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).format()).toContain("remote 'r': ask_password is set, and the password cannot be asked for here (no terminal, or an unattended run)");
    expect((err as ReprodError).remedy).toContain('`reprod remote modify --local r password …`');
  });

  it('reads keys unechoed in raw mode: backspace, Ctrl-U, Enter; Ctrl-C cancels', async () => {
    const input = Object.assign(new PassThrough(), { isRaw: false, modes: [] as boolean[], setRawMode(raw: boolean) { this.modes.push(raw); this.isRaw = raw; } });
    const written: string[] = [];
    const ask = terminalPrompt(input, (s) => written.push(s));
    const answer = ask('Password: ');
    input.write('wrong\u0015pa');
    input.write('sx\u007fs\r');
    expect(await answer).toBe('pass');
    expect(input.modes).toEqual([true, false]);
    expect(written).toEqual(['Password: ', '\n']);
    const cancelled = ask('Password: ');
    input.write('ab\u0003');
    await expect(cancelled).rejects.toThrow(/the prompt was cancelled/);
    expect(input.isRaw).toBe(false);
  });
});
