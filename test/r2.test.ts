// R2 through a real host: the env.BUCKET API of JS workers (every call and option users reach for), streamed bodies
// both ways, and examples/r2-files (multipart upload, ranged and conditional download, listing with delimiters).
// The S3 endpoint serves the same buckets: an object a worker stored is read back through @aws-sdk/client-s3.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { manifestFor, startTestHost, type TestHost } from './helpers/test-host.ts';

const API_WORKER = `
const enc = new TextEncoder();
async function sha(buf) { return [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf))].map((b) => b.toString(16).padStart(2, '0')).join(''); }
export default {
  async fetch(request, env) {
    const b = env.B;
    const step = new URL(request.url).pathname.slice(1);
    const msg = async (p) => { try { await p; return 'no error'; } catch (e) { return e.constructor.name + ': ' + e.message; } };
    const out = {};
    switch (step) {
      case 'basics': {
        const put = await b.put('a/hello.txt', 'hello r2', { httpMetadata: { contentType: 'text/plain', cacheExpiry: new Date(Date.UTC(2030, 0, 1)) }, customMetadata: { owner: 'ann' } });
        out.put = { key: put.key, size: put.size, etag: put.etag, httpEtag: put.httpEtag, uploaded: put.uploaded instanceof Date, md5: put.checksums.toJSON().md5 };
        const head = await b.head('a/hello.txt');
        out.head = { size: head.size, etag: head.etag, http: head.httpMetadata.contentType, custom: head.customMetadata, hasBody: 'body' in head };
        const got = await b.get('a/hello.txt');
        out.text = await got.text();
        out.bodyUsed = got.bodyUsed;
        const h = new Headers();
        got.writeHttpMetadata(h);
        out.headers = [...h];
        out.missing = await b.get('nope');
        out.headMissing = await b.head('nope');
        const ranged = await b.get('a/hello.txt', { range: { offset: 6, length: 2 } });
        out.range = [await ranged.text(), ranged.range];
        out.suffix = await (await b.get('a/hello.txt', { range: { suffix: 3 } })).text();
        out.rangeHeader = await (await b.get('a/hello.txt', { range: new Headers({ range: 'bytes=0-4' }) })).text();
        const pre = await b.get('a/hello.txt', { onlyIf: { etagDoesNotMatch: put.etag } });
        out.precondition = { isObject: pre !== null, hasBody: 'body' in pre };
        out.onlyIfHeaders = 'body' in (await b.get('a/hello.txt', { onlyIf: new Headers({ 'if-match': put.httpEtag }) }));
        out.putOnlyIf = await b.put('a/hello.txt', 'x', { onlyIf: { etagMatches: 'other' } });
        out.arrayBuffer = new Uint8Array(await (await b.get('a/hello.txt')).arrayBuffer()).length;
        out.json = await (await b.put('j', JSON.stringify({ x: 1 })), b.get('j')).then((o) => o.json());
        break;
      }
      case 'values': {
        await b.put('v/buffer', new Uint8Array([1, 2, 3]).buffer);
        await b.put('v/view', new Uint16Array([258]));
        await b.put('v/blob', new Blob(['bl', 'ob']));
        await b.put('v/null', null);
        out.sizes = await Promise.all(['v/buffer', 'v/view', 'v/blob', 'v/null'].map(async (k) => (await b.head(k)).size));
        const md5 = await crypto.subtle.digest('MD5', enc.encode('checked'));
        out.md5ok = (await b.put('v/md5', 'checked', { md5 })) !== null;
        out.md5bad = await msg(b.put('v/md5', 'checked', { md5: new Uint8Array(16).buffer }));
        out.sha256hex = (await b.put('v/sha', 'x', { sha256: await sha(enc.encode('x')) })).checksums.toJSON().sha256 === await sha(enc.encode('x'));
        out.badValue = await msg(b.put('v/bad', { not: 'a body' }));
        out.emptyKey = await msg(b.put('', 'x'));
        break;
      }
      case 'stream': {
        // 12 MiB streamed into R2 from a generated stream, then streamed back out and hashed.
        const size = 12 * 1024 * 1024;
        let sent = 0;
        const source = new ReadableStream({ pull(c) { if (sent >= size) return c.close(); const n = Math.min(65536, size - sent); const chunk = new Uint8Array(n); for (let i = 0; i < n; i++) chunk[i] = (sent + i) % 251; sent += n; c.enqueue(chunk); } });
        const put = await b.put('big/stream.bin', source);
        out.size = put.size;
        const got = await b.get('big/stream.bin');
        const hash = await crypto.subtle.digest('SHA-256', await new Response(got.body).arrayBuffer());
        out.hash = [...new Uint8Array(hash)].map((x) => x.toString(16).padStart(2, '0')).join('');
        break;
      }
      case 'list': {
        for (const k of ['l/a.txt', 'l/dir/b.txt', 'l/dir/c.txt', 'l/other/d.txt', 'l/z.txt']) await b.put(k, k, { httpMetadata: { contentType: 'text/plain' }, customMetadata: { k } });
        const top = await b.list({ prefix: 'l/', delimiter: '/' });
        out.top = { keys: top.objects.map((o) => o.key), prefixes: top.delimitedPrefixes, truncated: top.truncated, http: top.objects[0].httpMetadata, custom: top.objects[0].customMetadata };
        const withMeta = await b.list({ prefix: 'l/', include: ['httpMetadata', 'customMetadata'], limit: 2 });
        out.withMeta = { keys: withMeta.objects.map((o) => o.key), http: withMeta.objects[0].httpMetadata.contentType, custom: withMeta.objects[0].customMetadata, truncated: withMeta.truncated, hasCursor: typeof withMeta.cursor === 'string' };
        const next = await b.list({ prefix: 'l/', cursor: withMeta.cursor, limit: 2 });
        out.next = next.objects.map((o) => o.key);
        out.startAfter = (await b.list({ prefix: 'l/', startAfter: 'l/dir/c.txt' })).objects.map((o) => o.key);
        await b.delete(['l/a.txt', 'l/z.txt']);
        await b.delete('l/dir/b.txt');
        out.afterDelete = (await b.list({ prefix: 'l/' })).objects.map((o) => o.key);
        out.badInclude = await msg(b.list({ include: ['nope'] }));
        break;
      }
      case 'multipart': {
        const MiB = 1024 * 1024;
        const upload = await b.createMultipartUpload('mp/file.bin', { httpMetadata: { contentType: 'application/x-test' } });
        const part = (seed, n) => { const a = new Uint8Array(n); a.fill(seed); return a; };
        const p1 = await upload.uploadPart(1, part(1, 5 * MiB));
        const p2 = await upload.uploadPart(2, new Blob([part(2, 5 * MiB)]).stream());
        const resumed = b.resumeMultipartUpload('mp/file.bin', upload.uploadId);
        const p3 = await resumed.uploadPart(3, 'tail');
        out.tooSmall = await msg((async () => { const u = await b.createMultipartUpload('mp/small'); const a = await u.uploadPart(1, 'a'); const c = await u.uploadPart(2, 'b'); await u.complete([a, c]); })());
        const done = await upload.complete([p1, p2, p3]);
        out.object = { size: done.size, etag: done.etag, type: (await b.head('mp/file.bin')).httpMetadata.contentType };
        out.across = [...new Uint8Array(await (await b.get('mp/file.bin', { range: { offset: 5 * MiB - 1, length: 2 } })).arrayBuffer())];
        // Read as a stream, the range across two parts is its 2 bytes, on a buffer of 2 bytes: nothing of the host's
        // memory around them (it once came in as a view on 64 KiB of the host's buffer pool).
        const { value } = await (await b.get('mp/file.bin', { range: { offset: 5 * MiB - 1, length: 2 } })).body.getReader().read();
        out.acrossStream = [value.buffer.byteLength, ...value];
        out.afterComplete = await msg(upload.uploadPart(4, 'late'));
        const aborted = await b.createMultipartUpload('mp/aborted');
        await aborted.uploadPart(1, 'x');
        await aborted.abort();
        out.afterAbort = await msg(aborted.complete([]));
        out.parts = [p1.partNumber, p2.partNumber, p3.partNumber, typeof p1.etag];
        break;
      }
    }
    return Response.json(out);
  },
};
`;

