// Deploy lifecycle against a real host on loopback: deploy, serve, redeploy, rollback, delete, bad deploys
// that leave the old version serving, restart, routing and the admin token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';
import { request } from './helpers/http.ts';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

const worker = (text: string): string => `export default { fetch() { return new Response(${JSON.stringify(text)}); } };`;

describe('deploy lifecycle', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t.close();
  });

  it('deploys, serves, redeploys and rolls back', async () => {
    const d1 = await t.deploy('life', { modules: { 'index.js': worker('v1') } });
    expect(d1.status).toBe(201);
    expect(d1.body.name).toBe('life');
    expect(d1.body.url).toBe(`http://life.localhost:${t.port}/`);
    expect((await t.get('life')).text).toBe('v1');

    const d2 = await t.deploy('life', { modules: { 'index.js': worker('v2') } });
    expect(d2.status).toBe(201);
    expect(d2.body.version.id).not.toBe(d1.body.version.id);
    expect((await t.get('life')).text).toBe('v2');

    const versions = await t.admin('GET', '/v1/workers/life/versions');
    expect(versions.body.activeVersion).toBe(d2.body.version.id);
    expect(versions.body.versions.map((v: { id: string }) => v.id)).toEqual([d2.body.version.id, d1.body.version.id]);

    const rb = await t.admin('POST', '/v1/workers/life/rollback', {});
    expect(rb.status).toBe(200);
    expect(rb.body).toMatchObject({ activeVersion: d1.body.version.id, previousVersion: d2.body.version.id });
    expect((await t.get('life')).text).toBe('v1');

    const fwd = await t.admin('POST', '/v1/workers/life/rollback', { version: d2.body.version.id });
    expect(fwd.body.activeVersion).toBe(d2.body.version.id);
    expect((await t.get('life')).text).toBe('v2');

    const none = await t.admin('POST', '/v1/workers/life/rollback', { version: 'nope' });
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('E_VERSION_NOT_FOUND');
  });

  it('rejects bad deploys precisely and keeps the old version serving', async () => {
    expect((await t.deploy('keep', { modules: { 'index.js': worker('good') } })).status).toBe(201);

    const syntax = await t.deploy('keep', { modules: { 'index.js': 'export default { fetch() { return new Response("x") }' } });
    expect(syntax.status).toBe(400);
    expect(syntax.body.error.code).toBe('E_MODULE_INVALID');
    expect(syntax.body.error.message).toMatch(/index\.js/);
    expect(syntax.body.error.message).toMatch(/SyntaxError|Unexpected/);

    const noFetch = await t.deploy('keep', { modules: { 'index.js': 'export default { hello() {} };' } });
    expect(noFetch.status).toBe(400);
    expect(noFetch.body.error.code).toBe('E_NO_FETCH_HANDLER');

    const noDefault = await t.deploy('keep', { modules: { 'index.js': 'export const fetch = () => new Response("x");' } });
    expect(noDefault.body.error.code).toBe('E_NO_FETCH_HANDLER');

    const badManifest = await t.deploy('keep', { toml: manifestFor('keep', 'index.js', '[limits]\ncpu_ms = "fast"'), modules: { 'index.js': worker('bad') } });
    expect(badManifest.status).toBe(400);
    expect(badManifest.body.error.code).toBe('E_MANIFEST_INVALID');
    expect(badManifest.body.error.message).toMatch(/limits\.cpu_ms/);

    const unknownKey = await t.deploy('keep', { toml: manifestFor('keep', 'index.js', 'colour = "blue"'), modules: { 'index.js': worker('bad') } });
    expect(unknownKey.body.error.code).toBe('E_MANIFEST_INVALID');
    expect(unknownKey.body.error.message).toMatch(/colour/);

    const binding = await t.deploy('keep', {
      toml: manifestFor('keep', 'index.js', '[[queues.producers]]\nbinding = "Q"\nqueue = "x"'),
      modules: { 'index.js': worker('bad') },
    });
    expect(binding.body.error.code).toBe('E_BINDING_UNSUPPORTED');

    const missingImport = await t.deploy('keep', { modules: { 'index.js': 'import { x } from "./nope.js"; export default { fetch() { return new Response(x) } };' } });
    expect(missingImport.body.error.code).toBe('E_MODULE_NOT_FOUND');
    expect(missingImport.body.error.message).toMatch(/nope\.js/);

    const bare = await t.deploy('keep', { modules: { 'index.js': 'import x from "lodash"; export default { fetch() { return new Response(x) } };' } });
    expect(bare.body.error.code).toBe('E_MODULE_NOT_FOUND');
    expect(bare.body.error.message).toMatch(/lodash/);

    const throws = await t.deploy('keep', { modules: { 'index.js': 'throw new Error("boom at startup"); export default { fetch() {} };' } });
    expect(throws.body.error.code).toBe('E_MODULE_INVALID');
    expect(throws.body.error.message).toMatch(/boom at startup/);

    const spins = await t.deploy('keep', { modules: { 'index.js': 'while (true) {} export default { fetch() {} };' } });
    expect(spins.body.error.code).toBe('E_CPU_LIMIT');

    const limits = await t.deploy('keep', { toml: manifestFor('keep', 'index.js', '[limits]\nmemory_mb = 100000'), modules: { 'index.js': worker('bad') } });
    expect(limits.body.error.code).toBe('E_MANIFEST_INVALID');

    const mainMissing = await t.deploy('keep', { toml: manifestFor('keep', 'src/main.js'), modules: { 'index.js': worker('bad') } });
    expect(mainMissing.body.error.code).toBe('E_MODULE_NOT_FOUND');

    const escape = await t.deploy('keep', { modules: { '../index.js': worker('bad') } });
    expect(escape.status).toBe(400);

    const res = await t.get('keep');
    expect(res.status).toBe(200);
    expect(res.text).toBe('good');
    const versions = await t.admin('GET', '/v1/workers/keep/versions');
    expect(versions.body.versions).toHaveLength(1);
  });

  it('runs several modules with relative imports and passes vars as env', async () => {
    const d = await t.deploy('multi', {
      toml: manifestFor('multi', 'src/index.js', '[vars]\nGREETING = "hi"\nCOUNT = 3\n[vars.NESTED]\nok = true'),
      modules: {
        'src/index.js': 'import { shout } from "./lib/text.js"; import data from "../data.js"; export default { fetch(req, env) { return Response.json({ s: shout(env.GREETING), n: env.COUNT, nested: env.NESTED, data }); } };',
        'src/lib/text.js': 'export const shout = (s) => s.toUpperCase() + "!";',
        'data.js': 'export default [1, 2, 3];',
      },
    });
    expect(d.status).toBe(201);
    const res = await t.get('multi');
    expect(JSON.parse(res.text)).toEqual({ s: 'HI!', n: 3, nested: { ok: true }, data: [1, 2, 3] });
    expect(res.headers['content-type']).toMatch(/application\/json/);
  });

  it('routes by host name and by manifest route patterns, 404 otherwise', async () => {
    await t.deploy('api', { toml: manifestFor('api', 'index.js', 'routes = ["example.com/api/*", "*.shop.test/*"]'), modules: { 'index.js': worker('api!') } });
    await t.deploy('site', { toml: manifestFor('site', 'index.js', 'route = "example.com/*"'), modules: { 'index.js': worker('site!') } });
    const at = (host: string, path: string) => request(`${t.host.dataUrl}${path}`, { host });
    expect((await at('example.com', '/api/users')).text).toBe('api!');
    expect((await at('example.com:8080', '/api/')).text).toBe('api!');
    expect((await at('example.com', '/about')).text).toBe('site!');
    expect((await at('eu.shop.test', '/cart')).text).toBe('api!');
    expect((await at('api.localhost', '/anything')).text).toBe('api!');
    const miss = await at('nowhere.test', '/x');
    expect(miss.status).toBe(404);
    expect(miss.headers['x-edge-error']).toBe('E_NO_ROUTE');
    expect(miss.text).toMatch(/No worker serves nowhere\.test\/x/);
    const taken = await t.deploy('thief', { toml: manifestFor('thief', 'index.js', 'routes = ["example.com/api/*"]'), modules: { 'index.js': worker('x') } });
    expect(taken.body.error.code).toBe('E_DEPLOY_INVALID');
    expect(taken.body.error.message).toMatch(/api/);
  });

  it('deletes a worker', async () => {
    await t.deploy('gone', { modules: { 'index.js': worker('here') } });
    expect((await t.get('gone')).status).toBe(200);
    const del = await t.admin('DELETE', '/v1/workers/gone');
    expect(del.body).toEqual({ name: 'gone', deleted: true });
    expect((await t.get('gone')).status).toBe(404);
    expect((await t.admin('DELETE', '/v1/workers/gone')).status).toBe(404);
  });

  it('requires the admin token', async () => {
    for (const token of [null, 'wrong']) {
      const res = await t.admin('GET', '/v1/workers', undefined, token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('E_UNAUTHORIZED');
    }
    expect((await t.admin('GET', '/metrics', undefined, null)).status).toBe(401);
    const deploy = await t.admin('POST', '/v1/workers', { manifest: { fileName: 'wrangler.toml', content: manifestFor('x', 'i.js') }, modules: [] }, null);
    expect(deploy.status).toBe(401);
  });

  it('serves Prometheus metrics', async () => {
    const m = await t.admin('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/edge_requests_total\{worker="life"\} \d+/);
    expect(m.body).toMatch(/edge_isolates_alive \d+/);
    expect(m.body).toMatch(/edge_cpu_seconds_total/);
  });

  it('keeps deployments across a restart, including rollback history', async () => {
    await t.restart();
    expect((await t.get('life')).text).toBe('v2');
    expect((await t.get('keep')).text).toBe('good');
    expect((await t.get('gone')).status).toBe(404);
    const list = await t.admin('GET', '/v1/workers');
    expect(list.body.workers.map((w: { name: string }) => w.name)).toEqual(expect.arrayContaining(['life', 'keep', 'multi', 'api', 'site']));
    const rb = await t.admin('POST', '/v1/workers/life/rollback', {});
    expect(rb.status).toBe(200);
    expect((await t.get('life')).text).toBe('v1');
  });
});

