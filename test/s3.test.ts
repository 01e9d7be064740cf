// The S3-compatible endpoint through the real @aws-sdk/client-s3 (and lib-storage's multipart Upload, and the
// presigner) against a real host: every operation, metadata round trips, ranges, conditionals, listing across
// continuation tokens, multipart rules, and the errors S3 clients expect — checked as the SDK's typed errors and once
// as raw XML.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  paginateListObjectsV2,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startTestHost, type TestHost } from './helpers/test-host.ts';
import { startEdge } from './helpers/edge-cli.ts';
import { request, type TestResponse } from './helpers/http.ts';
import { loadHostConfig } from '../host/core/host-config.ts';

const KEY = { accessKeyId: 'edgetestkey', secretAccessKey: 'edge-test-secret-0123456789' };
const BUCKET = 'test-bucket';

let t: TestHost;
let s3: S3Client;

function client(extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({ endpoint: t.host.s3Url, region: 'auto', forcePathStyle: true, credentials: KEY, ...extra });
}

/** The SDK's error for a failed call: its name (the S3 code) and HTTP status. */
async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

const md5 = (b: Uint8Array | string): string => createHash('md5').update(b).digest('hex');

beforeAll(async () => {
  t = await startTestHost({ s3Port: 0, s3AccessKeys: [KEY] });
  s3 = client();
});

afterAll(async () => {
  s3?.destroy();
  await t?.close();
});

