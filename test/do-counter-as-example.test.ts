// examples/do-counter-as, deployed from its directories as `edge deploy` uploads them: the atomic counter as a Durable
// Object class written in AssemblyScript (built for world durable-object because its manifest declares the class),
// reached through the JS worker in front/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

describe('examples/do-counter-as', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
    const cls = await t.admin('POST', '/v1/workers', await collectUpload('examples/do-counter-as'));
    expect(cls.status, JSON.stringify(cls.body)).toBe(201);
    const front = await t.admin('POST', '/v1/workers', await collectUpload('examples/do-counter-as/front'));
    expect(front.status, JSON.stringify(front.body)).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('counts atomically per name, and forgets a count', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => t.get('do-counter-as-front', '/counter/visits', { method: 'POST' })));
    expect(answers.map((r) => JSON.parse(r.text).count).sort((a: number, b: number) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(JSON.parse((await t.get('do-counter-as-front', '/counter/visits')).text)).toEqual({ count: 50 });
    expect(JSON.parse((await t.get('do-counter-as-front', '/counter/visits?n=5', { method: 'POST' })).text)).toEqual({ count: 55 });
    expect(JSON.parse((await t.get('do-counter-as-front', '/counter/other')).text)).toEqual({ count: 0 });
    expect(t.host.runtime.evict('do-counter-as')).toBe(true);
    expect(JSON.parse((await t.get('do-counter-as-front', '/counter/visits')).text)).toEqual({ count: 55 });
    expect(JSON.parse((await t.get('do-counter-as-front', '/counter/visits', { method: 'DELETE' })).text)).toEqual({ count: 0 });
    expect(JSON.parse((await t.get('do-counter-as-front', '/counter/visits')).text)).toEqual({ count: 0 });
    expect((await t.get('do-counter-as-front', '/')).status).toBe(404);
    expect((await t.get('do-counter-as', '/')).text).toContain('reach them through the front worker');
  });
});