describe('R2', () => {
  let t: TestHost;
  beforeAll(async () => {
    t = await startTestHost({ s3Port: 0, s3AccessKeys: [{ accessKeyId: 'test-key', secretAccessKey: 'test-secret' }] });
    const toml = manifestFor('r2-api', 'index.js', 'r2_buckets = [{ binding = "B", bucket_name = "api-tests" }]\n[limits]\ncpu_ms = 2000\nmemory_mb = 256');
    const res = await t.deploy('r2-api', { toml, modules: { 'index.js': API_WORKER } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const files = await t.admin('POST', '/v1/workers', await collectUpload('examples/r2-files'));
    expect(files.status, JSON.stringify(files.body)).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });
  const step = async (name: string) => {
    const r = await t.get('r2-api', `/${name}`);
    expect(r.status, r.text).toBe(200);
    return JSON.parse(r.text);
  };

  it('put, head, get with ranges and conditions, http metadata', async () => {
    const o = await step('basics');
    expect(o.put).toEqual({ key: 'a/hello.txt', size: 8, etag: createHash('md5').update('hello r2').digest('hex'), httpEtag: `"${createHash('md5').update('hello r2').digest('hex')}"`, uploaded: true, md5: createHash('md5').update('hello r2').digest('hex') });
    expect(o.head).toEqual({ size: 8, etag: o.put.etag, http: 'text/plain', custom: { owner: 'ann' }, hasBody: false });
    expect(o.text).toBe('hello r2');
    expect(o.headers).toEqual([['content-type', 'text/plain'], ['expires', 'Tue, 01 Jan 2030 00:00:00 GMT']]);
    expect(o.missing).toBeNull();
    expect(o.headMissing).toBeNull();
    expect(o.range).toEqual(['r2', { offset: 6, length: 2 }]);
    expect(o.suffix).toBe(' r2');
    expect(o.rangeHeader).toBe('hello');
    expect(o.precondition).toEqual({ isObject: true, hasBody: false });
    expect(o.onlyIfHeaders).toBe(true);
    expect(o.putOnlyIf).toBeNull();
    expect(o.arrayBuffer).toBe(8);
    expect(o.json).toEqual({ x: 1 });
  });

  it('accepts every value type and verifies checksums', async () => {
    const o = await step('values');
    expect(o.sizes).toEqual([3, 2, 4, 0]);
    expect(o.md5ok).toBe(true);
    expect(o.md5bad).toMatch(/^Error: put: the md5 of the bytes received/);
    expect(o.sha256hex).toBe(true);
    expect(o.badValue).toMatch(/^TypeError: put\(\) accepts a ReadableStream/);
    expect(o.emptyKey).toMatch(/^TypeError: put: an object key must be a non-empty string/);
  });

  it('streams a 12 MiB body in and out of a worker', async () => {
    const o = await step('stream');
    const expected = Buffer.alloc(12 * 1024 * 1024);
    for (let i = 0; i < expected.length; i++) expected[i] = i % 251;
    expect(o).toEqual({ size: expected.length, hash: createHash('sha256').update(expected).digest('hex') });
  });

  it('lists with delimiters, include, cursors and startAfter; deletes one or many', async () => {
    const o = await step('list');
    expect(o.top).toEqual({ keys: ['l/a.txt', 'l/z.txt'], prefixes: ['l/dir/', 'l/other/'], truncated: false });
    expect(o.withMeta).toEqual({ keys: ['l/a.txt', 'l/dir/b.txt'], http: 'text/plain', custom: { k: 'l/a.txt' }, truncated: true, hasCursor: true });
    expect(o.next).toEqual(['l/dir/c.txt', 'l/other/d.txt']);
    expect(o.startAfter).toEqual(['l/other/d.txt', 'l/z.txt']);
    expect(o.afterDelete).toEqual(['l/dir/c.txt', 'l/other/d.txt']);
    expect(o.badInclude).toMatch(/^TypeError: list\(\): include/);
  });

  it('multipart uploads: parts from bytes and streams, resume, R2 part rules, abort', async () => {
    const o = await step('multipart');
    expect(o.object.size).toBe(10 * 1024 * 1024 + 4);
    expect(o.object.etag).toMatch(/^[0-9a-f]{32}-3$/);
    expect(o.object.type).toBe('application/x-test');
    expect(o.across).toEqual([1, 2]);
    expect(o.acrossStream).toEqual([2, 1, 2]);
    expect(o.tooSmall).toMatch(/at least 5242880 bytes/);
    expect(o.afterComplete).toMatch(/no multipart upload/);
    expect(o.afterAbort).toMatch(/no multipart upload/);
    expect(o.parts).toEqual([1, 2, 3, 'string']);
  });

  it('examples/r2-files: multipart upload, ranged and conditional download, listing by folder', async () => {
    const MiB = 1024 * 1024;
    const body = Buffer.alloc(11 * MiB);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256;
    const start = await t.get('r2-files', '/files/videos/clip.bin?uploads', { method: 'POST', headers: { 'content-type': 'video/mp4', 'x-meta-owner': 'bob' } });
    expect(start.status, start.text).toBe(201);
    const { uploadId } = JSON.parse(start.text);
    const parts = [];
    for (let n = 1, at = 0; at < body.length; n++, at += 5 * MiB) {
      const r = await t.get('r2-files', `/files/videos/clip.bin?uploadId=${encodeURIComponent(uploadId)}&partNumber=${n}`, { method: 'PUT', body: Readable.from([body.subarray(at, at + 5 * MiB)]) });
      expect(r.status, r.text).toBe(200);
      parts.push(JSON.parse(r.text));
    }
    const done = await t.get('r2-files', `/files/videos/clip.bin?uploadId=${encodeURIComponent(uploadId)}`, { method: 'POST', body: JSON.stringify({ parts }) });
    expect(done.status, done.text).toBe(201);
    expect(JSON.parse(done.text)).toMatchObject({ key: 'videos/clip.bin', size: body.length, contentType: 'video/mp4' });

    const whole = await t.get('r2-files', '/files/videos/clip.bin');
    expect(whole.status).toBe(200);
    expect(whole.body.equals(body)).toBe(true);
    expect(whole.headers['content-type']).toBe('video/mp4');
    expect(whole.headers['x-meta-owner']).toBe('bob');
    const etag = whole.headers.etag as string;
    const ranged = await t.get('r2-files', '/files/videos/clip.bin', { headers: { range: `bytes=${5 * MiB - 2}-${5 * MiB + 1}` } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes ${5 * MiB - 2}-${5 * MiB + 1}/${body.length}`);
    expect(ranged.body.equals(body.subarray(5 * MiB - 2, 5 * MiB + 2))).toBe(true);
    expect((await t.get('r2-files', '/files/videos/clip.bin', { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await t.get('r2-files', '/files/videos/clip.bin', { headers: { 'if-match': '"other"' } })).status).toBe(412);
    const head = await t.get('r2-files', '/files/videos/clip.bin', { method: 'HEAD' });
    expect(head.headers.etag).toBe(etag);

    for (const k of ['docs/a.txt', 'docs/b.txt', 'docs/old/c.txt', 'readme.txt']) {
      expect((await t.get('r2-files', `/files/${k}`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: k })).status).toBe(201);
    }
    const top = JSON.parse((await t.get('r2-files', '/files?delimiter=/')).text);
    expect(top.objects.map((o: { key: string }) => o.key)).toEqual(['readme.txt']);
    expect(top.folders).toEqual(['docs/', 'videos/']);
    const docs = JSON.parse((await t.get('r2-files', '/files?prefix=docs/&delimiter=/&limit=1')).text);
    expect(docs).toMatchObject({ objects: [{ key: 'docs/a.txt', contentType: 'text/plain' }], truncated: true });
    const more = JSON.parse((await t.get('r2-files', `/files?prefix=docs/&delimiter=/&cursor=${encodeURIComponent(docs.cursor)}`)).text);
    expect(more).toMatchObject({ objects: [{ key: 'docs/b.txt' }], folders: ['docs/old/'], truncated: false });
    expect((await t.get('r2-files', '/files/readme.txt', { method: 'DELETE' })).status).toBe(204);
    expect((await t.get('r2-files', '/files/readme.txt')).status).toBe(404);
  }, 60_000);

  it('serves what a worker stored over the S3 endpoint too (one store)', async () => {
    await t.get('r2-files', '/files/shared/s3.txt', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'written by a worker' });
    const s3 = new S3Client({ endpoint: t.host.s3Url, region: 'auto', forcePathStyle: true, credentials: { accessKeyId: 'test-key', secretAccessKey: 'test-secret' } });
    const got = await s3.send(new GetObjectCommand({ Bucket: 'files', Key: 'shared/s3.txt' }));
    expect(await got.Body!.transformToString()).toBe('written by a worker');
    expect(got.ContentType).toBe('text/plain');
    s3.destroy();
  });
});
