// R2 for WebAssembly components through a real host: every function of the blob interface through
// @edge/guest/r2 (head, get with ranges and conditions, put with metadata and checksums, streamed puts of several
// MB, delete, list with delimiters and cursors, multipart with 5 MiB parts, abort, each error case logged before the
// trap), examples/r2-files-as sharing its bucket with the JS examples/r2-files both ways, and the deploy-time
// refusal of a component that imports blob without an r2_buckets binding.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUpload } from '../host/deploy/upload.ts';
import { startTestHost, type TestHost } from './helpers/test-host.ts';

/** An AssemblyScript worker calling every function of @edge/guest/r2; the path names the step. */
const API_WORKER = String.raw`// Every function of @edge/guest/r2, step by step (the path names the step); answers JSON.
import { Request, Response, jsonString } from "@edge/guest";
import { R2Bucket, R2Conditions, R2HttpMetadata, R2ListOptions, R2MultipartUpload, R2Object, R2ObjectBody, R2Objects, R2PutOptions, R2Range, R2UploadedPart, R2Writer } from "@edge/guest/r2";

class J {
  parts: Array<string> = new Array<string>();
  add(name: string, raw: string): J {
    this.parts.push(jsonString(name) + ":" + raw);
    return this;
  }
  str(name: string, v: string | null): J {
    return this.add(name, v == null ? "null" : jsonString(v));
  }
  toString(): string {
    return "{" + this.parts.join(",") + "}";
  }
}

function info(o: R2Object | null): string {
  if (o == null) return "null";
  const h = o.httpMetadata;
  const meta = new J();
  const names = o.customMetadata.keys();
  for (let i = 0; i < names.length; i++) meta.str(names[i], o.customMetadata.get(names[i]));
  return new J()
    .str("key", o.key).str("version", o.version).add("size", o.size.toString()).str("etag", o.etag).str("httpEtag", o.httpEtag)
    .add("uploaded", o.uploaded.toString()).str("uploadedIso", o.uploadedIso)
    .add("http", new J().str("contentType", h.contentType).str("contentLanguage", h.contentLanguage).str("contentDisposition", h.contentDisposition)
      .str("contentEncoding", h.contentEncoding).str("cacheControl", h.cacheControl).add("cacheExpiry", h.cacheExpiry.toString()).toString())
    .add("custom", meta.toString()).toString();
}

function body(o: R2ObjectBody | null): string {
  if (o == null) return "null";
  const j = new J().add("hasBody", o.hasBody ? "true" : "false").add("ranged", o.ranged ? "true" : "false")
    .add("offset", o.range.offset.toString()).add("length", o.range.length.toString()).str("etag", o.etag);
  if (o.hasBody) j.str("text", o.text());
  return j.toString();
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = <u8>U32.parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function strings(a: Array<string>): string {
  const out = new Array<string>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = jsonString(a[i]);
  return "[" + out.join(",") + "]";
}

function keys(l: R2Objects): string {
  const k = new Array<string>(l.objects.length);
  for (let i = 0; i < l.objects.length; i++) k[i] = l.objects[i].key;
  return strings(k);
}

function fill(n: i32, v: u8): Uint8Array {
  const b = new Uint8Array(n);
  b.fill(v);
  return b;
}

const MiB: i32 = 1024 * 1024;

export function fetch(request: Request): Response {
  const b = R2Bucket.open("FILES");
  const step = request.path.substring(1);
  const q = request.searchParams;
  const out = new J();
  if (step == "basic") {
    const o = new R2PutOptions();
    const h = new R2HttpMetadata();
    h.contentType = "text/plain";
    h.contentLanguage = "en";
    h.contentDisposition = "inline";
    h.contentEncoding = "identity";
    h.cacheControl = "max-age=60";
    h.cacheExpiry = 1800000000000;
    o.httpMetadata = h;
    const m = new Map<string, string>();
    m.set("owner", "ann");
    m.set("n", "1");
    o.customMetadata = m;
    o.md5 = hexBytes(q.get("md5")!);
    o.sha256 = hexBytes(q.get("sha256")!);
    const put = b.putText("basic/a.txt", "hello r2", o)!;
    out.add("put", info(put));
    out.add("head", info(b.head("basic/a.txt")));
    out.add("missing", info(b.head("basic/none")));
    out.add("whole", body(b.get("basic/a.txt")));
    out.add("offset", body(b.get("basic/a.txt", R2Range.offset(1, 3))));
    out.add("from", body(b.get("basic/a.txt", R2Range.from(6))));
    out.add("long", body(b.get("basic/a.txt", R2Range.offset(6, 100))));
    out.add("suffix", body(b.get("basic/a.txt", R2Range.suffix(2))));
    out.add("bigSuffix", body(b.get("basic/a.txt", R2Range.suffix(100))));
    out.add("header", body(b.get("basic/a.txt", R2Range.fromHeader("bytes=0-0"))));
    out.add("headerBad", R2Range.fromHeader("bytes=0-1,4-5") == null ? "true" : "false");
    const c1 = new R2Conditions();
    c1.etagMatches = "\"nope\"";
    out.add("ifMatchFails", body(b.get("basic/a.txt", null, c1)));
    const c2 = new R2Conditions();
    c2.etagDoesNotMatch = put.httpEtag;
    out.add("ifNoneMatchFails", body(b.get("basic/a.txt", null, c2)));
    const c3 = new R2Conditions();
    c3.uploadedAfter = put.uploaded - 1;
    out.add("afterHolds", body(b.get("basic/a.txt", R2Range.suffix(1), c3)));
    const c4 = new R2Conditions();
    c4.uploadedBefore = put.uploaded;
    out.add("beforeFails", body(b.get("basic/a.txt", null, c4)));
    out.add("getMissing", body(b.get("basic/none")));
    // A partly read body closed early, then the object replaced under a condition that fails and one that holds.
    const half = b.get("basic/a.txt")!;
    out.str("firstByte", String.fromCharCode(half.read(1)![0]));
    half.close();
    out.add("readAfterClose", half.read() == null ? "true" : "false");
    const guarded = new R2PutOptions();
    guarded.onlyIf = c1;
    out.add("putIfMatchFails", info(b.putText("basic/a.txt", "replaced", guarded)));
    const w = b.beginPut("basic/a.txt", guarded);
    w.writeText("replaced");
    out.add("streamIfMatchFails", info(w.finish()));
    out.add("stillThere", body(b.get("basic/a.txt")));
  } else if (step == "stream") {
    const total: i32 = I32.parseInt(q.get("mb")!) * MiB;
    const key = q.get("key")!;
    const w = b.beginPut(key);
    const chunk = new Uint8Array(256 * 1024);
    let at: i32 = 0;
    while (at < total) {
      const n = min(chunk.length, total - at);
      for (let i = 0; i < n; i++) chunk[i] = <u8>((at + i) % 251);
      w.write(n == chunk.length ? chunk : chunk.subarray(0, n));
      at += n;
    }
    const stored = w.finish()!;
    out.add("size", stored.size.toString());
    const o = b.get(key)!;
    let pos: i32 = 0;
    let chunks = 0;
    let maxChunk = 0;
    let ok = true;
    while (true) {
      const c = o.read(100000);
      if (c == null) break;
      chunks++;
      if (c.length > maxChunk) maxChunk = c.length;
      for (let i = 0; i < c.length; i++) if (c[i] != <u8>((pos + i) % 251)) ok = false;
      pos += c.length;
    }
    out.add("read", pos.toString()).add("chunks", chunks.toString()).add("maxChunk", maxChunk.toString()).add("ok", ok ? "true" : "false");
    const aborted = b.beginPut(key + ".aborted");
    aborted.write(chunk);
    aborted.abort();
    out.add("abortedStored", b.head(key + ".aborted") == null ? "false" : "true");
  } else if (step == "delete") {
    b.putText("del/1", "1");
    b.putText("del/2", "2");
    b.putText("del/3", "3");
    const ks = new Array<string>();
    ks.push("del/1");
    ks.push("del/2");
    ks.push("del/never");
    b.delete(ks);
    b.deleteKey("del/never-either");
    out.add("left", keys(b.list("del/")));
  } else if (step == "list") {
    const names = ["list/a", "list/b/1", "list/b/2", "list/c/1", "list/d", "list/e"];
    const o = new R2PutOptions();
    const h = new R2HttpMetadata();
    h.contentType = "text/x-list";
    o.httpMetadata = h;
    const m = new Map<string, string>();
    m.set("k", "v");
    o.customMetadata = m;
    for (let i = 0; i < names.length; i++) b.putText(names[i], names[i], o);
    const top = b.list("list/", "/");
    out.add("top", keys(top)).add("folders", strings(top.delimitedPrefixes)).add("topTruncated", top.truncated ? "true" : "false");
    const pages = new Array<string>();
    let cursor: string | null = null;
    do {
      const page = b.list("list/", null, cursor, 4);
      pages.push(keys(page));
      cursor = page.truncated ? page.cursor : null;
    } while (cursor != null);
    out.add("pages", "[" + pages.join(",") + "]");
    const delimitedPages = new Array<string>();
    cursor = null;
    do {
      const page = b.list("list/", "/", cursor, 2);
      delimitedPages.push("{\"keys\":" + keys(page) + ",\"folders\":" + strings(page.delimitedPrefixes) + "}");
      cursor = page.truncated ? page.cursor : null;
    } while (cursor != null);
    out.add("delimitedPages", "[" + delimitedPages.join(",") + "]");
    const after = new R2ListOptions();
    after.prefix = "list/";
    after.startAfter = "list/b/2";
    out.add("startAfter", keys(b.listWith(after)));
    const plain = b.list("list/a");
    out.str("plainType", plain.objects[0].httpMetadata.contentType).add("plainCustom", plain.objects[0].customMetadata.size.toString());
    const incl = new R2ListOptions();
    incl.prefix = "list/a";
    incl.includeHttpMetadata = true;
    incl.includeCustomMetadata = true;
    const full = b.listWith(incl);
    out.str("fullType", full.objects[0].httpMetadata.contentType).add("fullCustom", full.objects[0].customMetadata.size.toString());
  } else if (step == "multipart") {
    const o = new R2PutOptions();
    const h = new R2HttpMetadata();
    h.contentType = "application/octet-stream";
    o.httpMetadata = h;
    const m = new Map<string, string>();
    m.set("parts", "3");
    o.customMetadata = m;
    const up = b.createMultipartUpload("mp/big.bin", o);
    out.str("key", up.key).add("hasId", up.uploadId.length > 0 ? "true" : "false");
    const parts = new Array<R2UploadedPart>();
    parts.push(up.uploadPart(1, fill(5 * MiB, 1)));
    // The same upload resumed by id (as a later request would).
    const resumed = b.resumeMultipartUpload("mp/big.bin", up.uploadId);
    parts.push(resumed.uploadPart(2, fill(5 * MiB, 2)));
    resumed.close();
    parts.push(up.uploadPart(3, fill(1000, 3)));
    out.add("partNumbers", parts[0].partNumber.toString() + parts[1].partNumber.toString() + parts[2].partNumber.toString());
    const done = up.complete(parts);
    out.add("object", info(done));
    const across = b.get("mp/big.bin", R2Range.offset(<u64>(5 * MiB - 1), 2))!.bytes();
    out.add("across", "[" + across[0].toString() + "," + across[1].toString() + "]");
    const tail = b.get("mp/big.bin", R2Range.suffix(1001))!.bytes();
    out.add("tail", "[" + tail[0].toString() + "," + tail[1].toString() + "," + tail.length.toString() + "]");
    const gone = b.createMultipartUpload("mp/aborted.bin");
    gone.uploadPart(1, fill(10, 9));
    gone.abort();
    out.add("abortedStored", b.head("mp/aborted.bin") == null ? "false" : "true");
  } else if (step == "fail") {
    const what = q.get("case")!;
    if (what == "grant") R2Bucket.open("NOPE");
    else if (what == "key") b.head("k".repeat(1025));
    else if (what == "range") {
      b.putText("fail/small", "12345");
      b.get("fail/small", R2Range.from(10));
    } else if (what == "checksum") {
      const o = new R2PutOptions();
      o.md5 = new Uint8Array(16);
      b.putText("fail/sum", "abc", o);
    } else if (what == "upload") b.resumeMultipartUpload("fail/mp", "no-such-id").uploadPart(1, fill(10, 1));
    else if (what == "part") {
      const up = b.createMultipartUpload("fail/mp2");
      const parts = new Array<R2UploadedPart>();
      parts.push(up.uploadPart(1, fill(10, 1)));
      parts.push(up.uploadPart(2, fill(10, 2)));
      up.complete(parts);
    } else if (what == "limit") b.list(null, null, null, 5000);
    else if (what == "metadata") {
      const o = new R2PutOptions();
      const m = new Map<string, string>();
      m.set("big", "x".repeat(3000));
      o.customMetadata = m;
      b.putText("fail/meta", "x", o);
    }
    out.str("survived", what);
  }
  b.close();
  return Response.json(out.toString());
}
`;