describe('S3 endpoint: objects', () => {
  it('PutObject / GetObject / HeadObject round trip the body, HTTP metadata and x-amz-meta-*', async () => {
    const key = 'dir one/ünïcode !*\'()+%20&=.txt';
    const expires = new Date('2030-01-02T03:04:05Z');
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: key,
        Body: 'hello world',
        ContentType: 'text/plain; charset=utf-8',
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment; filename="hello.txt"',
        ContentEncoding: 'identity',
        ContentLanguage: 'en-GB',
        Expires: expires,
        Metadata: { colour: 'blue', 'x-thing': 'v 1' },
      }),
    );
    expect(put.ETag).toBe(`"${md5('hello world')}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(await got.Body!.transformToString()).toBe('hello world');
    expect(got.$metadata.httpStatusCode).toBe(200);
    expect(got).toMatchObject({
      ETag: put.ETag,
      ContentLength: 11,
      ContentType: 'text/plain; charset=utf-8',
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="hello.txt"',
      ContentEncoding: 'identity',
      ContentLanguage: 'en-GB',
      Metadata: { colour: 'blue', 'x-thing': 'v 1' },
      AcceptRanges: 'bytes',
    });
    expect(got.Expires?.toISOString()).toBe(expires.toISOString());
    expect(Math.abs(got.LastModified!.getTime() - Date.now())).toBeLessThan(60_000);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head).toMatchObject({ ETag: put.ETag, ContentLength: 11, ContentType: 'text/plain; charset=utf-8', Metadata: { colour: 'blue', 'x-thing': 'v 1' } });
    // The same object as the host's R2 store sees it.
    const meta = await t.host.blob.head(BUCKET, key);
    expect(meta).toMatchObject({ size: 11, httpMetadata: { contentType: 'text/plain; charset=utf-8', cacheExpiry: expires.getTime() }, customMetadata: { colour: 'blue', 'x-thing': 'v 1' } });
  });

  it('streams a body of unknown length (aws-chunked with a CRC32 trailer) in and out', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const pieces = Array.from({ length: 50 }, (_, i) => data.subarray(Math.floor((i * data.length) / 50), Math.floor(((i + 1) * data.length) / 50)));
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'streamed.bin', Body: Readable.from(pieces), ContentLength: data.length }));
    expect(put.ETag).toBe(`"${md5(data)}"`);
    expect(put.ChecksumCRC32).toBeDefined();
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'streamed.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
  });

  it('verifies Content-MD5 (BadDigest) and stores nothing from a refused body', async () => {
    const good = createHash('md5').update('abc').digest('base64');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'md5-ok', Body: 'abc', ContentMD5: good }));
    const bad = await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'md5-bad', Body: 'abd', ContentMD5: good })));
    expect(bad).toMatchObject({ name: 'BadDigest', status: 400 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'md5-bad' })))).toMatchObject({ name: 'NotFound', status: 404 });
    const crc = await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'crc-bad', Body: 'abc', ChecksumCRC32: 'AAAAAA==' })));
    expect(crc).toMatchObject({ name: 'BadDigest', status: 400 });
  });

  it('ranged GETs answer 206 with Content-Range; an unsatisfiable range is InvalidRange (416)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'digits', Body: '0123456789' }));
    const range = async (r: string): Promise<[string, string | undefined, number | undefined, number | undefined]> => {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'digits', Range: r }));
      return [await got.Body!.transformToString(), got.ContentRange, got.ContentLength, got.$metadata.httpStatusCode];
    };
    expect(await range('bytes=2-5')).toEqual(['2345', 'bytes 2-5/10', 4, 206]);
    expect(await range('bytes=7-')).toEqual(['789', 'bytes 7-9/10', 3, 206]);
    expect(await range('bytes=-3')).toEqual(['789', 'bytes 7-9/10', 3, 206]);
    expect(await range('bytes=8-100')).toEqual(['89', 'bytes 8-9/10', 2, 206]);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'digits', Range: 'bytes=10-' })))).toMatchObject({ name: 'InvalidRange', status: 416 });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'digits', Range: 'bytes=0-0' }));
    expect([head.ContentLength, head.ContentRange]).toEqual([1, 'bytes 0-0/10']);
  });

  it('conditional GETs: If-Match / If-Unmodified-Since fail with 412, If-None-Match / If-Modified-Since give 304', async () => {
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond', Body: 'conditional' }));
    const get = (extra: Record<string, unknown>) => s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', ...extra }));
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    expect((await get({ IfMatch: ETag })).$metadata.httpStatusCode).toBe(200);
    expect(await failure(get({ IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect(await failure(get({ IfUnmodifiedSince: past }))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    expect((await get({ IfUnmodifiedSince: future })).$metadata.httpStatusCode).toBe(200);
    expect((await failure(get({ IfNoneMatch: ETag }))).status).toBe(304);
    expect((await get({ IfNoneMatch: '"other"' })).$metadata.httpStatusCode).toBe(200);
    expect((await failure(get({ IfModifiedSince: future }))).status).toBe(304);
    expect((await get({ IfModifiedSince: past })).$metadata.httpStatusCode).toBe(200);
    // If-Match holding wins over a failing If-Unmodified-Since, as in S3.
    expect((await get({ IfMatch: ETag, IfUnmodifiedSince: past })).$metadata.httpStatusCode).toBe(200);
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cond', IfNoneMatch: ETag })))).status).toBe(304);
    // Conditional writes: If-None-Match: * only creates.
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond', Body: 'x', IfNoneMatch: '*' })))).toMatchObject({ name: 'PreconditionFailed', status: 412 });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond-new', Body: 'x', IfNoneMatch: '*' }));
  });

  it('missing keys are NoSuchKey (404); DeleteObject answers 204 whether or not the key exists', async () => {
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'nope' })))).toMatchObject({ name: 'NoSuchKey', status: 404 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'nope' })))).toMatchObject({ name: 'NotFound', status: 404 });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'to-delete', Body: 'x' }));
    expect((await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'to-delete' }))).$metadata.httpStatusCode).toBe(204);
    expect((await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'to-delete' }))).$metadata.httpStatusCode).toBe(204);
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'to-delete' })))).toMatchObject({ status: 404 });
  });

  it('CopyObject copies bytes and metadata (COPY) or takes new metadata (REPLACE)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy-src', Body: 'copied', ContentType: 'text/x-src', Metadata: { a: '1' } }));
    const copy = await s3.send(new CopyObjectCommand({ Bucket: 'other-bucket', Key: 'copy-dst', CopySource: `${BUCKET}/copy-src` }));
    expect(copy.CopyObjectResult?.ETag).toBe(`"${md5('copied')}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'other-bucket', Key: 'copy-dst' }));
    expect([await got.Body!.transformToString(), got.ContentType, got.Metadata]).toEqual(['copied', 'text/x-src', { a: '1' }]);
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy-src', CopySource: `${BUCKET}/copy-src`, MetadataDirective: 'REPLACE', ContentType: 'text/x-new', Metadata: { b: '2' } }));
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'copy-src' }));
    expect([replaced.ContentType, replaced.Metadata]).toEqual(['text/x-new', { b: '2' }]);
  });
});

