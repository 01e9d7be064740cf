// examples/do-counter, deployed from its directory as `edge deploy` uploads it: an atomic counter per name (fetch and
// JS RPC) and a per-client rate limiter whose windows are forgotten by an alarm.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

describe('examples/do-counter', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
    const res = await t.admin('POST', '/v1/workers', await collectUpload('examples/do-counter'));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('counts atomically per name, by fetch and by RPC', async () => {
    await Promise.all(Array.from({ length: 50 }, () => t.get('do-counter', '/counter/visits', { method: 'POST' })));
    expect(JSON.parse((await t.get('do-counter', '/counter/visits')).text)).toEqual({ count: 50 });
    expect(JSON.parse((await t.get('do-counter', '/counter/visits/add?n=5', { method: 'POST' })).text)).toEqual({ count: 55 });
    expect(JSON.parse((await t.get('do-counter', '/counter/other')).text)).toEqual({ count: 0 });
    const bad = await t.get('do-counter', '/counter/visits/add?n=1.5', { method: 'POST' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toEqual({ error: 'add(n): n must be an integer' });
  });

  it('limits each client to LIMIT requests per window, separately', async () => {
    const a = await Promise.all(Array.from({ length: 7 }, () => t.get('do-counter', '/limited', { headers: { 'x-client': 'alice' } })));
    const statuses = a.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = a.find((r) => r.status === 429)!;
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await t.get('do-counter', '/limited', { headers: { 'x-client': 'bob' } })).status).toBe(200);
  });
});
