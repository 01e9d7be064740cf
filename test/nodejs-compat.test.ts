// nodejs_compat against a real host on loopback: a worker project importing Node's modules (`node:x` and bare `x`)
// is bundled as `edge deploy` bundles it (unenv and the Node ports, the runtime's AsyncLocalStorage, crypto in the
// isolate, zlib on the host), deployed and asked; AsyncLocalStorage keeps concurrent requests apart across awaits and
// timers; process.env holds the vars and secrets when Workers would fill it; and what cannot work is refused at deploy,
// naming every offending module and the flag to add.

import { createHash, createHmac } from 'node:crypto';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { HostOpError, HostOps, type HostOpContext } from '../host/core/host-ops.ts';
import type { DeployManifest } from '../host/core/manifest.ts';
import { ZLIB_LIMITS } from '../host/core/limits.ts';
import { registerZlibOps } from '../host/web/zlib/zlib-ops.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload, collectWorker } from '../host/deploy/upload.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import { rejection, writeWorkerDir } from './helpers/worker-dir.ts';

const dirs: string[] = [];
let t: TestHost;
beforeAll(async () => {
  t = await startTestHost();
});
afterAll(async () => {
  await t?.close();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const workerDir = (files: Record<string, string>): Promise<string> => writeWorkerDir(files, dirs, 'edge-nodecompat-');

async function deployDir(dir: string) {
  const collected = await collectWorker(dir);
  const res = await t.admin('POST', '/v1/workers', collected.upload);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return collected;
}

const toml = (name: string, extra: string, date = '2025-06-01') =>
  `name = "${name}"\nmain = "src/index.ts"\ncompatibility_date = "${date}"\n${extra}\n`;

/** A worker as a Workers project with nodejs_compat writes it: Node's modules, both spellings, used together. */
const APP = `import { Buffer } from 'node:buffer';
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter, once } from 'events';
import util from 'node:util';
import { Readable, Transform, Writable, pipeline } from 'node:stream';
import { pipeline as pipelinePromise } from 'stream/promises';
import { StringDecoder } from 'string_decoder';
import path from 'node:path';
import url from 'url';
import assert from 'node:assert';
import crypto, { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import zlib from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { setImmediate } from 'timers';
import nodeProcess from 'node:process';

const als = new AsyncLocalStorage<{ id: string }>();
// How many /als requests this isolate runs at once: the test checks they really overlap.
let inflight = 0;
let maxInflight = 0;
const json = (v: unknown) => Response.json(v);

async function streams() {
  const upper = new Transform({ transform(chunk, _enc, cb) { cb(null, String(chunk).toUpperCase()); } });
  const got: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { got.push(String(chunk)); cb(); } });
  await util.promisify(pipeline)(Readable.from(['a', 'b', 'c']), upper, sink);
  const got2: string[] = [];
  await pipelinePromise(Readable.from(['x', 'y']), new Writable({ objectMode: true, write(c, _e, cb) { got2.push(c); cb(); } }));
  return { piped: got.join(''), promises: got2.join('') };
}

async function zlibRoundTrip(text: string) {
  const input = Buffer.from(text);
  const gz = await util.promisify(zlib.gzip)(input);
  const back = zlib.gunzipSync(gz).toString();
  const deflated = zlib.deflateSync(input, { level: 9 });
  const inflated = await new Promise<Buffer>((resolve, reject) => zlib.inflate(deflated, (err, out) => (err ? reject(err) : resolve(out))));
  const br = await util.promisify(zlib.brotliCompress)(input);
  const unbr = await util.promisify(zlib.brotliDecompress)(br);
  const chunks: Buffer[] = [];
  await pipelinePromise(Readable.from([input]), zlib.createGzip(), new Writable({ write(c, _e, cb) { chunks.push(c); cb(); } }));
  const streamed = zlib.gunzipSync(Buffer.concat(chunks)).toString();
  let bad = '';
  try { await util.promisify(zlib.gunzip)(Buffer.from('not gzip')); } catch (e) { bad = (e as { code: string }).code; }
  let badSync = '';
  try { zlib.inflateSync(Buffer.from('not deflate')); } catch (e) { badSync = (e as { code: string }).code; }
  return { gz: gz.toString('base64'), back, deflated: deflated.toString('base64'), inflated: inflated.toString(), unbr: unbr.toString(), streamed, bad, badSync };
}

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    const u = new URL(request.url);
    switch (u.pathname) {
      case '/als': {
        const id = u.searchParams.get('id')!;
        const delay = Number(u.searchParams.get('delay'));
        inflight++;
        maxInflight = Math.max(maxInflight, inflight);
        return als.run({ id }, async () => {
          const seen: Array<string | undefined> = [als.getStore()?.id];
          await sleep(delay);
          seen.push(als.getStore()?.id);
          await new Promise((r) => setTimeout(r, delay / 2));
          seen.push(als.getStore()?.id);
          const fromTimer = await new Promise((r) => setTimeout(() => r(als.getStore()?.id), 5));
          seen.push(fromTimer as string);
          await crypto.subtle.digest('SHA-256', new Uint8Array(8));
          seen.push(als.getStore()?.id);
          // A nested run() has its own store while it runs; the outer one comes back when it settles.
          const inner = await als.run({ id: \`\${id}-inner\` }, async () => {
            await sleep(1);
            return als.getStore()?.id;
          });
          const afterInner = als.getStore()?.id;
          const bound = AsyncLocalStorage.bind(() => als.getStore()?.id);
          const exited = als.exit(() => als.getStore()?.id ?? 'none');
          inflight--;
          return json({ seen, overlapped: maxInflight, inner, afterInner, bound: await als.run({ id: 'other' }, async () => bound()), exited });
        });
      }
      case '/als-outside':
        return json({ store: als.getStore() ?? null });
      case '/env':
        return json({
          greeting: nodeProcess.env.GREETING ?? null,
          secret: process.env.API_KEY ?? null,
          notString: process.env.LIMITS ?? null,
          sameProcess: globalThis.process === nodeProcess,
          bufferGlobal: typeof Buffer === 'function' && (globalThis as { Buffer?: unknown }).Buffer === Buffer,
          envKeys: Object.keys(env).sort(),
        });
      case '/buffer': {
        const b = Buffer.from('héllo wörld');
        const n = Buffer.alloc(4);
        n.writeUInt32BE(0xdeadbeef);
        return json({ base64: b.toString('base64'), hex: Buffer.from('hi').toString('hex'), concat: Buffer.concat([Buffer.from('a'), Buffer.from('b')]).toString(), u32: n.readUInt32BE(0), isBuffer: Buffer.isBuffer(b) });
      }
      case '/events': {
        const e = new EventEmitter();
        const calls: string[] = [];
        e.on('x', (v: string) => calls.push(v));
        setTimeout(() => e.emit('ready', 42), 1);
        const [v] = await once(e, 'ready');
        e.emit('x', 'one');
        const immediate = await new Promise((r) => setImmediate(r, 'ran'));
        return json({ calls, once: v, count: e.listenerCount('x'), immediate });
      }
      case '/util': {
        const cb = (a: number, done: (err: Error | null, v?: number) => void) => setTimeout(() => done(null, a * 2), 1);
        const callbackified = await new Promise((resolve) => util.callbackify(async (n: number) => \`ok:\${n}\`)(3, (_err: unknown, v: string) => resolve(v)));
        return json({ format: util.format('%s=%d %j', 'a', 1, { b: 2 }), promisified: await util.promisify(cb)(21), inspect: util.inspect({ a: [1, 2] }), isDate: util.types.isDate(new Date()), callbackified });
      }
      case '/stream':
        return json(await streams());
      case '/decoder': {
        const d = new StringDecoder('utf8');
        const euro = Buffer.from('€');
        return json({ text: d.write(euro.subarray(0, 1)) + d.write(euro.subarray(1)) + d.end() });
      }
      case '/path':
        return json({
          join: path.join('/a/b', '../c', 'd.txt'),
          ext: path.extname('x/y.tar.gz'),
          rel: path.relative('/a/b', '/a/c'),
          parsed: url.parse('https://u@example.com:8080/p?q=1#h').port,
          file: url.fileURLToPath('file:///tmp/x.txt'),
        });
      case '/assert': {
        assert.ok(true);
        assert.strictEqual(1, 1);
        assert.deepStrictEqual({ a: 1, b: [1, { c: new Map([[1, 'x']]) }] }, { b: [1, { c: new Map([[1, 'x']]) }], a: 1 });
        assert.throws(() => assert.deepStrictEqual(new Set([1]), new Set([2])), { name: 'AssertionError' });
        assert.throws(() => assert.deepStrictEqual([1], ['1']), assert.AssertionError);
        assert.deepEqual([1], ['1']);
        await assert.rejects(Promise.reject(new TypeError('no')), TypeError);
        try {
          assert.strictEqual(1, 2, 'one is not two');
          return json({ threw: false });
        } catch (e) {
          return json({ threw: true, name: (e as Error).name, code: (e as { code: string }).code, message: (e as Error).message });
        }
      }
      case '/crypto': {
        const a = Buffer.from('same');
        return json({
          sha256: createHash('sha256').update('abc').digest('hex'),
          md5: createHash('md5').update('ab').update('c', 'utf8').digest('base64'),
          sha512: crypto.createHash('sha512').update(Buffer.from('xyz')).digest('hex'),
          hmac: createHmac('sha256', 'key').update('message').digest('base64'),
          random: randomBytes(16).length,
          uuid: /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
          equal: timingSafeEqual(a, Buffer.from('same')),
          unequal: timingSafeEqual(a, Buffer.from('diff')),
          webcrypto: crypto.webcrypto === globalThis.crypto,
          values: crypto.getRandomValues(new Uint8Array(4)).length,
        });
      }
      case '/zlib':
        return json(await zlibRoundTrip('hello zlib '.repeat(50)));
      default:
        return new Response('not found', { status: 404 });
    }
  },
};
`;

const APP_FILES = (name: string, extra = '', date?: string) => ({
  'wrangler.toml': toml(name, `compatibility_flags = ["nodejs_compat"]\n[vars]\nGREETING = "hello from vars"\nLIMITS = { max = 3 }\n${extra}`, date),
  'src/index.ts': APP,
});

describe('a nodejs_compat worker', () => {
  let bundle = '';
  beforeAll(async () => {
    const dir = await workerDir(APP_FILES('node-app'));
    const collected = await deployDir(dir);
    bundle = collected.upload.modules[0]!.content;
    const put = await t.admin('PUT', '/v1/workers/node-app/secrets/API_KEY', { value: 'sk-test-123' });
    expect(put.status).toBe(200);
  });

  it('keeps the polyfills in its bundle and leaves the runtime parts to the runtime', () => {
    expect(bundle).toContain('from "edge:node-compat"');
    expect(bundle).toContain('from "cloudflare:workers"');
    expect(bundle).not.toMatch(/from "node:/);
  });

  it('AsyncLocalStorage: concurrent requests each see their own store across awaits, timers and host ops', async () => {
    const ids = ['slow', 'fast', 'mid', 'quick'];
    const delays = [120, 10, 60, 0];
    const answers = await Promise.all(ids.map((id, i) => t.get('node-app', `/als?id=${id}&delay=${delays[i]}`)));
    for (const [i, res] of answers.entries()) {
      expect(res.status, res.text).toBe(200);
      expect(JSON.parse(res.text)).toMatchObject({ seen: [ids[i], ids[i], ids[i], ids[i], ids[i]], inner: `${ids[i]}-inner`, afterInner: ids[i], bound: ids[i], exited: 'none' });
    }
    expect(Math.max(...answers.map((a) => JSON.parse(a.text).overlapped))).toBeGreaterThan(1);
    expect(JSON.parse((await t.get('node-app', '/als-outside')).text)).toEqual({ store: null });
  });

  it('process.env holds its text vars and secrets; process and Buffer are globals', async () => {
    const res = await t.get('node-app', '/env');
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      greeting: 'hello from vars',
      secret: 'sk-test-123',
      notString: null,
      sameProcess: true,
      bufferGlobal: true,
      envKeys: ['API_KEY', 'GREETING', 'LIMITS'],
    });
  });

  it('buffer, events, util, stream, string_decoder, path, url and assert behave as in Node', async () => {
    const get = async (p: string) => {
      const res = await t.get('node-app', p);
      expect(res.status, `${p}: ${res.text}`).toBe(200);
      return JSON.parse(res.text);
    };
    expect(await get('/buffer')).toEqual({ base64: Buffer.from('héllo wörld').toString('base64'), hex: '6869', concat: 'ab', u32: 0xdeadbeef, isBuffer: true });
    expect(await get('/events')).toEqual({ calls: ['one'], once: 42, count: 1, immediate: 'ran' });
    expect(await get('/util')).toEqual({ format: 'a=1 {"b":2}', promisified: 42, inspect: '{ a: [ 1, 2 ] }', isDate: true, callbackified: 'ok:3' });
    expect(await get('/stream')).toEqual({ piped: 'ABC', promises: 'xy' });
    expect(await get('/decoder')).toEqual({ text: '€' });
    expect(await get('/path')).toEqual({ join: '/a/c/d.txt', ext: '.gz', rel: '../c', parsed: '8080', file: '/tmp/x.txt' });
    expect(await get('/assert')).toMatchObject({ threw: true, name: 'AssertionError', code: 'ERR_ASSERTION', message: 'one is not two' });
  });

  it('crypto: hashes and HMACs equal Node\'s, random values come from the host', async () => {
    const res = await t.get('node-app', '/crypto');
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      sha256: createHash('sha256').update('abc').digest('hex'),
      md5: createHash('md5').update('abc').digest('base64'),
      sha512: createHash('sha512').update('xyz').digest('hex'),
      hmac: createHmac('sha256', 'key').update('message').digest('base64'),
      random: 16,
      uuid: true,
      equal: true,
      unequal: false,
      webcrypto: true,
      values: 4,
    });
  });

  it('zlib: callback, promisified, sync and stream forms round-trip, with Node\'s error codes', async () => {
    const res = await t.get('node-app', '/zlib');
    expect(res.status, res.text).toBe(200);
    const text = 'hello zlib '.repeat(50);
    const body = JSON.parse(res.text);
    expect(body).toMatchObject({ back: text, inflated: text, unbr: text, streamed: text, bad: 'Z_DATA_ERROR', badSync: 'Z_DATA_ERROR' });
    // What the worker made decompresses with Node's own zlib.
    expect(gunzipSync(Buffer.from(body.gz, 'base64')).toString()).toBe(text);
    expect(inflateSync(Buffer.from(body.deflated, 'base64')).toString()).toBe(text);
    expect(gzipSync(text).length).toBeGreaterThan(0);
  });
});