describe('S3 endpoint: listing and bulk delete', () => {
  const keys = ['list/a.txt', 'list/b/1.txt', 'list/b/2.txt', 'list/c/1.txt', 'list/d.txt', 'list/e/x/y.txt', 'list/f.txt', 'list/ü space.txt'];

  beforeAll(async () => {
    await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: 'list-bucket', Key, Body: Key }))));
  });

  it('ListObjectsV2 with a delimiter, across continuation tokens, one entry per page', async () => {
    const contents: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'list-bucket', Prefix: 'list/', Delimiter: '/', MaxKeys: 1, ContinuationToken: token }));
      pages++;
      expect(page.KeyCount).toBe(1);
      expect(page.MaxKeys).toBe(1);
      contents.push(...(page.Contents ?? []).map((c) => c.Key!));
      prefixes.push(...(page.CommonPrefixes ?? []).map((p) => p.Prefix!));
      if (page.IsTruncated) expect(page.NextContinuationToken).toBeTruthy();
      if (token) expect(page.ContinuationToken).toBe(token);
      token = page.NextContinuationToken;
    } while (token);
    expect(contents).toEqual(['list/a.txt', 'list/d.txt', 'list/f.txt', 'list/ü space.txt']);
    expect(prefixes).toEqual(['list/b/', 'list/c/', 'list/e/']);
    expect(pages).toBe(7);
  });

  it('the SDK paginator, StartAfter, EncodingType=url, and entries with sizes and ETags', async () => {
    const all: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3, pageSize: 3 }, { Bucket: 'list-bucket' })) all.push(...(page.Contents ?? []).map((c) => c.Key!));
    expect(all).toEqual(keys);
    const after = await s3.send(new ListObjectsV2Command({ Bucket: 'list-bucket', StartAfter: 'list/c/1.txt' }));
    expect(after.Contents!.map((c) => c.Key)).toEqual(keys.slice(4));
    expect(after.StartAfter).toBe('list/c/1.txt');
    expect(after.Contents![0]).toMatchObject({ Size: 'list/d.txt'.length, ETag: `"${md5('list/d.txt')}"`, StorageClass: 'STANDARD' });
    const encoded = await s3.send(new ListObjectsV2Command({ Bucket: 'list-bucket', Prefix: 'list/ü', EncodingType: 'url' }));
    expect(encoded.EncodingType).toBe('url');
    expect(encoded.Contents!.map((c) => c.Key)).toEqual(['list/%C3%BC%20space.txt']);
    // ListObjects (v1): Marker / NextMarker.
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: 'list-bucket', Prefix: 'list/', Delimiter: '/', MaxKeys: 2, Marker: 'list/a.txt' }));
    expect([v1.CommonPrefixes!.map((p) => p.Prefix), v1.IsTruncated, v1.NextMarker]).toEqual([['list/b/', 'list/c/'], true, 'list/c/']);
    const v1next = await s3.send(new ListObjectsCommand({ Bucket: 'list-bucket', Prefix: 'list/', Delimiter: '/', MaxKeys: 2, Marker: v1.NextMarker }));
    expect(v1next.Contents!.map((c) => c.Key)).toEqual(['list/d.txt']);
    expect(v1next.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['list/e/']);
    const empty = await s3.send(new ListObjectsV2Command({ Bucket: 'never-written' }));
    expect([empty.KeyCount, empty.Contents, empty.IsTruncated]).toEqual([0, undefined, false]);
  });

  it('DeleteObjects reports each key (Quiet mode: only failures)', async () => {
    await Promise.all(['bulk/1', 'bulk/2', 'bulk/3'].map((Key) => s3.send(new PutObjectCommand({ Bucket: 'list-bucket', Key, Body: 'x' }))));
    const verbose = await s3.send(new DeleteObjectsCommand({ Bucket: 'list-bucket', Delete: { Objects: [{ Key: 'bulk/1' }, { Key: 'bulk/never' }] } }));
    expect(verbose.Deleted!.map((d) => d.Key).sort()).toEqual(['bulk/1', 'bulk/never']);
    expect(verbose.Errors).toBeUndefined();
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: 'list-bucket', Delete: { Quiet: true, Objects: [{ Key: 'bulk/2' }, { Key: 'bulk/3' }, { Key: 'k'.repeat(1025) }] } }));
    expect(quiet.Deleted).toBeUndefined();
    expect(quiet.Errors).toEqual([{ Key: 'k'.repeat(1025), Code: 'KeyTooLongError', Message: expect.stringContaining('1024 bytes') }]);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: 'list-bucket', Prefix: 'bulk/' }));
    expect(left.KeyCount).toBe(0);
  });
});