const API_TOML = `name = "r2-api-as"
main = "index.ts"
compatibility_date = "2026-11-01"
r2_buckets = [{ binding = "FILES", bucket_name = "files" }]
[build]
language = "assemblyscript"
[limits]
cpu_ms = 2000
memory_mb = 256
`;

const MiB = 1024 * 1024;
const hash = (b: Buffer | Uint8Array, alg = 'sha256') => createHash(alg).update(b).digest('hex');

describe('R2 for components (edge:platform/blob, @edge/guest/r2)', () => {
  let t: TestHost;
  let apiDir: string;
  const logs: string[] = [];
  beforeAll(async () => {
    t = await startTestHost();
    apiDir = await mkdtemp(join(tmpdir(), 'edge-r2-as-'));
    await writeFile(join(apiDir, 'index.ts'), API_WORKER);
    await writeFile(join(apiDir, 'wrangler.toml'), API_TOML);
    for (const dir of [apiDir, 'examples/r2-files-as', 'examples/r2-files']) {
      const r = await t.admin('POST', '/v1/workers', await collectUpload(dir));
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    t.host.logs.subscribe('r2-api-as', (e) => logs.push(e.message));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    if (apiDir) await rm(apiDir, { recursive: true, force: true });
  });
  const step = async (path: string) => {
    const r = await t.get('r2-api-as', path);
    expect(r.status, r.text).toBe(200);
    return JSON.parse(r.text);
  };

  it('put with HTTP and custom metadata and checksums; head; get whole, by ranges and under conditions', async () => {
    const text = Buffer.from('hello r2');
    const o = await step(`/basic?md5=${hash(text, 'md5')}&sha256=${hash(text)}`);
    expect(o.put).toMatchObject({
      key: 'basic/a.txt',
      size: 8,
      etag: hash(text, 'md5'),
      httpEtag: `"${hash(text, 'md5')}"`,
      http: { contentType: 'text/plain', contentLanguage: 'en', contentDisposition: 'inline', contentEncoding: 'identity', cacheControl: 'max-age=60', cacheExpiry: 1800000000000 },
      custom: { owner: 'ann', n: '1' },
    });
    expect(Math.abs(o.put.uploaded - Date.now())).toBeLessThan(60_000);
    expect(o.put.uploadedIso).toBe(new Date(o.put.uploaded).toISOString());
    expect(o.head).toEqual(o.put);
    expect(o.missing).toBeNull();
    const etag = o.put.etag;
    expect(o.whole).toEqual({ hasBody: true, ranged: false, offset: 0, length: 8, etag, text: 'hello r2' });
    expect(o.offset).toMatchObject({ ranged: true, offset: 1, length: 3, text: 'ell' });
    expect(o.from).toMatchObject({ offset: 6, length: 2, text: 'r2' });
    expect(o.long).toMatchObject({ offset: 6, length: 2, text: 'r2' });
    expect(o.suffix).toMatchObject({ offset: 6, length: 2, text: 'r2' });
    expect(o.bigSuffix).toMatchObject({ offset: 0, length: 8, text: 'hello r2' });
    expect(o.header).toMatchObject({ offset: 0, length: 1, text: 'h' });
    expect(o.headerBad).toBe(true);
    expect(o.ifMatchFails).toEqual({ hasBody: false, ranged: false, offset: 0, length: 8, etag });
    expect(o.ifNoneMatchFails.hasBody).toBe(false);
    expect(o.afterHolds).toMatchObject({ hasBody: true, text: '2' });
    expect(o.beforeFails.hasBody).toBe(false);
    expect(o.getMissing).toBeNull();
    expect(o.firstByte).toBe('h');
    expect(o.readAfterClose).toBe(true);
    expect(o.putIfMatchFails).toBeNull();
    expect(o.streamIfMatchFails).toBeNull();
    expect(o.stillThere.text).toBe('hello r2');
  });

  it('streams a put of several MB in chunks and reads it back in chunks; an aborted writer stores nothing', async () => {
    const o = await step('/stream?mb=6&key=stream/big.bin');
    expect(o).toEqual({ size: 6 * MiB, read: 6 * MiB, chunks: Math.ceil((6 * MiB) / 100000), maxChunk: 100000, ok: true, abortedStored: false });
    // The JS example reads what the component wrote (same bucket).
    const expected = Buffer.alloc(6 * MiB);
    for (let i = 0; i < expected.length; i++) expected[i] = i % 251;
    const r = await t.get('r2-files', '/files/stream/big.bin');
    expect(r.status).toBe(200);
    expect(hash(r.body)).toBe(hash(expected));
  });

  it('deletes several keys at once and lists by prefix, delimiter, cursor, startAfter and include', async () => {
    expect((await step('/delete')).left).toEqual(['del/3']);
    const o = await step('/list');
    expect(o.top).toEqual(['list/a', 'list/d', 'list/e']);
    expect(o.folders).toEqual(['list/b/', 'list/c/']);
    expect(o.topTruncated).toBe(false);
    expect(o.pages).toEqual([['list/a', 'list/b/1', 'list/b/2', 'list/c/1'], ['list/d', 'list/e']]);
    const seen = o.delimitedPages.flatMap((p: { keys: string[]; folders: string[] }) => [...p.keys, ...p.folders]);
    expect(seen.sort()).toEqual(['list/a', 'list/b/', 'list/c/', 'list/d', 'list/e']);
    expect(o.delimitedPages.every((p: { keys: string[]; folders: string[] }) => p.keys.length + p.folders.length <= 2)).toBe(true);
    expect(o.startAfter).toEqual(['list/c/1', 'list/d', 'list/e']);
    expect([o.plainType, o.plainCustom]).toEqual([null, 0]);
    expect([o.fullType, o.fullCustom]).toEqual(['text/x-list', 1]);
  });

  it('multipart: 5 MiB parts from a created and a resumed handle, completed; an aborted upload stores nothing', async () => {
    const o = await step('/multipart');
    expect(o).toMatchObject({ key: 'mp/big.bin', hasId: true, partNumbers: 123, across: [1, 2], tail: [2, 3, 1001], abortedStored: false });
    expect(o.object).toMatchObject({ key: 'mp/big.bin', size: 10 * MiB + 1000, http: { contentType: 'application/octet-stream' }, custom: { parts: '3' } });
    expect(o.object.etag).toMatch(/^[0-9a-f]{32}-3$/);
    const head = await t.get('r2-files', '/files/mp/big.bin', { method: 'HEAD' });
    expect(head.headers['x-meta-parts']).toBe('3');
  });

  it('reports each error of the WIT variant: logged with its reason, then the request traps', async () => {
    const cases: Record<string, RegExp> = {
      grant: /R2 open failed: no R2 bucket is bound as "NOPE" \(r2_buckets/,
      key: /R2 HEAD k+ failed: invalid key: object keys are at most 1024 bytes of UTF-8; this one is 1025 bytes/,
      range: /R2 GET fail\/small failed: invalid range: range offset 10 is past the end of the 5-byte object/,
      checksum: /R2 PUT fail\/sum failed: checksum mismatch: the md5 of the bytes received/,
      upload: /R2 uploadPart 1 of fail\/mp failed: no such upload: no multipart upload "no-such-id"/,
      part: /R2 completeMultipartUpload of fail\/mp2 failed: invalid part: part 1 is 10 bytes: every part but the last must be at least 5242880 bytes/,
      limit: /R2 LIST failed: invalid argument: list limit must be an integer from 1 to 1000, got 5000/,
      metadata: /R2 PUT fail\/meta failed: invalid argument: customMetadata is at most 2048 bytes/,
    };
    for (const [name, message] of Object.entries(cases)) {
      logs.length = 0;
      const r = await t.get('r2-api-as', `/fail?case=${name}`);
      expect(r.status, `${name}: ${r.text}`).toBe(500);
      await expect.poll(() => logs.join('\n'), { timeout: 2000 }).toMatch(message);
    }
    // The worker serves again after its traps.
    expect((await step('/delete')).left).toEqual(['del/3']);
  });

  it('examples/r2-files-as and examples/r2-files share the bucket both ways', async () => {
    // Written by JS, read by AssemblyScript: whole, ranged (206), conditional, HEAD.
    const body = Buffer.alloc(3 * MiB + 17);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) % 256;
    const put = await t.get('r2-files', '/files/shared/from-js.bin', { method: 'PUT', headers: { 'content-type': 'application/x-js', 'x-meta-by': 'js' }, body });
    expect(put.status).toBe(201);
    const described = JSON.parse(put.text);
    const whole = await t.get('r2-files-as', '/files/shared/from-js.bin');
    expect(whole.status).toBe(200);
    expect(whole.body.equals(body)).toBe(true);
    expect(whole.headers).toMatchObject({ 'content-type': 'application/x-js', etag: `"${described.etag}"`, 'x-meta-by': 'js', 'accept-ranges': 'bytes' });
    expect(whole.headers['last-modified']).toBe(new Date(described.uploaded).toUTCString());
    const ranged = await t.get('r2-files-as', '/files/shared/from-js.bin', { headers: { range: `bytes=${MiB - 2}-${MiB + 1}` } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes ${MiB - 2}-${MiB + 1}/${body.length}`);
    expect(ranged.body.equals(body.subarray(MiB - 2, MiB + 2))).toBe(true);
    const suffix = await t.get('r2-files-as', '/files/shared/from-js.bin', { headers: { range: 'bytes=-5' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers['content-range']).toBe(`bytes ${body.length - 5}-${body.length - 1}/${body.length}`);
    expect(suffix.body.equals(body.subarray(-5))).toBe(true);
    const past = await t.get('r2-files-as', '/files/shared/from-js.bin', { headers: { range: `bytes=${body.length}-` } });
    expect(past.status).toBe(400);
    expect(JSON.parse(past.text).error).toContain('past the end');
    expect((await t.get('r2-files-as', '/files/shared/from-js.bin', { headers: { 'if-none-match': `"${described.etag}"` } })).status).toBe(304);
    expect((await t.get('r2-files-as', '/files/shared/from-js.bin', { headers: { 'if-match': '"other"' } })).status).toBe(412);
    const head = await t.get('r2-files-as', '/files/shared/from-js.bin', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.etag).toBe(`"${described.etag}"`);
    const missing = await t.get('r2-files-as', '/files/shared/none');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({ error: 'no file shared/none' });

    // Written by AssemblyScript (the request body streamed into a writer chunk by chunk), read by JS.
    const big = Buffer.alloc(5 * MiB + 3);
    for (let i = 0; i < big.length; i++) big[i] = (i * 13) % 256;
    const chunks = Array.from({ length: Math.ceil(big.length / 100_000) }, (_, i) => big.subarray(i * 100_000, (i + 1) * 100_000));
    const asPut = await t.get('r2-files-as', '/files/shared/from-as.bin', { method: 'PUT', headers: { 'content-type': 'application/x-as', 'x-meta-by': 'as' }, body: Readable.from(chunks) });
    expect(asPut.status, asPut.text).toBe(201);
    const asDescribed = JSON.parse(asPut.text);
    expect(asDescribed).toEqual({ key: 'shared/from-as.bin', size: big.length, etag: hash(big, 'md5'), uploaded: asDescribed.uploaded, contentType: 'application/x-as' });
    expect(asDescribed.uploaded).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const back = await t.get('r2-files', '/files/shared/from-as.bin');
    expect(back.status).toBe(200);
    expect(back.body.equals(big)).toBe(true);
    expect(back.headers).toMatchObject({ 'content-type': 'application/x-as', 'x-meta-by': 'as' });

    // The same listing from both, in the same JSON.
    for (const k of ['shared/docs/a.txt', 'shared/docs/b.txt']) expect((await t.get('r2-files-as', `/files/${k}`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: k })).status).toBe(201);
    for (const q of ['?prefix=shared/&delimiter=/', '?prefix=shared/docs/&limit=1', '?prefix=shared/']) {
      const js = JSON.parse((await t.get('r2-files', `/files${q}`)).text);
      const as = JSON.parse((await t.get('r2-files-as', `/files${q}`)).text);
      expect(as, q).toEqual(js);
    }
    const top = JSON.parse((await t.get('r2-files-as', '/files?prefix=shared/&delimiter=/')).text);
    expect(top.objects.map((o: { key: string }) => o.key)).toEqual(['shared/from-as.bin', 'shared/from-js.bin']);
    expect(top.folders).toEqual(['shared/docs/']);
    const page = JSON.parse((await t.get('r2-files-as', '/files?prefix=shared/docs/&limit=1')).text);
    expect(page).toMatchObject({ truncated: true, objects: [{ key: 'shared/docs/a.txt', contentType: 'text/plain' }] });
    const next = JSON.parse((await t.get('r2-files-as', `/files?prefix=shared/docs/&cursor=${encodeURIComponent(page.cursor)}`)).text);
    expect(next).toMatchObject({ truncated: false, cursor: null, objects: [{ key: 'shared/docs/b.txt' }] });

    // HTTP metadata from request headers the same way in both (Expires as cacheExpiry, served back as expires).
    const expires = 'Wed, 21 Oct 2037 07:28:00 GMT';
    const meta = { 'content-type': 'text/html', 'content-language': 'de', 'content-disposition': 'attachment; filename="x.html"', 'cache-control': 'max-age=3600', expires };
    for (const [writer, reader] of [['r2-files-as', 'r2-files'], ['r2-files', 'r2-files-as']]) {
      expect((await t.get(writer, '/files/shared/meta.html', { method: 'PUT', headers: meta, body: '<p>x</p>' })).status).toBe(201);
      const r = await t.get(reader, '/files/shared/meta.html');
      expect(r.headers, `${writer} → ${reader}`).toMatchObject(meta);
    }
    expect((await t.get('r2-files-as', '/files/shared/meta.html', { method: 'DELETE' })).status).toBe(204);

    // Deleted by AssemblyScript, gone for JS.
    expect((await t.get('r2-files-as', '/files/shared/from-js.bin', { method: 'DELETE' })).status).toBe(204);
    expect((await t.get('r2-files', '/files/shared/from-js.bin')).status).toBe(404);
  });

  it('refuses a component that imports blob without an r2_buckets binding', async () => {
    const upload = await collectUpload('examples/r2-files-as');
    const content = upload.manifest.content.replace(/^r2_buckets.*$/m, '').replace('name = "r2-files-as"', 'name = "r2-ungranted"');
    const r = await t.admin('POST', '/v1/workers', { ...upload, manifest: { ...upload.manifest, content } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('E_IMPORT_NOT_GRANTED');
    expect(r.body.error.message).toContain('edge:platform/blob');
    expect(r.body.error.message).toContain('r2_buckets = [{ binding = "MY_BUCKET", bucket_name = "..." }]');
  });
});