describe('a framework on AsyncLocalStorage', () => {
  it("Hono's contextStorage() gives each concurrent request its own context after awaits", async () => {
    const dir = await workerDir({
      'wrangler.toml': toml('hono-ctx', 'compatibility_flags = ["nodejs_compat"]'),
      'src/index.ts': `import { Hono } from 'hono';
import { contextStorage, getContext } from 'hono/context-storage';

type Env = { Variables: { user: string } };
const app = new Hono<Env>();
app.use(contextStorage());
app.use(async (c, next) => {
  c.set('user', c.req.query('user') ?? 'anonymous');
  await next();
});
// Deep in the app, without the context passed down: what frameworks use the storage for.
async function currentUser(delay: number): Promise<string> {
  await new Promise((r) => setTimeout(r, delay));
  await Promise.resolve();
  return getContext<Env>().var.user;
}
app.get('/', async (c) => c.text(await currentUser(Number(c.req.query('delay') ?? 0))));
export default app;
`,
    });
    // The framework as the worker's own npm dependency.
    await mkdir(join(dir, 'node_modules'));
    await symlink(resolve(import.meta.dirname, '..', 'node_modules', 'hono'), join(dir, 'node_modules', 'hono'));
    await deployDir(dir);
    const users = [['ada', 80], ['grace', 5], ['alan', 40]] as const;
    const answers = await Promise.all(users.map(([u, d]) => t.get('hono-ctx', `/?user=${u}&delay=${d}`)));
    expect(answers.map((a) => a.text)).toEqual(users.map(([u]) => u));
  });
});