describe('S3 endpoint: multipart uploads', () => {
  it('lib-storage Upload of 12 MiB in 5 MiB parts; the object reads back whole and by range', async () => {
    const data = randomBytes(12 * 1024 * 1024 + 123);
    const upload = new Upload({ client: s3, params: { Bucket: BUCKET, Key: 'big/multi.bin', Body: Readable.from([data]), ContentType: 'application/x-big', Metadata: { kind: 'multi' } }, partSize: 5 * 1024 * 1024, queueSize: 2 });
    const done = await upload.done();
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/multi.bin' }));
    expect(head).toMatchObject({ ContentLength: data.length, ContentType: 'application/x-big', Metadata: { kind: 'multi' }, ETag: done.ETag });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big/multi.bin' }));
    expect(md5(await got.Body!.transformToByteArray())).toBe(md5(data));
    // A range across the boundary of parts 1 and 2.
    const start = 5 * 1024 * 1024 - 10;
    const part = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big/multi.bin', Range: `bytes=${start}-${start + 19}` }));
    expect(Buffer.from(await part.Body!.transformToByteArray()).equals(data.subarray(start, start + 20))).toBe(true);
  });

  it('Create / UploadPart / Complete by hand, with S3 errors for bad part lists; Abort ends an upload', async () => {
    const key = 'big/manual.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    expect(UploadId).toBeTruthy();
    const p1 = randomBytes(5 * 1024 * 1024);
    const p2 = randomBytes(1000);
    const small = randomBytes(10);
    const e1 = (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: p1 }))).ETag!;
    const e2 = (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: p2 }))).ETag!;
    expect(e1).toBe(`"${md5(p1)}"`);
    const complete = (Parts: Array<{ PartNumber: number; ETag: string }>) => s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts } }));
    expect(await failure(complete([{ PartNumber: 2, ETag: e2 }, { PartNumber: 1, ETag: e1 }]))).toMatchObject({ name: 'InvalidPartOrder', status: 400 });
    expect(await failure(complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: '"00000000000000000000000000000000"' }]))).toMatchObject({ name: 'InvalidPart', status: 400 });
    expect(await failure(complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 3, ETag: e2 }]))).toMatchObject({ name: 'InvalidPart', status: 400 });
    const e3 = (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 3, Body: small }))).ETag!;
    expect(await failure(complete([{ PartNumber: 2, ETag: e2 }, { PartNumber: 3, ETag: e3 }]))).toMatchObject({ name: 'EntityTooSmall', status: 400 });
    expect(await failure(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 10_001, Body: small })))).toMatchObject({ name: 'InvalidArgument', status: 400 });
    const result = await complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }]);
    expect(result.ETag).toMatch(/-2"$/);
    expect(result.Key).toBe(key);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(md5(await got.Body!.transformToByteArray())).toBe(md5(Buffer.concat([p1, p2])));
    expect(await failure(complete([{ PartNumber: 1, ETag: e1 }]))).toMatchObject({ name: 'NoSuchUpload', status: 404 });

    const aborted = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'big/aborted' }));
    await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'big/aborted', UploadId: aborted.UploadId, PartNumber: 1, Body: small }));
    expect((await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'big/aborted', UploadId: aborted.UploadId }))).$metadata.httpStatusCode).toBe(204);
    expect(await failure(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'big/aborted', UploadId: aborted.UploadId, PartNumber: 2, Body: small })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
    expect(await failure(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'big/aborted', UploadId: aborted.UploadId })))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
  });
});

