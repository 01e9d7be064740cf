// `edge kv` and `edge r2` against a real host: the CLI (as real processes) seeds KV and R2 for a worker bound to
// the same namespace and bucket, reads back what the worker wrote, and streams large and binary bodies byte for
// byte; plus the admin API's storage routes on their own (awkward keys, 404s, bad input).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const ROOT = resolve(import.meta.dirname, '..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const EDGE = join(ROOT, 'host/cli/edge.mjs');

interface Run { code: number | null; stdout: Buffer; out: string; err: string }

let t: TestHost;
let dir: string;

/** Runs `edge <args>` against the test host (token from the data dir, as a user would), feeding `stdin`. */
function edge(args: string[], stdin?: Uint8Array | string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env['EDGE_ADMIN_TOKEN'];
  delete env['NODE_OPTIONS'];
  env['EDGE_ADMIN_URL'] = t.host.adminUrl;
  const child = spawn(NODE, [EDGE, ...args, '--data-dir', t.dataDir], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.on('error', () => {}); // a command that does not read stdin may exit before it is written
  child.stdin.end(stdin ?? '');
  return new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out);
      res({ code, stdout, out: stdout.toString('utf8'), err: Buffer.concat(err).toString('utf8') });
    });
  });
}

async function ok(args: string[], stdin?: Uint8Array | string): Promise<Run> {
  const r = await edge(args, stdin);
  if (r.code !== 0) throw new Error(`edge ${args.join(' ')} exited with ${r.code}\nstdout: ${r.out}\nstderr: ${r.err}`);
  return r;
}

