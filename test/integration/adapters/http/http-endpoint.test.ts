import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startHttpEndpoint } from '../../../../src/adapters/http/http-endpoint.js';
import { ReprodError } from '../../../../src/core/errors.js';
import { quietLogger } from '../../../helpers/docker.js';

describe('the daemon HTTP endpoint', () => {
  it('serves /healthz and /metrics on loopback, and nothing else', async () => {
    let ok = true;
    await using http = await startHttpEndpoint({
      host: '127.0.0.1',
      port: 0,
      log: quietLogger,
      health: () => ({ ok, detail: { running: 1 } }),
      metrics: () => 'reprod_up 1\n',
    });
    const base = `http://127.0.0.1:${http.port}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', running: 1 });
    ok = false;
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await metrics.text()).toBe('reprod_up 1\n');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('says which port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await startHttpEndpoint({ host: '127.0.0.1', port, log: quietLogger, health: () => ({ ok: true, detail: {} }), metrics: () => '' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReprodError);
      expect((err as ReprodError).message).toContain(`127.0.0.1:${port}`);
    } finally {
      blocker.close();
    }
  });
});
