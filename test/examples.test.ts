// The shipped examples, deployed from their directories exactly as `edge deploy` uploads them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

describe('examples', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
    // The AssemblyScript ones are built into components by collectUpload, as `edge deploy` does.
    for (const dir of ['examples/hello-js', 'examples/router-js', 'examples/hello-as', 'examples/echo-as', 'examples/fib-as']) {
      const res = await t.admin('POST', '/v1/workers', await collectUpload(dir));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  }, 120_000);
  afterAll(async () => {
    await t.close();
  });

  it('hello-js greets', async () => {
    const r = await t.get('hello-js');
    expect(r.status).toBe(200);
    expect(r.text).toBe('Hello from the edge!\n');
  });

  it('router-js routes JSON in and out with vars', async () => {
    expect(JSON.parse((await t.get('router-js', '/')).text).service).toBe('router-js example');
    const created = await t.get('router-js', '/todos', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: ' write tests ' }) });
    expect(created.status).toBe(201);
    const todo = JSON.parse(created.text);
    expect(todo).toMatchObject({ title: 'write tests', done: false });
    expect(JSON.parse((await t.get('router-js', `/todos/${todo.id}`)).text)).toEqual(todo);
    expect(JSON.parse((await t.get('router-js', '/todos')).text)).toEqual([todo]);
    expect((await t.get('router-js', '/todos/999')).status).toBe(404);
    expect((await t.get('router-js', '/todos', { method: 'POST', body: 'not json' })).status).toBe(400);
    expect((await t.get('router-js', '/todos', { method: 'POST', body: '{}' })).status).toBe(422);
    expect((await t.get('router-js', '/todos', { method: 'DELETE' })).status).toBe(405);
    expect((await t.get('router-js', '/nope')).status).toBe(404);
  });

  it('hello-as, echo-as and fib-as answer as AssemblyScript components', async () => {
    const hello = await t.get('hello-as', '/hi');
    expect(hello.text).toBe(`hello from http://hello-as.localhost:${t.port}/hi\n`);
    const echo = JSON.parse((await t.get('echo-as', '/e?q=%E2%9C%93', { method: 'POST', body: 'body ✓' })).text);
    expect(echo).toMatchObject({ method: 'POST', path: '/e', query: [['q', '✓']], body: 'body ✓' });
    expect((await t.get('fib-as', '/?n=25')).text).toBe('fib(25) = 75025\n');
    const tooMuch = await t.get('fib-as', '/?n=40');
    expect(tooMuch.status).toBe(503);
    expect(tooMuch.headers['x-edge-error']).toBe('E_FUEL_LIMIT');
  });

  it('router-js streams a large response', async () => {
    const r = await t.get('router-js', '/stream/8');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(8 * 1024 * 1024));
    expect(r.body.length).toBe(8 * 1024 * 1024);
    expect(r.body.subarray(0, 16).toString()).toBe('0123456789abcdef');
    expect((await t.get('router-js', '/stream/1000')).status).toBe(400);
  });
});