describe('what a bundle holds', () => {
  it('only the polyfills its code uses: nothing for a worker that names no Node API', async () => {
    const dir = await workerDir({
      'wrangler.toml': toml('plain-compat', 'compatibility_flags = ["nodejs_compat"]'),
      'src/index.ts': 'export default { fetch: () => new Response("plain") };\n',
    });
    const collected = await deployDir(dir);
    expect(collected.upload.modules[0]!.content.length).toBeLessThan(2000);
    expect((await t.get('plain-compat')).text).toBe('plain');
  });

  it('CommonJS packages get the modules as require() gives them in Node (assert and events callable)', async () => {
    const dir = await workerDir({
      'wrangler.toml': toml('cjs-compat', 'compatibility_flags = ["nodejs_compat"]'),
      'src/index.ts': "import greet from 'cjs-lib';\nexport default { fetch: () => new Response(greet()) };\n",
      'node_modules/cjs-lib/package.json': JSON.stringify({ name: 'cjs-lib', version: '1.0.0', main: 'index.js' }),
      'node_modules/cjs-lib/index.js':
        "const assert = require('node:assert');\nconst EventEmitter = require('events');\nconst { Buffer } = require('buffer');\nconst util = require('util');\nconst { createHash } = require('crypto');\n" +
        "module.exports = () => { assert(true); assert.strictEqual(1, 1); const e = new EventEmitter(); let got; e.on('x', (v) => { got = v; });\n" +
        "  e.emit('x', Buffer.from('ok').toString()); return util.format('%s %s', got, createHash('sha1').update('a').digest('hex')); };\n",
    });
    await deployDir(dir);
    expect((await t.get('cjs-compat')).text).toBe(`ok ${createHash('sha1').update('a').digest('hex')}`);
  });
});

