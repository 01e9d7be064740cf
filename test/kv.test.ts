// Workers KV through a real host: the env.MY_KV API of JS workers (every call form users know), its limits and
// errors, expiration, pagination, and the AssemblyScript counter sharing a namespace with the JS one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const KV_WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const step = url.pathname.slice(1);
    const kv = env.KV;
    const out = {};
    try {
      switch (step) {
        case 'types': {
          await kv.put('text', 'hello ✓');
          await kv.put('json', JSON.stringify({ a: [1, 2] }));
          await kv.put('buffer', new Uint8Array([1, 2, 3]).buffer);
          await kv.put('view', new Uint16Array([258, 772]));
          await kv.put('stream', new Blob(['streamed ', 'value']).stream());
          out.text = await kv.get('text');
          out.textType = await kv.get('text', 'text');
          out.json = await kv.get('json', 'json');
          out.jsonOpt = await kv.get('json', { type: 'json', cacheTtl: 60 });
          out.buffer = [...new Uint8Array(await kv.get('buffer', 'arrayBuffer'))];
          out.view = [...new Uint8Array(await kv.get('view', 'arrayBuffer'))];
          out.stream = await new Response(await kv.get('stream', 'stream')).text();
          out.missing = await kv.get('nope');
          const many = await kv.get(['text', 'nope', 'json'], 'json').catch((e) => e.message);
          out.manyJsonError = typeof many === 'string';
          const manyText = await kv.get(['text', 'nope']);
          out.many = [...manyText.entries()];
          break;
        }
        case 'metadata': {
          await kv.put('m', 'v', { metadata: { owner: 'ann', n: 1 } });
          out.with = await kv.getWithMetadata('m');
          out.withJson = await kv.getWithMetadata('m', 'text');
          out.none = await kv.getWithMetadata('absent');
          out.plain = await kv.getWithMetadata('text');
          break;
        }
        case 'delete': {
          await kv.put('d', 'x');
          out.before = await kv.get('d');
          await kv.delete('d');
          out.after = await kv.get('d');
          await kv.delete('never');
          break;
        }
        case 'list': {
          for (let i = 0; i < 25; i++) await kv.put('page:' + String(i).padStart(2, '0'), String(i), i % 2 ? { metadata: { i } } : {});
          await kv.put('page:ttl', 'x', { expirationTtl: 3600 });
          const first = await kv.list({ prefix: 'page:', limit: 10 });
          const second = await kv.list({ prefix: 'page:', limit: 10, cursor: first.cursor });
          const third = await kv.list({ prefix: 'page:', limit: 10, cursor: second.cursor });
          out.pages = [first, second, third].map((p) => ({ n: p.keys.length, complete: p.list_complete, hasCursor: 'cursor' in p }));
          out.first = first.keys.slice(0, 2);
          out.ttl = third.keys.find((k) => k.name === 'page:ttl');
          out.all = (await kv.list()).keys.length;
          break;
        }
        case 'errors': {
          const msg = async (p) => { try { await p; return 'no error'; } catch (e) { return e.constructor.name + ': ' + e.message; } };
          out.longKey = await msg(kv.put('k'.repeat(513), 'v'));
          out.emptyKey = await msg(kv.get(''));
          out.bigValue = await msg(kv.put('big', new Uint8Array(25 * 1024 * 1024 + 1)));
          out.bigMeta = await msg(kv.put('m', 'v', { metadata: { s: 'x'.repeat(1100) } }));
          out.ttl = await msg(kv.put('t', 'v', { expirationTtl: 10 }));
          out.past = await msg(kv.put('t', 'v', { expiration: 1000 }));
          out.badType = await msg(kv.get('text', 'yaml'));
          out.badValue = await msg(kv.put('x', { not: 'a value' }));
          out.badLimit = await msg(kv.list({ limit: 5000 }));
          out.badCacheTtl = await msg(kv.get('text', { cacheTtl: 5 }));
          break;
        }
      }
    } catch (e) {
      return Response.json({ threw: String(e && e.stack || e) }, { status: 500 });
    }
    return Response.json(out);
  },
};
`;

describe('Workers KV', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost();
    const toml = manifestFor('kv-api', 'index.js', 'kv_namespaces = [{ binding = "KV", id = "api-tests" }]\n[limits]\ncpu_ms = 500\nmemory_mb = 256');
    const res = await t.deploy('kv-api', { toml, modules: { 'index.js': KV_WORKER } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    for (const dir of ['examples/kv-counter-js', 'examples/kv-counter-as']) {
      const r = await t.admin('POST', '/v1/workers', await collectUpload(dir));
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });
  const step = async (name: string) => {
    const r = await t.get('kv-api', `/${name}`);
    expect(r.status, r.text).toBe(200);
    return JSON.parse(r.text);
  };

  it('get and put every value type, and get of several keys', async () => {
    const o = await step('types');
    expect(o).toMatchObject({ text: 'hello ✓', textType: 'hello ✓', json: { a: [1, 2] }, jsonOpt: { a: [1, 2] }, buffer: [1, 2, 3], view: [2, 1, 4, 3], stream: 'streamed value', missing: null, manyJsonError: true });
    expect(o.many).toEqual([['text', 'hello ✓'], ['nope', null]]);
  });

  it('getWithMetadata, delete', async () => {
    const m = await step('metadata');
    expect(m.with).toEqual({ value: 'v', metadata: { owner: 'ann', n: 1 }, cacheStatus: null });
    expect(m.none).toEqual({ value: null, metadata: null, cacheStatus: null });
    expect(m.plain.metadata).toBeNull();
    expect(await step('delete')).toEqual({ before: 'x', after: null });
  });

  it('lists in pages with cursors, metadata and expiration', async () => {
    const o = await step('list');
    expect(o.pages).toEqual([
      { n: 10, complete: false, hasCursor: true },
      { n: 10, complete: false, hasCursor: true },
      { n: 6, complete: true, hasCursor: false },
    ]);
    expect(o.first).toEqual([{ name: 'page:00' }, { name: 'page:01', metadata: { i: 1 } }]);
    expect(o.ttl.expiration).toBeGreaterThan(Date.now() / 1000 + 3500);
  });

  it('refuses what Workers KV refuses, with clear errors', async () => {
    const o = await step('errors');
    expect(o.longKey).toMatch(/^Error: KV PUT failed: keys are at most 512 bytes of UTF-8; this one is 513 bytes/);
    expect(o.emptyKey).toMatch(/^TypeError: KV GET failed: "" is not a valid key/);
    expect(o.bigValue).toMatch(/25 MiB/);
    expect(o.bigMeta).toMatch(/metadata is at most 1024 bytes/);
    expect(o.ttl).toMatch(/expirationTtl must be at least 60 seconds/);
    expect(o.past).toMatch(/less than 60 seconds in the future/);
    expect(o.badType).toMatch(/^TypeError: Unknown response type "yaml"/);
    expect(o.badValue).toMatch(/^TypeError: KV put\(\) accepts only strings/);
    expect(o.badLimit).toMatch(/list limit must be an integer from 1 to 1000/);
    expect(o.badCacheTtl).toMatch(/Invalid cacheTtl value: 5/);
  });

  it('keeps values across a host restart (durable)', async () => {
    await step('types');
    await t.restart();
    const r = await t.get('kv-api', '/types');
    expect(JSON.parse(r.text).text).toBe('hello ✓');
  });

  it('kv-counter-js and kv-counter-as count the same counters in one namespace', async () => {
    const post = (w: string, name: string) => t.get(w, `/${name}`, { method: 'POST' }).then((r) => JSON.parse(r.text));
    expect(await post('kv-counter-js', 'visits')).toEqual({ name: 'visits', count: 1 });
    expect(await post('kv-counter-as', 'visits')).toEqual({ name: 'visits', count: 2 });
    expect(await post('kv-counter-js', 'visits')).toEqual({ name: 'visits', count: 3 });
    expect(await post('kv-counter-as', 'other')).toEqual({ name: 'other', count: 1 });
    for (const w of ['kv-counter-js', 'kv-counter-as']) {
      expect(JSON.parse((await t.get(w, '/visits')).text)).toEqual({ name: 'visits', count: 3 });
      expect(JSON.parse((await t.get(w, '/')).text)).toEqual({ counters: [{ name: 'other', count: 1 }, { name: 'visits', count: 3 }] });
      expect((await t.get(w, '/Bad Name!')).status).toBe(400);
    }
    expect(JSON.parse((await t.get('kv-counter-as', '/visits', { method: 'DELETE' })).text)).toEqual({ name: 'visits', count: 0 });
    expect(JSON.parse((await t.get('kv-counter-js', '/visits')).text)).toEqual({ name: 'visits', count: 0 });
  });

  it('refuses a component that imports kv without a kv_namespaces binding', async () => {
    const upload = await collectUpload('examples/kv-counter-as');
    const content = upload.manifest.content.replace(/^kv_namespaces.*$/m, '').replace('name = "kv-counter-as"', 'name = "kv-ungranted"');
    const r = await t.admin('POST', '/v1/workers', { ...upload, manifest: { ...upload.manifest, content } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('E_IMPORT_NOT_GRANTED');
    expect(r.body.error.message).toContain('kv_namespaces');
  });
});

describe('Workers KV: hot values served by the isolate, never stale', () => {
  let t: TestHost;
  const READER = `