describe('admin token', () => {
  it('is generated at first start into <data-dir>/admin-token with mode 0600 and reused after a restart', async () => {
    const saved = process.env.EDGE_ADMIN_TOKEN;
    delete process.env.EDGE_ADMIN_TOKEN;
    const t = await startTestHost({ adminToken: undefined });
    try {
      const file = join(t.dataDir, 'admin-token');
      const token = (await readFile(file, 'utf8')).trim();
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(t.host.adminToken).toBe(token);
      expect((await t.admin('GET', '/v1/workers', undefined, token)).status).toBe(200);
      await t.restart({ adminToken: undefined });
      expect(t.host.adminToken).toBe(token);
    } finally {
      if (saved !== undefined) process.env.EDGE_ADMIN_TOKEN = saved;
      await t.close();
    }
  });
});

describe('admin binding', () => {
  it('refuses a non-loopback admin address without an explicit token', async () => {
    const saved = process.env.EDGE_ADMIN_TOKEN;
    delete process.env.EDGE_ADMIN_TOKEN;
    try {
      await expect(startTestHost({ adminHost: '0.0.0.0', adminToken: undefined })).rejects.toMatchObject({ code: 'E_CONFIG_INVALID' });
    } finally {
      if (saved !== undefined) process.env.EDGE_ADMIN_TOKEN = saved;
    }
  });
});