describe('process.env as Workers fills it', () => {
  it('stays empty before 2025-04-01 unless nodejs_compat_populate_process_env is set', async () => {
    const old = await workerDir(APP_FILES('node-old', '', '2024-10-01'));
    await deployDir(old);
    expect(JSON.parse((await t.get('node-old', '/env')).text)).toMatchObject({ greeting: null, sameProcess: true });
    const optIn = await workerDir({
      'wrangler.toml': toml('node-optin', 'compatibility_flags = ["nodejs_compat", "nodejs_compat_populate_process_env"]\n[vars]\nGREETING = "opted in"', '2024-10-01'),
      'src/index.ts': APP,
    });
    await deployDir(optIn);
    expect(JSON.parse((await t.get('node-optin', '/env')).text)).toMatchObject({ greeting: 'opted in' });
  });
});

describe('refusals at deploy', () => {
  const IMPORTS = "import { Buffer } from 'node:buffer';\nimport { EventEmitter } from 'events';\nimport { AsyncLocalStorage } from 'node:async_hooks';\n";
  const USE = 'export default { fetch: () => new Response(String([Buffer, EventEmitter, AsyncLocalStorage].length)) };\n';

  it('without nodejs_compat: one error naming every Node.js module imported and the flag to add', async () => {
    const dir = await workerDir({ 'wrangler.toml': toml('no-flag', ''), 'src/index.ts': IMPORTS + USE });
    const e = await rejection(collectUpload(dir));
    expect(e.code).toBe('E_BUNDLE_FAILED');
    expect(e.message).toContain('src/index.ts imports Node.js modules without nodejs_compat: node:buffer, events, node:async_hooks; add compatibility_flags = ["nodejs_compat"] to the manifest.');
    expect(e.message).toMatch(/src\/index\.ts:1:24: Could not resolve "node:buffer": it is a Node\.js built-in module, which a worker imports with nodejs_compat/);
    expect(e.details).toMatchObject({ nodeModules: ['node:buffer', 'events', 'node:async_hooks'] });
  });

  it('with nodejs_compat: modules it does not provide are refused, all in one message, never deployed', async () => {
    const dir = await workerDir({
      'wrangler.toml': toml('unsupported', 'compatibility_flags = ["nodejs_compat"]'),
      'src/index.ts':
        "import { readFileSync } from 'node:fs';\nimport net from 'net';\nimport { spawn } from 'node:child_process';\nimport { Buffer } from 'node:buffer';\n" +
        'export default { fetch: () => new Response(String([readFileSync, net, spawn, Buffer].length)) };\n',
    });
    const e = await rejection(collectUpload(dir));
    expect(e.code).toBe('E_BUNDLE_FAILED');
    expect(e.message).toContain('src/index.ts imports Node.js modules this runtime does not provide: node:fs, net, node:child_process (nodejs_compat provides assert, ');
    expect(e.message).not.toContain('node:buffer');
    expect(e.details).toMatchObject({ nodeModules: ['node:fs', 'net', 'node:child_process'] });
    expect((await t.admin('GET', '/v1/workers/unsupported')).status).toBe(404);
  });

  it('unbundled modules that import a Node.js module are refused at deploy, saying why', async () => {
    const res = await t.deploy('unbundled', {
      toml: 'name = "unbundled"\nmain = "index.js"\ncompatibility_date = "2025-06-01"\ncompatibility_flags = ["nodejs_compat"]\n',
      modules: { 'index.js': "import { Buffer } from 'node:buffer';\nexport default { fetch: () => new Response(Buffer.from('x')) };\n" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('E_MODULE_NOT_FOUND');
    expect(res.body.error.message).toContain('index.js: cannot import "node:buffer": a Node.js built-in module is bundled into the worker by `edge deploy`');
  });

  it('nodejs_als gives node:async_hooks alone', async () => {
    const dir = await workerDir({ 'wrangler.toml': toml('als-only', 'compatibility_flags = ["nodejs_als"]'), 'src/index.ts': IMPORTS + USE });
    const e = await rejection(collectUpload(dir));
    expect(e.message).toContain('imports Node.js modules without nodejs_compat: node:buffer, events;');
    const ok = await workerDir({
      'wrangler.toml': toml('als-only', 'compatibility_flags = ["nodejs_als"]'),
      'src/index.ts': "import { AsyncLocalStorage } from 'node:async_hooks';\nconst als = new AsyncLocalStorage();\nexport default { fetch: () => als.run('in', async () => { await new Promise((r) => setTimeout(r, 1)); return new Response(String(als.getStore())); }) };\n",
    });
    await deployDir(ok);
    expect((await t.get('als-only')).text).toBe('in');
  });
});

describe('the zlib host op', () => {
  const ops = new HostOps();
  registerZlibOps(ops);
  const op = ops.get('zlib.run')!;
  const ctx = (flags: string[]): HostOpContext => ({
    worker: 'w',
    version: 'v',
    manifest: { compatibilityFlags: flags } as unknown as DeployManifest,
    reqId: 1,
    depth: 0,
    signal: new AbortController().signal,
  });
  const failure = async (p: unknown) => {
    const e = await Promise.resolve(p).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(HostOpError);
    return e as HostOpError;
  };

  it('serves only workers with nodejs_compat', async () => {
    const e = await failure(op({ op: 'gzip', data: new Uint8Array(1) }, ctx([])));
    expect(e.message).toContain('compatibility_flags = ["nodejs_compat"]');
    const out = (await op({ op: 'gzip', data: new TextEncoder().encode('x') }, ctx(['nodejs_compat']))) as Uint8Array;
    expect(gunzipSync(out).toString()).toBe('x');
  });

  it('bounds what one call takes in and gives out (a decompression bomb stops)', async () => {
    const big = await failure(op({ op: 'gzip', data: new Uint8Array(ZLIB_LIMITS.inputBytes + 1) }, ctx(['nodejs_compat'])));
    expect(big.errorName).toBe('RangeError');
    const bomb = gzipSync(Buffer.alloc(ZLIB_LIMITS.outputBytes + 1024));
    const e = await failure(op({ op: 'gunzip', data: bomb }, ctx(['nodejs_compat'])));
    expect(e.errorName).toBe('RangeError');
    expect(e.message).toContain(`exceeds the ${ZLIB_LIMITS.outputBytes}-byte limit`);
  });
});
