// Popular Workers frameworks installed from npm, run unchanged under the real `edge dev` CLI (bundled from TypeScript
// with the framework from node_modules) and exercised over HTTP; and the examples' TypeScript typechecked against
// the guest types (guest-sdk/js).

import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeDev, type EdgeProcess } from './helpers/edge-cli.ts';
import { request, type TestResponse } from './helpers/http.ts';
import { manifestFor, startTestHost } from './helpers/test-host.ts';

const ROOT = resolve(import.meta.dirname, '..');

function devServer(example: string) {
  const dir = join(ROOT, 'examples', example);
  let dev: EdgeProcess;
  let url: string;
  let host: string;
  const ctx = {
    dev: () => dev,
    call(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<TestResponse> {
      return request(`${url}${path}`, { host, ...init });
    },
  };
  beforeAll(async () => {
    await rm(join(dir, '.edge'), { recursive: true, force: true });
    ({ dev, url, host } = await startEdgeDev(dir));
  }, 60_000);
  afterAll(async () => {
    dev?.kill();
    await rm(join(dir, '.edge'), { recursive: true, force: true });
  });
  return ctx;
}

const json = (r: TestResponse) => JSON.parse(r.text) as Record<string, any>;

describe('examples/hono-app under edge dev', () => {
  const app = devServer('hono-app');

  it('bundles from TypeScript and serves the root route with a var', async () => {
    // The main file as the manifest names it, not the bundle the host runs (src/index.js).
    expect(app.dev().stdout()).toMatch(/deployed hono-app version \S+ \(main examples\/hono-app\/src\/index\.ts\)/);
    const r = await app.call('/');
    expect(r.status).toBe(200);
    expect(r.text).toBe('Hello from Hono on the edge!');
    // The custom middleware's header; the logger middleware's lines in the dev terminal.
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    await app.dev().waitFor(/<-- GET \/\n[^]*--> GET \/ \S*200/);
  });

  it('routes with params, JSON in and out', async () => {
    expect(json(await app.call('/api/notes/1'))).toMatchObject({ id: 1, text: 'try hono on the edge', tags: ['hello'] });
    const created = await app.call('/api/notes', { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'req-7' }, body: JSON.stringify({ text: ' second ', tags: ['b', 3] }) });
    expect(created.status).toBe(201);
    expect(created.headers['x-request-id']).toBe('req-7');
    const note = json(created);
    expect(note).toMatchObject({ text: 'second', tags: ['b'] });
    expect(created.headers['location']).toBe(`/api/notes/${note['id']}`);
    expect(json(await app.call(`/api/notes/${note['id']}`))['text']).toBe('second');
    expect(json(await app.call('/api/notes?tag=b'))['notes']).toHaveLength(1);
  });

  it('answers errors through app.onError and unknown paths through notFound', async () => {
    const bad = await app.call('/api/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text": ""}' });
    expect(bad.status).toBe(400);
    expect(json(bad)).toEqual({ error: '`text` must be a non-empty string' });
    const notJson = await app.call('/api/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect([notJson.status, json(notJson)]).toEqual([400, { error: 'the body must be JSON' }]);
    const missing = await app.call('/api/notes/999');
    expect([missing.status, json(missing)]).toEqual([404, { error: 'no note 999' }]);
    // `:id{[0-9]+}` does not match, so no route does.
    const unrouted = await app.call('/api/notes/abc');
    expect([unrouted.status, json(unrouted)]).toEqual([404, { error: 'not found', path: '/api/notes/abc' }]);
    const boom = await app.call('/boom', { headers: { 'x-request-id': 'req-boom' } });
    expect([boom.status, json(boom)]).toEqual([500, { error: 'internal error', requestId: 'req-boom' }]);
    await app.dev().waitFor(/GET \/boom failed: something broke/);
  });

  it('runs cors and bearer-auth middleware', async () => {
    const pre = await app.call('/api/notes', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(pre.headers['access-control-allow-methods']).toBe('GET,POST,DELETE');
    expect(pre.headers['access-control-max-age']).toBe('600');

    const anonymous = await app.call('/admin/stats');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await app.call('/admin/stats', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await app.call('/admin/stats', { headers: { authorization: 'Bearer change-me', 'x-request-id': 'req-admin' } });
    expect(ok.status).toBe(200);
    expect(json(ok)).toMatchObject({ requestId: 'req-admin' });
  });
});

describe('examples/hono-app: the scheduled handler beside fetch', () => {
  const app = devServer('hono-app');

  it('runs on /__scheduled under edge dev, with env and ctx.waitUntil', async () => {
    for (const text of ['two', 'three']) {
      expect((await app.call('/api/notes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) })).status).toBe(201);
    }
    expect(json(await app.call('/api/notes'))['notes']).toHaveLength(3);
    const ran = await app.call('/__scheduled?cron=*/15+*+*+*+*');
    expect([ran.status, ran.text]).toEqual([200, 'Ran scheduled event\n']);
    await app.dev().waitFor(/cron \*\/15 \* \* \* \*: pruned 1 notes/);
    expect(json(await app.call('/api/notes'))['notes'].map((n: { text: string }) => n.text)).toEqual(['two', 'three']);
  });
});

describe('examples/itty-app under edge dev', () => {
  const app = devServer('itty-app');

  it('serves JSON routes with env vars, and the finally middleware', async () => {
    const r = await app.call('/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(json(r)).toEqual({ service: 'itty-app', apiVersion: '2026-11' });
    expect(r.headers['x-elapsed-ms']).toMatch(/^\d+$/);
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });

  it('routes with params: redirects, JSON in and out', async () => {
    const go = await app.call('/links/docs');
    expect(go.status).toBe(302);
    expect(go.headers['location']).toBe('https://developers.cloudflare.com/workers/');
    expect(json(await app.call('/links/docs/stats'))).toEqual({ slug: 'docs', hits: 1 });
    const created = await app.call('/links', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ slug: 'hono', url: 'https://hono.dev/' }) });
    expect([created.status, json(created)]).toEqual([201, { slug: 'hono', url: 'https://hono.dev/', hits: 0 }]);
    expect(json(await app.call('/links'))['links'].map((l: { slug: string }) => l.slug)).toEqual(['docs', 'hono']);
  });

  it('answers errors, conflicts, 404s and CORS preflights', async () => {
    const bad = await app.call('/links', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ slug: 'Bad Slug', url: 'x' }) });
    expect([bad.status, json(bad)]).toEqual([400, { status: 400, error: '`slug` must be 1-40 characters of a-z, 0-9 and -' }]);
    const again = await app.call('/links', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ slug: 'docs', url: 'https://a.example/' }) });
    expect([again.status, json(again)['error']]).toEqual([409, '"docs" exists already']);
    const missing = await app.call('/links/nope');
    expect([missing.status, json(missing)]).toEqual([404, { status: 404, error: 'no link "nope"' }]);
    const unrouted = await app.call('/nowhere');
    expect([unrouted.status, json(unrouted)]).toEqual([404, { status: 404, error: 'Not Found' }]);
    const boom = await app.call('/boom');
    expect([boom.status, json(boom)]).toEqual([500, { status: 500, error: 'internal error' }]);
    const pre = await app.call('/links', { method: 'OPTIONS', headers: { origin: 'https://x.example', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-methods']).toBe('GET,POST');
  });
});