export default {
  async fetch(request, env) {
    const u = new URL(request.url);
    if (u.pathname === '/put') { await env.KV.put('k', u.searchParams.get('v')); return new Response('ok'); }
    if (u.pathname === '/delete') { await env.KV.delete('k'); return new Response('ok'); }
    if (u.pathname === '/mutate') {
      const b = new Uint8Array(await env.KV.get('k', 'arrayBuffer'));
      b.fill(33);
      return new Response(await env.KV.get('k'));
    }
    return new Response(String(await env.KV.get('k')));
  },
};`;
  beforeAll(async () => {
    t = await startTestHost();
    for (const name of ['reader-a', 'reader-b']) {
      const toml = manifestFor(name, 'index.js', 'kv_namespaces = [{ binding = "KV", id = "shared-hot" }]');
      expect((await t.deploy(name, { toml, modules: { 'index.js': READER } })).status).toBe(201);
    }
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('a write from another worker, the same worker or a component is seen by the next read', async () => {
    await t.get('reader-a', '/put?v=one');
    for (let i = 0; i < 3; i++) expect((await t.get('reader-b', '/')).text).toBe('one');
    await t.get('reader-a', '/put?v=two');
    expect((await t.get('reader-b', '/')).text).toBe('two');
    await t.get('reader-b', '/put?v=three');
    expect((await t.get('reader-b', '/')).text).toBe('three');
    expect((await t.get('reader-a', '/')).text).toBe('three');
    await t.get('reader-a', '/delete');
    expect((await t.get('reader-b', '/')).text).toBe('null');
    // A write through the host's store itself (as the CLI or a component makes) bumps the readers' counters too.
    await t.host.kv.put('shared-hot', 'k', new TextEncoder().encode('from the host'));
    expect((await t.get('reader-a', '/')).text).toBe('from the host');
    expect((await t.get('reader-b', '/')).text).toBe('from the host');
  });

  it('a worker modifying the bytes it read does not change what it reads next', async () => {
    await t.get('reader-a', '/put?v=abc');
    expect((await t.get('reader-a', '/')).text).toBe('abc');
    expect((await t.get('reader-a', '/mutate')).text).toBe('abc');
  });
});
