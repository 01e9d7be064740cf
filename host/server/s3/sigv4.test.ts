// SigV4 verification against the example requests AWS publishes for S3 (header auth, presigned URL, and the signed
// aws-chunked upload with its chunk signature chain), plus the failures S3 answers with.
import { describe, expect, it } from 'vitest';
import { verifySignature, type SignedRequest } from './sigv4.ts';
import { checkedBody } from './s3-body.ts';
import { S3Error } from './s3-errors.ts';

const ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const secretFor = (id: string): string | undefined => (id === ID ? SECRET : undefined);
const T = Date.UTC(2013, 4, 24, 0, 0, 0);
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function auth(signedHeaders: string, signature: string): string {
  return `AWS4-HMAC-SHA256 Credential=${ID}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${signature}`;
}

// "Example: GET Object" of the S3 SigV4 documentation.
const getObject = (signature = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41', extra: string[] = []): SignedRequest => ({
  method: 'GET',
  url: '/test.txt',
  rawHeaders: ['Host', 'examplebucket.s3.amazonaws.com', 'Range', 'bytes=0-9', 'x-amz-content-sha256', EMPTY, 'x-amz-date', '20130524T000000Z', 'Authorization', auth('host;range;x-amz-content-sha256;x-amz-date', signature), ...extra],
});

function s3Error(fn: () => unknown): S3Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return err;
    throw err;
  }
  throw new Error('expected an S3Error');
}