describe('S3 endpoint: authentication and errors', () => {
  it('a wrong secret is SignatureDoesNotMatch (403), an unknown key id InvalidAccessKeyId (403)', async () => {
    const wrong = client({ credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: 'not-the-secret' } });
    expect(await failure(wrong.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'digits' })))).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    expect(await failure(wrong.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sneaky', Body: 'x'.repeat(100_000) })))).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    // 3 MiB: the SDK sends Expect: 100-continue and the endpoint refuses before the body is sent.
    expect(await failure(wrong.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sneaky', Body: Buffer.alloc(3 * 1024 * 1024) })))).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    const unknown = client({ credentials: { accessKeyId: 'nobody', secretAccessKey: KEY.secretAccessKey } });
    expect(await failure(unknown.send(new ListObjectsV2Command({ Bucket: BUCKET })))).toMatchObject({ name: 'InvalidAccessKeyId', status: 403 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sneaky' })))).toMatchObject({ status: 404 });
    wrong.destroy();
    unknown.destroy();
  });

  it("answers in S3's XML error format", async () => {
    const wrong = client({ credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: 'not-the-secret' } });
    const url = await getSignedUrl(wrong, new GetObjectCommand({ Bucket: BUCKET, Key: 'digits' }), { expiresIn: 60 });
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/xml');
    const xml = await res.text();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>SignatureDoesNotMatch<\/Code><Message>The request signature we calculated does not match the signature you provided\. Check your key and signing method\.<\/Message>/);
    expect(xml).toContain('<CanonicalRequest>GET\n/test-bucket/digits\n');
    expect(xml).toContain(`<Resource>/${BUCKET}/digits</Resource>`);
    expect(xml).toMatch(/<RequestId>[0-9A-F]{16}<\/RequestId><\/Error>$/);
    expect(res.headers.get('x-amz-request-id')).toBe(/<RequestId>([0-9A-F]+)</.exec(xml)![1]);
    const anonymous = await fetch(`${t.host.s3Url}/${BUCKET}/digits`);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain('<Code>AccessDenied</Code>');
    wrong.destroy();
  });

  it('presigned GET and PUT URLs work until they expire', async () => {
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned.txt' }), { expiresIn: 300 });
    const put = await fetch(putUrl, { method: 'PUT', body: 'via a presigned URL' });
    expect(put.status).toBe(200);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned.txt' }), { expiresIn: 300 });
    const got = await fetch(getUrl);
    expect([got.status, await got.text()]).toEqual([200, 'via a presigned URL']);
    const expired = await fetch(await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned.txt' }), { expiresIn: 60, signingDate: new Date(Date.now() - 3600_000) }));
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('<Message>Request has expired</Message>');
  });

  it('a clock more than 15 minutes off is RequestTimeTooSkewed', async () => {
    // One call per client: the SDK corrects its clock from the answer's Date header after a skew error.
    for (const offset of [20 * 60_000, -20 * 60_000]) {
      const skewed = client({ systemClockOffset: offset, maxAttempts: 1 });
      expect(await failure(skewed.send(new ListObjectsV2Command({ Bucket: BUCKET })))).toMatchObject({ name: 'RequestTimeTooSkewed', status: 403 });
      skewed.destroy();
    }
    const slightly = client({ systemClockOffset: 10 * 60_000, maxAttempts: 1 });
    expect((await slightly.send(new ListObjectsV2Command({ Bucket: BUCKET }))).$metadata.httpStatusCode).toBe(200);
    slightly.destroy();
  });

  it('buckets exist for any valid name; invalid names and unimplemented operations say so', async () => {
    expect((await s3.send(new HeadBucketCommand({ Bucket: 'any.valid-name' }))).$metadata.httpStatusCode).toBe(200);
    expect((await s3.send(new CreateBucketCommand({ Bucket: 'created-bucket' }))).$metadata.httpStatusCode).toBe(200);
    expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: BUCKET })))).toMatchObject({ name: 'BucketNotEmpty', status: 409 });
    expect((await s3.send(new DeleteBucketCommand({ Bucket: 'created-bucket' }))).$metadata.httpStatusCode).toBe(204);
    expect(await failure(s3.send(new ListObjectsV2Command({ Bucket: 'Bad_Bucket' })))).toMatchObject({ name: 'InvalidBucketName', status: 400 });
    const tagging = await failure(s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'digits' })));
    expect(tagging).toMatchObject({ name: 'NotImplemented', status: 501 });
    expect(tagging.message).toMatch(/tagging/);
  });
});