describe('guest types (guest-sdk/js, @edge/workers-types)', () => {
  it('typecheck the examples, and a worker using what the runtime has but not what it lacks', async () => {
    const tsc = join(ROOT, 'node_modules/.bin/tsc');
    // guest-sdk/js/test/worker.ts marks each missing Workers API with @ts-expect-error: declaring it would fail too.
    for (const project of ['examples/hono-app', 'examples/itty-app', 'guest-sdk/js/test']) {
      const r = await promisify(execFile)(tsc, ['-p', join(ROOT, project, 'tsconfig.json')]).then(
        () => ({ ok: true, out: '' }),
        (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
      );
      expect(r, `${project}:\n${r.out}`).toEqual({ ok: true, out: '' });
    }
  }, 120_000);

  it('declare only globals that exist in a worker', async () => {
    const dts = await readFile(join(ROOT, 'guest-sdk/js/index.d.ts'), 'utf8');
    const names = [...dts.matchAll(/^\s+(?:var|function|export import) (\w+)/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(60);
    const t = await startTestHost();
    try {
      const source = `export default { fetch() { return Response.json(Object.fromEntries(${JSON.stringify([...new Set(names)])}.map((n) => [n, typeof globalThis[n]]))) } }`;
      // Touching every global loads the lazy ones (streams, events, compression) in one request: room for a busy machine.
      expect((await t.deploy('globals', { toml: manifestFor('globals', 'index.js', '[limits]\ncpu_ms = 5000'), modules: { 'index.js': source } })).status).toBe(201);
      const types = JSON.parse((await t.get('globals', '/')).text) as Record<string, string>;
      expect(Object.entries(types).filter(([, type]) => type === 'undefined').map(([name]) => name)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