function admin(method: string, path: string, init: { body?: Uint8Array | string; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(t.host.adminUrl + path, { method, headers: { authorization: `Bearer ${t.host.adminToken}`, ...init.headers }, ...(init.body !== undefined ? { body: init.body } : {}) });
}

const WORKER = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const key = url.searchParams.get('key');
    if (url.pathname === '/kv') {
      if (request.method === 'PUT') {
        await env.KV.put(key, await request.arrayBuffer(), { metadata: { by: 'worker' } });
        return new Response('ok');
      }
      const { value, metadata } = await env.KV.getWithMetadata(key, 'arrayBuffer');
      if (value === null) return new Response('missing', { status: 404 });
      return new Response(value, { headers: { 'x-metadata': JSON.stringify(metadata) } });
    }
    if (url.pathname === '/r2') {
      if (request.method === 'PUT') {
        await env.BUCKET.put(key, await request.arrayBuffer(), { httpMetadata: { contentType: 'application/x-worker' }, customMetadata: { by: 'worker' } });
        return new Response('ok');
      }
      const object = await env.BUCKET.get(key);
      if (object === null) return new Response('missing', { status: 404 });
      return new Response(object.body, {
        headers: { 'x-content-type': object.httpMetadata.contentType ?? '', 'x-custom': JSON.stringify(object.customMetadata), 'x-size': String(object.size) },
      });
    }
    return new Response('not found', { status: 404 });
  },
};
`;

beforeAll(async () => {
  t = await startTestHost();
  // The CLI finds the token where `edge serve` writes it (the test host was given its token explicitly).
  await writeFile(join(t.dataDir, 'admin-token'), `${t.host.adminToken}\n`, { mode: 0o600 });
  dir = await mkdtemp(join(tmpdir(), 'edge-cli-storage-'));
  // The default limits (cpu_ms 50): the 6 MiB object the worker returns unread is sent by the host, not streamed
  // through the isolate (which cost 42-87 ms of CPU on a cold isolate and cut the download off at random: issue 15).
  const toml = manifestFor('store-app', 'index.js', 'kv_namespaces = [{ binding = "KV", id = "seeded" }]\nr2_buckets = [{ binding = "BUCKET", bucket_name = "seeded-files" }]');
  const deployed = await t.deploy('store-app', { toml, modules: { 'index.js': WORKER } });
  expect(deployed.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('edge kv', () => {
  it('seeds a key the worker reads, and reads what the worker wrote', async () => {
    await ok(['kv', 'put', 'seeded', 'greeting', 'hello from the CLI', '--metadata', '{"lang":"en","note":"ü"}']);
    const r = await t.get('store-app', '/kv?key=greeting');
    expect(r.status).toBe(200);
    expect(r.text).toBe('hello from the CLI');
    expect(JSON.parse(r.headers['x-metadata'] as string)).toEqual({ lang: 'en', note: 'ü' });

    expect((await t.get('store-app', '/kv?key=from-worker', { method: 'PUT', body: 'written by the worker' })).status).toBe(200);
    expect((await ok(['kv', 'get', 'seeded', 'from-worker'])).out).toBe('written by the worker');
    const json = JSON.parse((await ok(['kv', 'get', 'seeded', 'from-worker', '--json'])).out);
    expect(json).toEqual({ key: 'from-worker', value: 'written by the worker', encoding: 'utf8', metadata: { by: 'worker' }, expiration: null });
  });

  it('round-trips binary values byte for byte: from a file, from stdin, to stdout', async () => {
    const bytes = randomBytes(300_000);
    bytes[0] = 0xff; // not UTF-8
    const file = join(dir, 'value.bin');
    await writeFile(file, bytes);
    await ok(['kv', 'put', 'seeded', 'bin/file', '--path', file]);
    expect((await ok(['kv', 'get', 'seeded', 'bin/file'])).stdout.equals(bytes)).toBe(true);
    expect((await t.get('store-app', `/kv?key=${encodeURIComponent('bin/file')}`)).body.equals(bytes)).toBe(true);

    const small = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 10, 13]);
    await ok(['kv', 'put', 'seeded', 'bin/stdin', '-'], small);
    expect((await ok(['kv', 'get', 'seeded', 'bin/stdin'])).stdout.equals(small)).toBe(true);
    const json = JSON.parse((await ok(['kv', 'get', 'seeded', 'bin/stdin', '--json'])).out);
    expect(json.encoding).toBe('base64');
    expect(Buffer.from(json.value, 'base64').equals(small)).toBe(true);

    // What the worker wrote as bytes comes out as the same bytes.
    const fromWorker = randomBytes(4096);
    expect((await t.get('store-app', '/kv?key=bin/worker', { method: 'PUT', body: fromWorker })).status).toBe(200);
    expect((await ok(['kv', 'get', 'seeded', 'bin/worker'])).stdout.equals(fromWorker)).toBe(true);
  });

  it('lists every page, or one page with --limit and its cursor; honours --prefix', async () => {
    const keys = Array.from({ length: 1205 }, (_, i) => `page/${String(i).padStart(4, '0')}`);
    // Seed through the host's store directly: 1205 CLI processes would only test process start-up.
    await Promise.all(keys.map((k) => t.host.kv.put('paged', k, new TextEncoder().encode(k))));
    const all = JSON.parse((await ok(['kv', 'list', 'paged', '--json'])).out);
    expect(all.keys.map((k: { name: string }) => k.name)).toEqual(keys); // more than one page of 1000
    expect(all.listComplete).toBe(true);

    const first = JSON.parse((await ok(['kv', 'list', 'paged', '--limit', '500', '--json'])).out);
    expect(first.keys).toHaveLength(500);
    expect(first.listComplete).toBe(false);
    const second = JSON.parse((await ok(['kv', 'list', 'paged', '--limit', '500', '--cursor', first.cursor, '--json'])).out);
    expect(second.keys[0].name).toBe(keys[500]);

    const table = (await ok(['kv', 'list', 'paged', '--prefix', 'page/120'])).out;
    expect(table.trim().split('\n')).toEqual(['KEY        EXPIRATION  METADATA', ...[0, 1, 2, 3, 4].map((i) => `page/120${i}  -           -`)]);
    expect((await ok(['kv', 'list', 'never-written'])).out).toBe('no keys in KV namespace "never-written"\n');
  });

  it('puts with --ttl and --expiration; lists the expiration', async () => {
    const before = Math.floor(Date.now() / 1000);
    await ok(['kv', 'put', 'ttl-ns', 'short', 'x', '--ttl', '120']);
    const at = before + 3600;
    await ok(['kv', 'put', 'ttl-ns', 'fixed', 'y', '--expiration', String(at)]);
    const list = JSON.parse((await ok(['kv', 'list', 'ttl-ns', '--json'])).out);
    const byName = Object.fromEntries(list.keys.map((k: { name: string; expiration: number }) => [k.name, k.expiration]));
    expect(byName['fixed']).toBe(at);
    expect(byName['short']).toBeGreaterThanOrEqual(before + 120);
    expect(byName['short']).toBeLessThanOrEqual(before + 125);
    expect(JSON.parse((await ok(['kv', 'get', 'ttl-ns', 'fixed', '--json'])).out).expiration).toBe(at);
  });

  it('deletes; a missing key is exit code 1 with E_KEY_NOT_FOUND; store limits come back as the store says them', async () => {
    await ok(['kv', 'put', 'del-ns', 'gone', 'soon']);
    expect((await ok(['kv', 'delete', 'del-ns', 'gone'])).out).toContain('deleted "gone"');
    const missing = await edge(['kv', 'get', 'del-ns', 'gone']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('error E_KEY_NOT_FOUND: no key "gone" in KV namespace "del-ns"');
    expect((await t.get('store-app', '/kv?key=gone')).status).toBe(404);

    const longKey = await edge(['kv', 'put', 'del-ns', 'k'.repeat(513), 'v']);
    expect(longKey.code).toBe(1);
    expect(longKey.err).toContain('error E_KV_INVALID: keys are at most 512 bytes of UTF-8; this one is 513 bytes');
    const ttl = await edge(['kv', 'put', 'del-ns', 'k', 'v', '--ttl', '10']);
    expect(ttl.code).toBe(1);
    expect(ttl.err).toContain('expirationTtl must be at least 60 seconds');
    const meta = await edge(['kv', 'put', 'del-ns', 'k', 'v', '--metadata', '{not json']);
    expect(meta.code).not.toBe(0);
    expect(meta.err).toMatch(/--metadata <json>.*expected JSON/);
    const noValue = await edge(['kv', 'put', 'del-ns', 'k']);
    expect(noValue.code).toBe(1);
    expect(noValue.err).toContain('missing the value');
  });

  it('names the namespace by a worker binding with --worker and --binding', async () => {
    await ok(['kv', 'put', '--worker', 'store-app', '--binding', 'KV', 'by-binding', 'via binding']);
    expect((await t.get('store-app', '/kv?key=by-binding')).text).toBe('via binding');
    expect((await ok(['kv', 'get', 'seeded', 'by-binding'])).out).toBe('via binding');
    const unknown = await edge(['kv', 'get', '--worker', 'store-app', '--binding', 'NOPE', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('error E_BINDING_UNKNOWN: worker "store-app" binds no KV namespace as NOPE');
    expect(unknown.err).toContain(': KV)');
    const noWorker = await edge(['kv', 'get', '--binding', 'KV', 'x']);
    expect(noWorker.code).toBe(1);
    expect(noWorker.err).toContain('--binding needs --worker');
  });
});

describe('edge r2', () => {
  it('uploads a several-MB file the worker reads, downloads it to a file byte for byte', async () => {
    const bytes = randomBytes(6 * 1024 * 1024 + 123);
    const file = join(dir, 'big.bin');
    await writeFile(file, bytes);
    const put = JSON.parse((await ok(['r2', 'put', 'seeded-files', 'dir/big file.bin', '--file', file, '--json'])).out);
    expect(put.size).toBe(bytes.length);
    expect(put.httpMetadata.contentType).toBe('application/octet-stream');

    const r = await t.get('store-app', `/r2?key=${encodeURIComponent('dir/big file.bin')}`);
    expect(r.headers['x-size']).toBe(String(bytes.length));
    expect(r.body.equals(bytes)).toBe(true);

    const out = join(dir, 'big.out');
    expect((await ok(['r2', 'get', 'seeded-files', 'dir/big file.bin', '--file', out])).out).toContain(`to ${out}`);
    expect((await readFile(out)).equals(bytes)).toBe(true);
  }, 60_000);

  it('guesses the content type from the extension, takes --content-type and --metadata, streams stdin and to stdout', async () => {
    const file = join(dir, 'page.html');
    await writeFile(file, '<h1>hi</h1>');
    await ok(['r2', 'put', 'seeded-files', 'site/index.html', '--file', file, '--metadata', '{"author":"ada"}']);
    let r = await t.get('store-app', '/r2?key=site/index.html');
    expect(r.headers['x-content-type']).toBe('text/html');
    expect(JSON.parse(r.headers['x-custom'] as string)).toEqual({ author: 'ada' });

    const binary = randomBytes(1_500_000); // more than a pipe holds: stdout must be drained before the CLI exits
    await ok(['r2', 'put', 'seeded-files', 'raw', '--content-type', 'application/x-thing'], binary);
    r = await t.get('store-app', '/r2?key=raw');
    expect(r.headers['x-content-type']).toBe('application/x-thing');
    expect(r.body.equals(binary)).toBe(true);
    expect((await ok(['r2', 'get', 'seeded-files', 'raw'])).stdout.equals(binary)).toBe(true);
  });

  it('reads what the worker wrote, with its metadata', async () => {
    const bytes = randomBytes(10_000);
    expect((await t.get('store-app', '/r2?key=from/worker.bin', { method: 'PUT', body: bytes })).status).toBe(200);
    expect((await ok(['r2', 'get', 'seeded-files', 'from/worker.bin'])).stdout.equals(bytes)).toBe(true);
    const list = JSON.parse((await ok(['r2', 'list', 'seeded-files', '--prefix', 'from/', '--json'])).out);
    expect(list.objects).toHaveLength(1);
    expect(list.objects[0]).toMatchObject({ key: 'from/worker.bin', size: 10_000, httpMetadata: { contentType: 'application/x-worker' }, customMetadata: { by: 'worker' } });
  });

  it('lists every page, with --delimiter grouping prefixes', async () => {
    const keys = Array.from({ length: 1010 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => t.host.blob.put('paged-bucket', k, new TextEncoder().encode(k))));
    await t.host.blob.put('paged-bucket', 'top.txt', new TextEncoder().encode('top'));
    const all = JSON.parse((await ok(['r2', 'list', 'paged-bucket', '--json'])).out);
    expect(all.objects).toHaveLength(1011);
    expect(all.objects[1009].key).toBe('many/1009');

    const grouped = JSON.parse((await ok(['r2', 'list', 'paged-bucket', '--delimiter', '/', '--json'])).out);
    expect(grouped.delimitedPrefixes).toEqual(['many/']);
    expect(grouped.objects.map((o: { key: string }) => o.key)).toEqual(['top.txt']);
    const table = (await ok(['r2', 'list', 'paged-bucket', '--delimiter', '/'])).out.split('\n');
    expect(table[0]).toMatch(/^KEY\s+SIZE\s+UPLOADED\s+ETAG\s+CONTENT-TYPE$/);
    expect(table[1]).toMatch(/^many\/\s+PREFIX/);
    expect(table[2]).toMatch(/^top\.txt\s+3\s+/);
    expect((await ok(['r2', 'list', 'never-written'])).out).toBe('no objects in R2 bucket "never-written"\n');
  });

  it('deletes; errors name the problem', async () => {
    await ok(['r2', 'put', '--worker', 'store-app', '--binding', 'BUCKET', 'doomed.txt', '--content-type', 'text/plain'], 'bye');
    expect((await t.get('store-app', '/r2?key=doomed.txt')).text).toBe('bye');
    expect((await ok(['r2', 'delete', 'seeded-files', 'doomed.txt'])).out).toContain('deleted "doomed.txt"');
    const missing = await edge(['r2', 'get', 'seeded-files', 'doomed.txt']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('error E_KEY_NOT_FOUND: no object "doomed.txt" in R2 bucket "seeded-files"');
    const noFile = await edge(['r2', 'put', 'seeded-files', 'x', '--file', join(dir, 'absent.bin')]);
    expect(noFile.code).toBe(1);
    expect(noFile.err).toContain('error E_FILE_INVALID: cannot read --file');
    expect(noFile.err).toContain('ENOENT');
    const badBucket = await edge(['r2', 'list', 'Bad_Bucket']);
    expect(badBucket.code).toBe(1);
    expect(badBucket.err).toContain('"Bad_Bucket" is not an R2 bucket name');
  });
});

describe('edge kv / r2 without a host', () => {
  it('says that the admin API cannot be reached', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env['NODE_OPTIONS'];
    const child = spawn(NODE, [EDGE, 'kv', 'get', 'ns', 'k', '--admin-url', 'http://127.0.0.1:9', '--token', 'x'], { cwd: ROOT, env });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise((res) => child.on('close', res));
    expect(code).toBe(1);
    expect(err).toContain('error E_ADMIN_UNREACHABLE: cannot reach the admin API at http://127.0.0.1:9');
  });

  it('--help describes usage, options and examples', async () => {
    for (const [args, mentions] of [
      [['kv', '--help'], ['get', 'put', 'list', 'delete']],
      [['kv', 'put', '--help'], ['--path <file>', '--ttl <seconds>', '--expiration <epoch>', '--metadata <json>', '--binding <NAME>', 'Examples:']],
      [['r2', 'put', '--help'], ['--file <path>', '--content-type <type>', 'stdin', 'Examples:']],
      [['r2', 'list', '--help'], ['--delimiter', '--prefix', 'Examples:']],
    ] as const) {
      const r = await edge([...args]);
      expect(r.code).toBe(0);
      for (const m of mentions) expect(r.out).toContain(m);
    }
  });
});

describe('admin API storage routes', () => {
  const odd = ['a/b/c', '100%', '%2F', 'ünïcødé/🎉', 'q?x=1#frag', ' spaced ', 'a//b', '+plus+'];

  it('keeps keys with "/", "%", unicode and URL syntax intact, in KV and R2', async () => {
    for (const key of odd) {
      const path = encodeURIComponent(key);
      expect((await admin('PUT', `/v1/kv/odd/values/${path}`, { body: `kv:${key}` })).status).toBe(200);
      expect((await admin('PUT', `/v1/r2/odd-bucket/objects/${path}`, { body: `r2:${key}` })).status).toBe(200);
    }
    for (const key of odd) {
      expect(new TextDecoder().decode((await t.host.kv.get('odd', key))!.value)).toBe(`kv:${key}`);
      expect(await (await admin('GET', `/v1/kv/odd/values/${encodeURIComponent(key)}`)).text()).toBe(`kv:${key}`);
      expect(await (await admin('GET', `/v1/r2/odd-bucket/objects/${encodeURIComponent(key)}`)).text()).toBe(`r2:${key}`);
    }
    // "/" may also be sent unencoded (the rest of the path is the key).
    expect(await (await admin('GET', '/v1/kv/odd/values/a/b/c')).text()).toBe('kv:a/b/c');
    const listed = (await (await admin('GET', '/v1/kv/odd/keys')).json()) as { keys: Array<{ name: string }> };
    expect(listed.keys.map((k) => k.name).sort()).toEqual([...odd].sort());
    // The CLI encodes the same way.
    expect((await ok(['kv', 'get', 'odd', 'ünïcødé/🎉'])).out).toBe('kv:ünïcødé/🎉');
    expect((await ok(['r2', 'get', 'odd-bucket', '100%'])).out).toBe('r2:100%');
  });

  it('takes "." and ".." (which URLs resolve away) from ?key=', async () => {
    expect((await admin('PUT', '/v1/r2/odd-bucket/objects/?key=..', { body: 'dots' })).status).toBe(200);
    expect((await t.host.blob.head('odd-bucket', '..'))?.size).toBe(4);
    expect((await ok(['r2', 'get', 'odd-bucket', '..'])).out).toBe('dots');
    await ok(['r2', 'put', 'odd-bucket', '.', '--content-type', 'text/plain'], 'dot');
    expect((await t.host.blob.head('odd-bucket', '.'))?.size).toBe(3);
    const kvDots = await admin('PUT', '/v1/kv/odd/values/?key=..', { body: 'x' });
    expect(kvDots.status).toBe(400);
    expect(((await kvDots.json()) as { error: { message: string } }).error.message).toContain('"." and ".." are reserved');
    const noKey = await admin('GET', '/v1/kv/odd/values/');
    expect(noKey.status).toBe(400);
    expect(((await noKey.json()) as { error: { code: string } }).error.code).toBe('E_REQUEST_INVALID');
  });

  it('answers 404 for missing keys and objects, and headers carry metadata and expiration', async () => {
    let res = await admin('GET', '/v1/kv/odd/values/absent');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'E_KEY_NOT_FOUND', message: 'no key "absent" in KV namespace "odd"', details: { namespace: 'odd', key: 'absent' } } });
    res = await admin('GET', '/v1/r2/odd-bucket/objects/absent');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_KEY_NOT_FOUND');
    expect((await admin('HEAD', '/v1/r2/odd-bucket/objects/absent')).status).toBe(404);

    await t.host.blob.put('odd-bucket', 'headed', new TextEncoder().encode('12345'), { httpMetadata: { contentType: 'text/x-five', contentEncoding: 'gzip' }, customMetadata: { who: 'zoë' } });
    for (const method of ['HEAD', 'GET']) {
      res = await admin(method, '/v1/r2/odd-bucket/objects/headed');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/x-five');
      expect(res.headers.get('content-length')).toBe('5');
      expect(res.headers.get('etag')).toBe(`"${(await t.host.blob.head('odd-bucket', 'headed'))!.etag}"`);
      // Content-Encoding travels in JSON, so that clients do not try to gunzip the bytes.
      expect(res.headers.get('content-encoding')).toBeNull();
      expect(JSON.parse(res.headers.get('x-edge-r2-http-metadata')!)).toEqual({ contentType: 'text/x-five', contentEncoding: 'gzip' });
      expect(JSON.parse(res.headers.get('x-edge-r2-metadata')!)).toEqual({ who: 'zoë' });
      expect(await res.text()).toBe(method === 'GET' ? '12345' : '');
    }

    const exp = Math.floor(Date.now() / 1000) + 600;
    res = await admin('PUT', `/v1/kv/odd/values/meta?expiration=${exp}&metadata=${encodeURIComponent('{"q":1}')}`, { body: 'v' });
    expect(res.status).toBe(200);
    res = await admin('GET', '/v1/kv/odd/values/meta');
    expect(res.headers.get('x-edge-kv-expiration')).toBe(String(exp));
    expect(JSON.parse(res.headers.get('x-edge-kv-metadata')!)).toEqual({ q: 1 });
    // Header metadata wins over the query and may carry non-ASCII as \u escapes.
    res = await admin('PUT', '/v1/kv/odd/values/meta', { body: 'v', headers: { 'x-edge-kv-metadata': '{"name":"\\u00e9t\\u00e9"}' } });
    expect((await t.host.kv.get('odd', 'meta'))!.metadata).toBe('{"name":"\\u00e9t\\u00e9"}');
    res = await admin('GET', '/v1/kv/odd/values/meta');
    expect(JSON.parse(res.headers.get('x-edge-kv-metadata')!)).toEqual({ name: 'été' });
  });

  it('rejects bad expirations, metadata, namespaces and limits with 400s naming the problem', async () => {
    const cases: Array<[string, string, Record<string, string>, number, string, string]> = [
      ['PUT', '/v1/kv/odd/values/k?expiration=tomorrow', {}, 400, 'E_KV_INVALID', '?expiration= must be a time in seconds since the epoch, got "tomorrow"'],
      ['PUT', '/v1/kv/odd/values/k?expiration=10', {}, 400, 'E_KV_INVALID', 'expiration 10 is less than 60 seconds in the future'],
      ['PUT', '/v1/kv/odd/values/k?expiration_ttl=30', {}, 400, 'E_KV_INVALID', 'expirationTtl must be at least 60 seconds, got 30'],
      ['PUT', '/v1/kv/odd/values/k?expiration_ttl=120&expiration=99999999999', {}, 400, 'E_KV_INVALID', 'set either expiration or expirationTtl, not both'],
      ['PUT', '/v1/kv/odd/values/k', { 'x-edge-kv-metadata': '{oops' }, 400, 'E_KV_INVALID', 'metadata must be JSON text'],
      ['PUT', '/v1/kv/odd/values/k', { 'x-edge-kv-metadata': JSON.stringify({ big: 'x'.repeat(1100) }) }, 400, 'E_KV_INVALID', 'metadata is at most 1024 bytes'],
      ['GET', '/v1/kv/no%20spaces/keys', {}, 400, 'E_REQUEST_INVALID', 'is not a KV namespace id'],
      ['GET', '/v1/kv/odd/keys?limit=5000', {}, 400, 'E_REQUEST_INVALID', '?limit= must be an integer from 1 to 1000'],
      ['GET', '/v1/kv/odd/keys?cursor=bogus!', {}, 400, 'E_KV_INVALID', 'is not one this namespace returned'],
      ['PUT', '/v1/r2/odd-bucket/objects/k', { 'x-edge-r2-metadata': '["not","an","object"]' }, 400, 'E_R2_INVALID', 'must be a JSON object of strings'],
      ['PUT', `/v1/r2/odd-bucket/objects/${'k'.repeat(1025)}`, {}, 400, 'E_R2_INVALID', 'object keys are at most 1024 bytes'],
      ['GET', '/v1/r2/odd-bucket/objects?cursor=nope', {}, 400, 'E_R2_INVALID', 'the list cursor "nope" is not one this bucket returned'],
    ];
    for (const [method, path, headers, status, code, message] of cases) {
      const res = await admin(method, path, { headers, ...(method === 'PUT' ? { body: 'v' } : {}) });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect({ path, status: res.status, code: body.error.code }).toEqual({ path, status, code });
      expect(body.error.message).toContain(message);
    }
    expect(await t.host.kv.get('odd', 'k')).toBeNull();
  });

  it('streams an R2 upload past the JSON body limit; a KV value over 25 MiB is refused', async () => {
    const big = randomBytes(33 * 1024 * 1024);
    let res = await admin('PUT', '/v1/r2/odd-bucket/objects/large', { body: big, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { size: number }).size).toBe(big.length);
    res = await admin('GET', '/v1/r2/odd-bucket/objects/large');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(Buffer.from(await res.arrayBuffer()).equals(big)).toBe(true);

    res = await admin('PUT', '/v1/kv/odd/values/too-big', { body: big.subarray(0, 25 * 1024 * 1024 + 1) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(`values are at most ${25 * 1024 * 1024} bytes; this one is ${25 * 1024 * 1024 + 1} bytes`);
    res = await admin('PUT', '/v1/kv/odd/values/just-fits', { body: big.subarray(0, 25 * 1024 * 1024) });
    expect(res.status).toBe(200);
    // A bad key is named even when the value is too large as well: it is checked before the body is read.
    res = await admin('PUT', `/v1/kv/odd/values/${'k'.repeat(513)}`, { body: big });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('keys are at most 512 bytes');
  }, 60_000);

  it('needs the admin token', async () => {
    const res = await fetch(`${t.host.adminUrl}/v1/kv/odd/keys`);
    expect(res.status).toBe(401);
    const put = await fetch(`${t.host.adminUrl}/v1/r2/odd-bucket/objects/x`, { method: 'PUT', body: 'x', headers: { authorization: 'Bearer wrong' } });
    expect(put.status).toBe(401);
    expect(await t.host.blob.head('odd-bucket', 'x')).toBeNull();
  });
});
