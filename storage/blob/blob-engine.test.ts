import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { BlobEngine } from './blob-engine.ts';
import { BlobError } from './blob-types.ts';

const dirs: string[] = [];
const engines: BlobEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close().catch(() => {});
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function engine(dir?: string, options: Parameters<typeof BlobEngine.open>[1] = {}): Promise<{ r2: BlobEngine; dir: string }> {
  dir ??= await mkdtemp(join(tmpdir(), 'edge-r2-'));
  if (!dirs.includes(dir)) dirs.push(dir);
  const r2 = await BlobEngine.open(dir, options);
  engines.push(r2);
  return { r2, dir };
}
async function read(body: Readable | null | undefined): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body!) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
async function* chunked(total: number, size = 64 * 1024, seed = 1): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < total; at += size) {
    const n = Math.min(size, total - at);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (at + i) * seed % 251;
    yield b;
  }
}
function bytesOf(total: number, seed = 1): Buffer {
  const b = Buffer.alloc(total);
  for (let i = 0; i < total; i++) b[i] = i * seed % 251;
  return b;
}
async function blobError(p: Promise<unknown>): Promise<BlobError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(BlobError);
  return e as BlobError;
}

describe('BlobEngine', () => {
  it('puts a streamed body into a file, reads it back whole and by ranges, and keeps it across a reopen', async () => {
    const { r2, dir } = await engine();
    const size = 3 * 1024 * 1024 + 17;
    const meta = await r2.put('b', 'dir/file.bin', chunked(size), { httpMetadata: { contentType: 'application/octet-stream' }, customMetadata: { owner: 'me' } });
    expect(meta).toMatchObject({ key: 'dir/file.bin', size, etag: md5(bytesOf(size)), httpMetadata: { contentType: 'application/octet-stream' }, customMetadata: { owner: 'me' } });
    expect((await read((await r2.get('b', 'dir/file.bin'))!.body)).equals(bytesOf(size))).toBe(true);
    const mid = await r2.get('b', 'dir/file.bin', { range: { offset: 1000, length: 10 } });
    expect(mid!.range).toEqual({ offset: 1000, length: 10 });
    expect((await read(mid!.body)).equals(bytesOf(size).subarray(1000, 1010))).toBe(true);
    const suffix = await r2.get('b', 'dir/file.bin', { range: { suffix: 5 } });
    expect((await read(suffix!.body)).equals(bytesOf(size).subarray(size - 5))).toBe(true);
    expect((await blobError(r2.get('b', 'dir/file.bin', { range: { offset: size + 1 } }))).blobCode).toBe('invalid-range');
    await r2.close();
    const { r2: again } = await engine(dir);
    expect(await again.head('b', 'dir/file.bin')).toEqual(meta);
    expect((await read((await again.get('b', 'dir/file.bin'))!.body)).equals(bytesOf(size))).toBe(true);
    expect(await again.head('other-bucket', 'dir/file.bin')).toBeNull();
  });

  it('verifies checksums given with a put and stores nothing on a mismatch', async () => {
    const { r2 } = await engine();
    const body = Buffer.from('checked bytes');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const ok = await r2.put('b', 'k', body, { checksums: { md5: md5(body), sha256 } });
    expect(ok!.checksums).toEqual({ md5: md5(body), sha256 });
    const e = await blobError(r2.put('b', 'k2', body, { checksums: { sha256: '00'.repeat(32) } }));
    expect(e.blobCode).toBe('checksum-mismatch');
    expect(e.message).toContain('sha256');
    expect(await r2.head('b', 'k2')).toBeNull();
    expect((await blobError(r2.put('b', 'k3', body, { checksums: { md5: 'xyz' } }))).message).toContain('32 hex digits');
  });

  it('honours onlyIf on get and put (etag and upload time)', async () => {
    let now = 1_700_000_000_000;
    const { r2 } = await engine(undefined, { now: () => now });
    const m = (await r2.put('b', 'k', Buffer.from('v1')))!;
    const pre = await r2.get('b', 'k', { onlyIf: { etagDoesNotMatch: m.etag } });
    expect(pre!.body).toBeNull();
    expect(pre!.meta.etag).toBe(m.etag);
    expect((await r2.get('b', 'k', { onlyIf: { etagMatches: `"${m.etag}"` } }))!.body).not.toBeNull();
    expect((await r2.get('b', 'k', { onlyIf: { uploadedAfter: now - 1 } }))!.body).not.toBeNull();
    expect((await r2.get('b', 'k', { onlyIf: { uploadedBefore: now } }))!.body).toBeNull();
    now += 1000;
    expect(await r2.put('b', 'k', Buffer.from('v2'), { onlyIf: { etagMatches: 'nope' } })).toBeNull();
    expect((await read((await r2.get('b', 'k'))!.body)).toString()).toBe('v1');
    expect(await r2.put('b', 'k', Buffer.from('v2'), { onlyIf: { etagMatches: m.etag } })).not.toBeNull();
    expect(await r2.put('b', 'new', Buffer.from('x'), { onlyIf: { etagDoesNotMatch: '*' } })).not.toBeNull();
  });

  it('lists with prefix, delimiter, startAfter and cursors across pages', async () => {
    const { r2 } = await engine();
    const keys = ['a.txt', 'photos/2024/a.jpg', 'photos/2024/b.jpg', 'photos/2025/c.jpg', 'photos/readme', 'videos/x.mp4', 'z'];
    for (const k of keys) await r2.put('b', k, Buffer.from(k));
    const top = await r2.list('b', { delimiter: '/' });
    expect(top.objects.map((o) => o.key)).toEqual(['a.txt', 'z']);
    expect(top.delimitedPrefixes).toEqual(['photos/', 'videos/']);
    const photos = await r2.list('b', { prefix: 'photos/', delimiter: '/' });
    expect(photos.objects.map((o) => o.key)).toEqual(['photos/readme']);
    expect(photos.delimitedPrefixes).toEqual(['photos/2024/', 'photos/2025/']);
    expect((await r2.list('b', { startAfter: 'photos/2025/c.jpg' })).objects.map((o) => o.key)).toEqual(['photos/readme', 'videos/x.mp4', 'z']);
    // Pages of two, prefixes counting toward the limit, resumed by cursor.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await r2.list('b', { delimiter: '/', limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.objects.map((o) => o.key), ...page.delimitedPrefixes);
      cursor = page.truncated ? page.cursor : undefined;
      if (page.truncated) expect(page.cursor).toBeDefined();
    } while (cursor);
    expect(seen.sort()).toEqual(['a.txt', 'photos/', 'videos/', 'z']);
    expect((await blobError(r2.list('b', { limit: 0 }))).blobCode).toBe('invalid-argument');
  });

  it('deletes one or many and frees their files', async () => {
    const { r2, dir } = await engine();
    for (const k of ['x', 'y', 'z']) await r2.put('b', k, Buffer.from(k));
    await r2.delete('b', ['x', 'y', 'not-there']);
    expect((await r2.list('b')).objects.map((o) => o.key)).toEqual(['z']);
    await new Promise((r) => setTimeout(r, 20));
    let files = 0;
    for (const sub of await readdir(join(dir, 'objects'))) files += (await readdir(join(dir, 'objects', sub))).length;
    expect(files).toBe(1);
  });

  it('multipart: uploads parts, completes with the S3/R2 etag, reads across part boundaries, and enforces the part rules', async () => {
    const { r2, dir } = await engine();
    const MiB = 1024 * 1024;
    const id = await r2.createMultipartUpload('b', 'big', { httpMetadata: { contentType: 'video/mp4' } });
    const p1 = await r2.uploadPart('b', 'big', id, 1, chunked(5 * MiB, 64 * 1024, 3));
    const p2 = await r2.uploadPart('b', 'big', id, 2, chunked(5 * MiB, 64 * 1024, 5));
    const p3 = await r2.uploadPart('b', 'big', id, 3, Buffer.from('tail'));
    expect(p1.etag).toBe(md5(bytesOf(5 * MiB, 3)));
    // The rules: every part but the last at least 5 MiB and all the same size; listed in order.
    const small = await r2.createMultipartUpload('b', 'small');
    const s1 = await r2.uploadPart('b', 'small', small, 1, Buffer.from('a'));
    const s2 = await r2.uploadPart('b', 'small', small, 2, Buffer.from('b'));
    expect((await blobError(r2.completeMultipartUpload('b', 'small', small, [s1, s2]))).message).toContain('at least 5242880');
    expect((await r2.completeMultipartUpload('b', 'small', small, [s1])).size).toBe(1);
    expect((await blobError(r2.completeMultipartUpload('b', 'big', id, [p2, p1]))).message).toContain('ascending');
    expect((await blobError(r2.completeMultipartUpload('b', 'big', id, [{ partNumber: 1, etag: 'bad' }]))).blobCode).toBe('invalid-part');
    await r2.close();
    // An upload in progress survives a restart.
    const { r2: again } = await engine(dir);
    const meta = await again.completeMultipartUpload('b', 'big', id, [p1, p2, p3]);
    const expectEtag = createHash('md5').update(Buffer.concat([p1, p2, p3].map((p) => Buffer.from(p.etag, 'hex')))).digest('hex') + '-3';
    expect(meta.etag).toBe(expectEtag);
    expect(meta.size).toBe(10 * MiB + 4);
    expect(meta.httpMetadata.contentType).toBe('video/mp4');
    const across = await again.get('b', 'big', { range: { offset: 5 * MiB - 2, length: 4 } });
    expect([...(await read(across!.body))]).toEqual([...bytesOf(5 * MiB, 3).subarray(5 * MiB - 2), ...bytesOf(2, 5)]);
    expect((await read((await again.get('b', 'big', { range: { suffix: 4 } }))!.body)).toString()).toBe('tail');
    expect((await blobError(again.uploadPart('b', 'big', id, 4, Buffer.from('late')))).blobCode).toBe('no-such-upload');
    // Abort frees the parts.
    const id2 = await again.createMultipartUpload('b', 'gone');
    await again.uploadPart('b', 'gone', id2, 1, Buffer.from('x'));
    await again.abortMultipartUpload('b', 'gone', id2);
    expect((await blobError(again.completeMultipartUpload('b', 'gone', id2, [{ partNumber: 1, etag: md5(Buffer.from('x')) }]))).blobCode).toBe('no-such-upload');
    expect(await again.head('b', 'gone')).toBeNull();
  });

  it('a file being read survives the object being replaced; orphan files are swept on open', async () => {
    const { r2, dir } = await engine();
    await r2.put('b', 'k', bytesOf(300_000));
    const reading = await r2.get('b', 'k');
    await r2.put('b', 'k', Buffer.from('new'));
    expect((await read(reading!.body)).equals(bytesOf(300_000))).toBe(true);
    expect((await read((await r2.get('b', 'k'))!.body)).toString()).toBe('new');
    await r2.close();
    // A body written by a put the process died in (no record names it), and a half-written temp file.
    const sub = join(dir, 'objects', (await readdir(join(dir, 'objects')))[0]!);
    await writeFile(join(sub, 'orphan'), 'x');
    await writeFile(join(sub, 'x.tmp'), 'x');
    const { r2: again } = await engine(dir);
    let files = 0;
    for (const sub of await readdir(join(dir, 'objects'))) files += (await readdir(join(dir, 'objects', sub))).length;
    expect(files).toBe(1);
    expect((await read((await again.get('b', 'k'))!.body)).toString()).toBe('new');
  });

  it('compacts its metadata log, keeping objects and open uploads', async () => {
    const { r2, dir } = await engine(undefined, { compactAtBytes: 16 * 1024, segmentBytes: 8 * 1024 });
    for (let round = 0; round < 20; round++) for (let k = 0; k < 10; k++) await r2.put('b', `k${k}`, Buffer.from(`${round}`));
    const id = await r2.createMultipartUpload('b', 'mp');
    const part = await r2.uploadPart('b', 'mp', id, 1, Buffer.from('p'));
    await r2.compact();
    expect(r2.stats.compactions).toBeGreaterThan(0);
    await r2.close();
    const { r2: again } = await engine(dir);
    for (let k = 0; k < 10; k++) expect((await read((await again.get('b', `k${k}`))!.body)).toString()).toBe('19');
    expect((await again.completeMultipartUpload('b', 'mp', id, [part])).size).toBe(1);
  });

  it('refuses bad keys and oversized custom metadata', async () => {
    const { r2 } = await engine();
    expect((await blobError(r2.put('b', '', Buffer.from('x')))).blobCode).toBe('invalid-key');
    expect((await blobError(r2.put('b', 'k'.repeat(1025), Buffer.from('x')))).message).toContain('1024 bytes');
    expect((await blobError(r2.put('b', 'k', Buffer.from('x'), { customMetadata: { big: 'v'.repeat(2100) } }))).message).toContain('2048 bytes');
  });
});