describe('SigV4 verification (AWS documented examples)', () => {
  it('GET Object with the Authorization header', () => {
    const v = verifySignature(getObject(), secretFor, T);
    expect(v.accessKeyId).toBe(ID);
    expect(v.scope).toBe('20130524/us-east-1/s3/aws4_request');
    expect(v.payloadHash).toBe(EMPTY);
  });

  it('PUT Object: a path with an encoded character, the Date header and x-amz-storage-class signed', () => {
    const req: SignedRequest = {
      method: 'PUT',
      url: '/test%24file.text',
      rawHeaders: [
        'Host', 'examplebucket.s3.amazonaws.com',
        'Date', 'Fri, 24 May 2013 00:00:00 GMT',
        'x-amz-date', '20130524T000000Z',
        'x-amz-storage-class', 'REDUCED_REDUNDANCY',
        'x-amz-content-sha256', '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
        'Authorization', auth('date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class', '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd'),
      ],
    };
    expect(verifySignature(req, secretFor, T).accessKeyId).toBe(ID);
  });

  it('GET Bucket lifecycle and ListObjects: subresource and query parameters in canonical order', () => {
    const lifecycle: SignedRequest = {
      method: 'GET',
      url: '/?lifecycle',
      rawHeaders: ['Host', 'examplebucket.s3.amazonaws.com', 'x-amz-date', '20130524T000000Z', 'x-amz-content-sha256', EMPTY, 'Authorization', auth('host;x-amz-content-sha256;x-amz-date', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543')],
    };
    expect(verifySignature(lifecycle, secretFor, T).accessKeyId).toBe(ID);
    const list: SignedRequest = {
      method: 'GET',
      url: '/?prefix=J&max-keys=2',
      rawHeaders: ['Host', 'examplebucket.s3.amazonaws.com', 'x-amz-date', '20130524T000000Z', 'x-amz-content-sha256', EMPTY, 'Authorization', auth('host;x-amz-content-sha256;x-amz-date', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7')],
    };
    expect(verifySignature(list, secretFor, T).accessKeyId).toBe(ID);
  });

  it('a presigned URL (query-string authentication), within and past X-Amz-Expires', () => {
    const req: SignedRequest = {
      method: 'GET',
      url:
        '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
        '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
      rawHeaders: ['Host', 'examplebucket.s3.amazonaws.com'],
    };
    const v = verifySignature(req, secretFor, T + 3600_000);
    expect(v.presigned).toBe(true);
    expect(v.payloadHash).toBe('UNSIGNED-PAYLOAD');
    const expired = s3Error(() => verifySignature(req, secretFor, T + 86_401_000));
    expect([expired.s3Code, expired.message]).toEqual(['AccessDenied', 'Request has expired']);
    const tampered = s3Error(() => verifySignature({ ...req, url: req.url.replace('test.txt', 'other.txt') }, secretFor, T));
    expect(tampered.s3Code).toBe('SignatureDoesNotMatch');
  });

  it('refuses a wrong signature, an unknown key, a skewed clock, unsigned x-amz-* headers and other schemes', () => {
    const wrong = s3Error(() => verifySignature(getObject('0'.repeat(64)), secretFor, T));
    expect(wrong.s3Code).toBe('SignatureDoesNotMatch');
    expect(wrong.status).toBe(403);
    expect(wrong.extra.CanonicalRequest).toBe(`GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:${EMPTY}\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n${EMPTY}`);
    expect(s3Error(() => verifySignature(getObject(), () => undefined, T)).s3Code).toBe('InvalidAccessKeyId');
    expect(s3Error(() => verifySignature(getObject(), () => 'another-secret', T)).s3Code).toBe('SignatureDoesNotMatch');
    const skew = s3Error(() => verifySignature(getObject(), secretFor, T + 15 * 60_000 + 1000));
    expect([skew.s3Code, skew.status]).toEqual(['RequestTimeTooSkewed', 403]);
    expect(verifySignature(getObject(), secretFor, T - 14 * 60_000).accessKeyId).toBe(ID);
    expect(s3Error(() => verifySignature(getObject(undefined, ['x-amz-meta-sneaky', '1']), secretFor, T)).message).toMatch(/not signed: x-amz-meta-sneaky/);
    const v2 = s3Error(() => verifySignature({ method: 'GET', url: '/x', rawHeaders: ['Host', 'h', 'Authorization', 'AWS AKID:c2lnbmF0dXJl'] }, secretFor, T));
    expect(v2.s3Code).toBe('InvalidRequest');
    expect(s3Error(() => verifySignature({ method: 'GET', url: '/x', rawHeaders: ['Host', 'h'] }, secretFor, T)).s3Code).toBe('AccessDenied');
    const noHash = getObject();
    noHash.rawHeaders.splice(4, 2);
    expect(s3Error(() => verifySignature(noHash, secretFor, T)).message).toMatch(/x-amz-content-sha256/);
  });
});

describe('aws-chunked bodies', () => {
  // "Example: PUT Object" of the S3 streaming documentation: 66,560 bytes of 'a' in chunks of 65,536, 1,024 and 0.
  const SIGS = ['ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648', '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497', 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'];
  const headers = {
    host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'content-length': '66824',
  };
  const seed: SignedRequest = {
    method: 'PUT',
    url: '/examplebucket/chunkObject.txt',
    rawHeaders: [
      ...Object.entries(headers).flat(),
      'Authorization',
      auth('content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class', '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9'),
    ],
  };
  function body(corrupt: boolean): Buffer {
    const parts: Buffer[] = [];
    [65536, 1024, 0].forEach((size, i) => {
      const data = Buffer.alloc(size, 'a');
      if (corrupt && size === 1024) data[10] = 0x62;
      parts.push(Buffer.from(`${size.toString(16)};chunk-signature=${SIGS[i]}\r\n`), data, Buffer.from('\r\n'));
    });
    return Buffer.concat(parts);
  }
  /** The bytes in pieces of 1,000, so that chunk headers straddle reads. */
  async function* pieces(b: Buffer): AsyncGenerator<Buffer> {
    for (let i = 0; i < b.length; i += 1000) yield b.subarray(i, i + 1000);
  }
  async function read(b: Buffer): Promise<Buffer> {
    const sig = verifySignature(seed, secretFor, T);
    const out: Buffer[] = [];
    for await (const c of checkedBody(pieces(b), headers, sig).body) out.push(Buffer.from(c));
    return Buffer.concat(out);
  }

  it('decodes the documented upload and verifies its chunk signature chain', async () => {
    expect(body(false).length).toBe(66824);
    const got = await read(body(false));
    expect(got.equals(Buffer.alloc(66560, 'a'))).toBe(true);
  });

  it('refuses a chunk whose bytes do not match its signature, and a body cut short', async () => {
    await expect(read(body(true))).rejects.toMatchObject({ s3Code: 'SignatureDoesNotMatch' });
    await expect(read(body(false).subarray(0, 40_000))).rejects.toMatchObject({ s3Code: 'IncompleteBody' });
  });

  it('verifies the documented signed upload with a CRC32C trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)', async () => {
    const h = { ...headers, 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', 'x-amz-trailer': 'x-amz-checksum-crc32c' };
    const req: SignedRequest = {
      method: 'PUT',
      url: '/examplebucket/chunkObject.txt',
      rawHeaders: [
        ...Object.entries(h).flat(),
        'Authorization',
        auth('content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer', '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e'),
      ],
    };
    const framed = (trailerSig: string, crc = 'sOO8/Q==', extraCrlf = false): Buffer =>
      Buffer.concat([
        Buffer.from('10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n'),
        Buffer.alloc(65536, 'a'),
        Buffer.from('\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n'),
        Buffer.alloc(1024, 'a'),
        Buffer.from(`\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n${extraCrlf ? '\r\n' : ''}x-amz-checksum-crc32c:${crc}\r\nx-amz-trailer-signature:${trailerSig}\r\n\r\n`),
      ]);
    const good = 'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435';
    const run = async (b: Buffer): Promise<{ bytes: number; sums: Record<string, string> }> => {
      const sig = verifySignature(req, secretFor, T);
      const checked = checkedBody(pieces(b), h, sig);
      let bytes = 0;
      for await (const c of checked.body) bytes += c.byteLength;
      return { bytes, sums: checked.checksumHeaders() };
    };
    expect(await run(framed(good))).toEqual({ bytes: 66560, sums: { 'x-amz-checksum-crc32c': 'sOO8/Q==' } });
    expect((await run(framed(good, 'sOO8/Q==', true))).bytes).toBe(66560);
    await expect(run(framed('0'.repeat(64)))).rejects.toMatchObject({ s3Code: 'SignatureDoesNotMatch' });
    // A changed trailer breaks its signature before the checksum is even compared.
    await expect(run(framed(good, 'AAAAAA=='))).rejects.toMatchObject({ s3Code: 'SignatureDoesNotMatch' });
  });

  it('checks an unsigned trailer checksum and a plain body against its declared SHA-256 and Content-MD5', async () => {
    const sig = { ...verifySignature(seed, secretFor, T), payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' };
    const h = { 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': '11', 'content-encoding': 'aws-chunked' };
    const framed = (crc: string): Buffer => Buffer.from(`b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`);
    const drain = async (b: AsyncIterable<Uint8Array>): Promise<string> => {
      let s = '';
      for await (const c of b) s += Buffer.from(c).toString();
      return s;
    };
    const ok = checkedBody(pieces(framed('DUoRhQ==')), h, sig);
    expect(await drain(ok.body)).toBe('hello world');
    expect(ok.checksumHeaders()).toEqual({ 'x-amz-checksum-crc32': 'DUoRhQ==' });
    await expect(drain(checkedBody(pieces(framed('AAAAAA==')), h, sig).body)).rejects.toMatchObject({ s3Code: 'BadDigest' });

    const plain = { ...sig, payloadHash: 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9' };
    expect(await drain(checkedBody(pieces(Buffer.from('hello world')), {}, plain).body)).toBe('hello world');
    await expect(drain(checkedBody(pieces(Buffer.from('hello world!')), {}, plain).body)).rejects.toMatchObject({ s3Code: 'XAmzContentSHA256Mismatch' });
    const md5 = { 'content-md5': 'XrY7u+Ae7tCTyyK7j1rNww==' };
    expect(await drain(checkedBody(pieces(Buffer.from('hello world')), md5, { ...sig, payloadHash: 'UNSIGNED-PAYLOAD' }).body)).toBe('hello world');
    await expect(drain(checkedBody(pieces(Buffer.from('hello')), md5, { ...sig, payloadHash: 'UNSIGNED-PAYLOAD' }).body)).rejects.toMatchObject({ s3Code: 'BadDigest' });
    expect(() => checkedBody(pieces(Buffer.from('x')), { 'content-md5': 'nope' }, { ...sig, payloadHash: 'UNSIGNED-PAYLOAD' })).toThrow(/Content-MD5/);
  });
});