describe('S3 endpoint: credentials', () => {
  it('generates a key pair into <dataDir>/s3-credentials.json (0600) when none is configured, and keeps it', async () => {
    const host = await startTestHost({ s3Port: 0 });
    try {
      const file = join(host.dataDir, 's3-credentials.json');
      expect(host.host.s3Credentials.file).toBe(file);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const saved = JSON.parse(await readFile(file, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
      expect(host.host.s3Credentials.keys).toEqual([saved]);
      expect(saved.accessKeyId).toMatch(/^[0-9a-f]{32}$/);
      const c = new S3Client({ endpoint: host.host.s3Url, region: 'auto', forcePathStyle: true, credentials: { ...saved } });
      await c.send(new PutObjectCommand({ Bucket: 'gen', Key: 'k', Body: 'v' }));
      await host.restart({ s3Port: 0 });
      expect(host.host.s3Credentials.keys).toEqual([saved]);
      const c2 = new S3Client({ endpoint: host.host.s3Url, region: 'auto', forcePathStyle: true, credentials: { ...saved } });
      expect(await (await c2.send(new GetObjectCommand({ Bucket: 'gen', Key: 'k' }))).Body!.transformToString()).toBe('v');
      c.destroy();
      c2.destroy();
    } finally {
      await host.close();
    }
  });

  it('edge.config.ts `s3.accessKeys` is validated with errors naming the entry', async () => {
    const dir = t.dataDir;
    const write = async (body: string): Promise<string> => {
      const file = join(dir, `edge.config.${randomBytes(4).toString('hex')}.mjs`);
      await writeFile(file, `export default ${body};\n`);
      return file;
    };
    const ok = await loadHostConfig(await write("{ s3: { accessKeys: [{ accessKeyId: 'local', secretAccessKey: 'local-secret-123' }] } }"));
    expect(ok.s3).toEqual({ accessKeys: [{ accessKeyId: 'local', secretAccessKey: 'local-secret-123' }] });
    await expect(loadHostConfig(await write("{ s3: { accessKeys: [{ accessKeyId: 'local' }] } }"))).rejects.toThrow(/s3\.accessKeys\[0\]\.secretAccessKey/);
    await expect(loadHostConfig(await write("{ s3: { accessKeys: [{ accessKeyId: 'a b', secretAccessKey: 'local-secret-123' }] } }"))).rejects.toThrow(/s3\.accessKeys\[0\]\.accessKeyId/);
    await expect(loadHostConfig(await write("{ s3: { keys: [] } }"))).rejects.toThrow(/unknown key `s3\.keys`/);
    await expect(loadHostConfig(await write('{ s3: { accessKeys: [] } }'))).rejects.toThrow(/at least one key/);
  });
});

describe('S3 endpoint: edge serve', () => {
  it('--s3-port serves the endpoint and the banner prints where and with which generated key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'edge-s3-cli-'));
    const serve = startEdge(['serve', '--port', '0', '--admin-port', '0', '--s3-port', '0', '--data-dir', dataDir]);
    try {
      const m = await serve.waitFor(/^\s*s3:\s+(http:\/\/127\.0\.0\.1:\d+)\s.*path-style.*access key ([0-9a-f]{32}) secret ([0-9a-f]{64}) \(from (\S+)\)$/m);
      expect(m[4]).toBe(join(dataDir, 's3-credentials.json'));
      const c = new S3Client({ endpoint: m[1]!, region: 'auto', forcePathStyle: true, credentials: { accessKeyId: m[2]!, secretAccessKey: m[3]! } });
      await c.send(new PutObjectCommand({ Bucket: 'cli-bucket', Key: 'k', Body: 'from the CLI host' }));
      expect(await (await c.send(new GetObjectCommand({ Bucket: 'cli-bucket', Key: 'k' }))).Body!.transformToString()).toBe('from the CLI host');
      c.destroy();
    } finally {
      serve.kill();
      await serve.exited;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

// A SigV4 signer written here from AWS's description (not the endpoint's code), for requests the SDK would never
// send: malformed documents, wrong payload hashes, signed aws-chunked bodies, unsigned x-amz-* headers.
const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
const hmacOf = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

async function rawSigned(
  method: string,
  path: string,
  options: { query?: string; headers?: Record<string, string>; unsignedHeaders?: Record<string, string>; body?: Buffer | string; payloadHash?: string; chunks?: Buffer[]; badChunk?: number } = {},
): Promise<TestResponse> {
  const now = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const date = now.slice(0, 8);
  const scope = `${date}/auto/s3/aws4_request`;
  const key = hmacOf(hmacOf(hmacOf(hmacOf(`AWS4${KEY.secretAccessKey}`, date), 'auto'), 's3'), 'aws4_request');
  const url = new URL(t.host.s3Url);
  let body: Buffer | undefined = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { host: url.host, 'x-amz-date': now, ...(options.headers ?? {}) };
  if (options.chunks) {
    headers['x-amz-content-sha256'] = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    headers['content-encoding'] = 'aws-chunked';
    headers['x-amz-decoded-content-length'] = String(options.chunks.reduce((n, c) => n + c.length, 0));
  } else headers['x-amz-content-sha256'] = options.payloadHash ?? sha256(body ?? '');
  const names = Object.keys(headers).sort();
  const query = (options.query ?? '').split('&').filter(Boolean).map((p) => (p.includes('=') ? p : `${p}=`)).sort().join('&');
  const canonical = [method, path, query, ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), headers['x-amz-content-sha256']].join('\n');
  const signature = hmacOf(key, ['AWS4-HMAC-SHA256', now, scope, sha256(canonical)].join('\n')).toString('hex');
  if (options.chunks) {
    const framed: Buffer[] = [];
    let previous = signature;
    [...options.chunks, Buffer.alloc(0)].forEach((chunk, i) => {
      let sig = hmacOf(key, ['AWS4-HMAC-SHA256-PAYLOAD', now, scope, previous, sha256(''), sha256(chunk)].join('\n')).toString('hex');
      previous = sig;
      if (i === options.badChunk) sig = sig.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      framed.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${sig}\r\n`), chunk, Buffer.from('\r\n'));
    });
    body = Buffer.concat(framed);
  }
  const sent = { ...headers, ...(options.unsignedHeaders ?? {}), authorization: `AWS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}` };
  return request(`${t.host.s3Url}${path}${options.query ? `?${options.query}` : ''}`, { method, headers: sent, ...(body ? { body } : {}) });
}

const code = (r: TestResponse): string | undefined => /<Code>([^<]+)<\/Code>/.exec(r.text)?.[1];

describe('S3 endpoint: raw signed requests', () => {
  it('a signed aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) is stored; a bad chunk signature stores nothing', async () => {
    const chunks = [randomBytes(70_000), randomBytes(1000)];
    const ok = await rawSigned('PUT', `/${BUCKET}/chunked-signed`, { chunks });
    expect(ok.status).toBe(200);
    expect(ok.headers.etag).toBe(`"${md5(Buffer.concat(chunks))}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'chunked-signed' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(chunks))).toBe(true);
    const bad = await rawSigned('PUT', `/${BUCKET}/chunked-bad`, { chunks, badChunk: 1 });
    expect([bad.status, code(bad)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(await t.host.blob.head(BUCKET, 'chunked-bad')).toBeNull();
  });

  it('a body that does not match x-amz-content-sha256 is XAmzContentSHA256Mismatch and is not stored', async () => {
    const r = await rawSigned('PUT', `/${BUCKET}/hash-mismatch`, { body: 'actual bytes', payloadHash: sha256('other bytes') });
    expect([r.status, code(r)]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    expect(await t.host.blob.head(BUCKET, 'hash-mismatch')).toBeNull();
    const ok = await rawSigned('PUT', `/${BUCKET}/hash-match`, { body: 'actual bytes' });
    expect(ok.status).toBe(200);
  });

  it('refuses unsigned x-amz-* headers, malformed documents, and names what is not implemented', async () => {
    const sneaky = await rawSigned('PUT', `/${BUCKET}/sneaky-meta`, { body: 'x', unsignedHeaders: { 'x-amz-meta-owner': 'mallory' } });
    expect([sneaky.status, code(sneaky)]).toEqual([403, 'AccessDenied']);
    expect(sneaky.text).toContain('x-amz-meta-owner');
    const malformed = await rawSigned('POST', `/${BUCKET}`, { query: 'delete', body: '<Delete><Object><Key>a</Key></Object>' });
    expect([malformed.status, code(malformed)]).toEqual([400, 'MalformedXML']);
    const wrongRoot = await rawSigned('POST', `/${BUCKET}`, { query: 'delete', body: '<Remove><Object><Key>a</Key></Object></Remove>' });
    expect([wrongRoot.status, code(wrongRoot)]).toEqual([400, 'MalformedXML']);
    const listBuckets = await rawSigned('GET', '/');
    expect([listBuckets.status, code(listBuckets)]).toEqual([501, 'NotImplemented']);
    const listParts = await rawSigned('GET', `/${BUCKET}/k`, { query: 'uploadId=abc' });
    expect([listParts.status, code(listParts)]).toEqual([501, 'NotImplemented']);
    expect(listParts.text).toContain('ListParts');
    const patch = await rawSigned('PATCH', `/${BUCKET}/k`);
    expect([patch.status, code(patch)]).toEqual([405, 'MethodNotAllowed']);
    const badName = await rawSigned('GET', '/xn--bucket/k');
    expect([badName.status, code(badName)]).toEqual([400, 'InvalidBucketName']);
  });
});
