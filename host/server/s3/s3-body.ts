// A request body as the object store should see it: aws-chunked framing decoded (chunk signatures and the trailer
// signature verified when the client signed them), and every digest the client declared checked as the bytes
// stream through — the x-amz-content-sha256 hash, Content-MD5, x-amz-checksum-* headers or trailers, the decoded
// length. A mismatch throws at the end of the stream, before the store makes the object durable, so a bad body is
// never stored. Nothing is buffered beyond one chunk-header line.
import { createHash, type Hash } from 'node:crypto';
import { S3Error } from './s3-errors.ts';
import { checksumHeaderAlgorithm, createChecksum, type Checksum, type ChecksumAlgorithm } from './checksums.ts';
import { chunkStringToSign, sha256Hex, sign, signaturesEqual, trailerStringToSign, UNSIGNED_PAYLOAD, type VerifiedSignature } from './sigv4.ts';

const SIGNED_STREAMING = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const SIGNED_STREAMING_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const UNSIGNED_STREAMING_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const MAX_LINE = 8 * 1024;

export interface CheckedBody {
  body: AsyncIterable<Uint8Array>;
  /** After the body was read: the x-amz-checksum-* values verified, to echo back as S3 does. */
  checksumHeaders(): Record<string, string>;
}

type Headers = Record<string, string | string[] | undefined>;
const one = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
};

/** Reads lines and counted bytes out of a stream of buffers. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Uint8Array>;
  private ended = false;
  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }
  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    const piece = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    this.buf = this.buf.length === 0 ? piece : Buffer.concat([this.buf, piece]);
    return true;
  }
  async line(): Promise<string> {
    for (;;) {
      const at = this.buf.indexOf('\r\n');
      if (at >= 0) {
        const line = this.buf.subarray(0, at).toString('latin1');
        this.buf = this.buf.subarray(at + 2);
        return line;
      }
      if (this.buf.length > MAX_LINE) throw new S3Error('InvalidRequest', 'aws-chunked body: a chunk header line is longer than 8 KiB');
      if (!(await this.fill())) throw new S3Error('IncompleteBody', 'aws-chunked body ended in the middle of a chunk header');
    }
  }
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) throw new S3Error('IncompleteBody', `aws-chunked body ended ${left} bytes before the end of a chunk`);
      const piece = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(piece.length);
      left -= piece.length;
      yield piece;
    }
  }
  async atEnd(): Promise<boolean> {
    while (this.buf.length === 0) if (!(await this.fill())) return true;
    return false;
  }
}

/** Decodes an aws-chunked body; `onData` sees each decoded piece, `onTrailer` the trailing headers. */
async function* decodeAwsChunked(source: AsyncIterable<Uint8Array>, sig: VerifiedSignature, signedChunks: boolean, signedTrailer: boolean, onTrailer: (trailers: Map<string, string>) => void): AsyncGenerator<Uint8Array> {
  const r = new ByteReader(source);
  let previous = sig.signature;
  for (;;) {
    const header = await r.line();
    const m = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}))?$/.exec(header);
    if (!m) throw new S3Error('InvalidRequest', `aws-chunked body: malformed chunk header ${JSON.stringify(header.slice(0, 100))}`);
    if (signedChunks && m[2] === undefined) throw new S3Error('SignatureDoesNotMatch', 'aws-chunked body: a chunk has no chunk-signature although the payload is declared signed');
    const size = parseInt(m[1]!, 16);
    const hash: Hash | null = signedChunks ? createHash('sha256') : null;
    for await (const piece of r.take(size)) {
      hash?.update(piece);
      yield piece;
    }
    if (signedChunks) {
      const expected = sign(sig.signingKey, chunkStringToSign(sig.amzDate, sig.scope, previous, hash!.digest('hex')));
      if (!signaturesEqual(expected, m[2]!)) throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided: a chunk signature of the aws-chunked body is wrong.');
      previous = m[2]!;
    }
    if (size === 0) break;
    if ((await r.line()) !== '') throw new S3Error('InvalidRequest', 'aws-chunked body: chunk data is not followed by CRLF');
  }
  // The trailing headers (name:value lines) up to an empty line; a signed trailer ends with x-amz-trailer-signature.
  const trailers = new Map<string, string>();
  let canonical = '';
  let trailerSignature: string | undefined;
  let first = true;
  while (!(await r.atEnd())) {
    const line = await r.line();
    // Some encoders close the zero-length chunk with its own CRLF before the trailer: an empty first line followed by
    // more data is that CRLF, not the end of the trailer.
    if (line === '' && first && !(await r.atEnd())) {
      first = false;
      continue;
    }
    first = false;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new S3Error('InvalidRequest', `aws-chunked body: malformed trailer ${JSON.stringify(line.slice(0, 100))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') trailerSignature = value;
    else {
      trailers.set(name, value);
      canonical += `${name}:${value}\n`;
    }
  }
  if (signedTrailer) {
    if (trailerSignature === undefined) throw new S3Error('SignatureDoesNotMatch', 'aws-chunked body: the trailer has no x-amz-trailer-signature although it is declared signed');
    const expected = sign(sig.signingKey, trailerStringToSign(sig.amzDate, sig.scope, previous, sha256Hex(canonical)));
    if (!signaturesEqual(expected, trailerSignature)) throw new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided: the trailer signature of the aws-chunked body is wrong.');
  }
  onTrailer(trailers);
}

/**
 * Wraps a request body for the object store. Throws at once for declarations that cannot be honoured (an unknown
 * payload mode, a malformed Content-MD5), and from the stream for a body that does not match them.
 */
export function checkedBody(raw: AsyncIterable<Uint8Array>, headers: Headers, sig: VerifiedSignature, options: { maxBytes?: number } = {}): CheckedBody {
  const mode = sig.payloadHash;
  const streaming = mode.startsWith('STREAMING-');
  if (streaming && mode !== SIGNED_STREAMING && mode !== SIGNED_STREAMING_TRAILER && mode !== UNSIGNED_STREAMING_TRAILER) {
    throw new S3Error('NotImplemented', `x-amz-content-sha256 ${mode} is not supported (supported: ${UNSIGNED_PAYLOAD}, a hex SHA-256, ${SIGNED_STREAMING}, ${SIGNED_STREAMING_TRAILER}, ${UNSIGNED_STREAMING_TRAILER})`);
  }
  if (!streaming && mode !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/.test(mode)) {
    throw new S3Error('InvalidArgument', `x-amz-content-sha256 must be ${UNSIGNED_PAYLOAD}, STREAMING-..., or a valid sha256 value; got ${JSON.stringify(mode)}`);
  }
  const trailerMode = mode === SIGNED_STREAMING_TRAILER || mode === UNSIGNED_STREAMING_TRAILER;

  // Checksums named in headers, and the one the trailer will carry.
  const expected = new Map<ChecksumAlgorithm, string | null>();
  for (const name of Object.keys(headers)) {
    if (!name.startsWith('x-amz-checksum-') || name === 'x-amz-checksum-algorithm' || name === 'x-amz-checksum-type' || name === 'x-amz-checksum-mode') continue;
    const algorithm = checksumHeaderAlgorithm(name);
    if (!algorithm) throw new S3Error('InvalidRequest', `${name} is not a checksum this endpoint knows (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256)`);
    expected.set(algorithm, one(headers, name)!);
  }
  let trailerAlgorithm: ChecksumAlgorithm | null = null;
  const trailerHeader = one(headers, 'x-amz-trailer');
  if (trailerHeader !== undefined) {
    if (!trailerMode) throw new S3Error('InvalidRequest', `x-amz-trailer is only allowed with x-amz-content-sha256 ${SIGNED_STREAMING_TRAILER} or ${UNSIGNED_STREAMING_TRAILER}`);
    trailerAlgorithm = checksumHeaderAlgorithm(trailerHeader.trim());
    if (!trailerAlgorithm) throw new S3Error('InvalidRequest', `x-amz-trailer ${JSON.stringify(trailerHeader)} names no checksum this endpoint knows (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256)`);
    if (!expected.has(trailerAlgorithm)) expected.set(trailerAlgorithm, null);
  }
  const md5Header = one(headers, 'content-md5');
  let md5: string | null = null;
  if (md5Header !== undefined) {
    const b = Buffer.from(md5Header, 'base64');
    if (b.length !== 16 || b.toString('base64') !== md5Header.trim()) throw new S3Error('InvalidDigest', `The Content-MD5 you specified is not valid: ${JSON.stringify(md5Header)} is not the base64 of 16 bytes`);
    md5 = md5Header.trim();
  }
  const decodedLengthHeader = one(headers, 'x-amz-decoded-content-length');
  const decodedLength = decodedLengthHeader === undefined ? null : Number(decodedLengthHeader);
  if (decodedLength !== null && !(Number.isSafeInteger(decodedLength) && decodedLength >= 0)) throw new S3Error('InvalidArgument', `x-amz-decoded-content-length must be a byte count, got ${JSON.stringify(decodedLengthHeader)}`);
  if (streaming && decodedLength === null) throw new S3Error('InvalidRequest', 'x-amz-decoded-content-length is required with an aws-chunked body (x-amz-content-sha256 STREAMING-...)');
  const contentLengthHeader = one(headers, 'content-length');
  const declaredLength = streaming ? decodedLength : contentLengthHeader === undefined ? null : Number(contentLengthHeader);
  if (options.maxBytes !== undefined && declaredLength !== null && declaredLength > options.maxBytes) {
    throw new S3Error('EntityTooLarge', `Your proposed upload (${declaredLength} bytes) exceeds the maximum allowed object size (${options.maxBytes} bytes)`);
  }

  const sums = new Map<ChecksumAlgorithm, Checksum>([...expected.keys()].map((a) => [a, createChecksum(a)]));
  const md5Hash = md5 !== null ? createHash('md5') : null;
  const sha = !streaming && mode !== UNSIGNED_PAYLOAD ? createHash('sha256') : null;
  let trailers = new Map<string, string>();
  const verified: Record<string, string> = {};

  async function* body(): AsyncGenerator<Uint8Array> {
    const data = streaming ? decodeAwsChunked(raw, sig, mode !== UNSIGNED_STREAMING_TRAILER, mode === SIGNED_STREAMING_TRAILER, (t) => (trailers = t)) : raw;
    let size = 0;
    for await (const chunk of data) {
      size += chunk.byteLength;
      if (options.maxBytes !== undefined && size > options.maxBytes) throw new S3Error('EntityTooLarge', `Your proposed upload exceeds the maximum allowed size (${options.maxBytes} bytes)`);
      for (const s of sums.values()) s.update(chunk);
      md5Hash?.update(chunk);
      sha?.update(chunk);
      yield chunk;
    }
    if (declaredLength !== null && size !== declaredLength) {
      throw new S3Error('IncompleteBody', `You did not provide the number of bytes specified by the ${streaming ? 'x-amz-decoded-content-length' : 'Content-Length'} HTTP header (${declaredLength}); the body had ${size}`);
    }
    if (sha && sha.digest('hex') !== mode) throw new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    if (md5Hash && md5Hash.digest('base64') !== md5) throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    for (const [algorithm, want] of expected) {
      const header = `x-amz-checksum-${algorithm}`;
      const value = want ?? trailers.get(header);
      if (value === undefined) throw new S3Error('InvalidRequest', `x-amz-trailer names ${header} but the body's trailer does not carry it`);
      const got = sums.get(algorithm)!.digest();
      if (got !== value) throw new S3Error('BadDigest', `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum (${got}).`);
      verified[header] = got;
    }
  }
  return { body: body(), checksumHeaders: () => verified };
}

/** Reads a small request body (an XML document) whole, verified like any other; bigger than `max` is refused. */
export async function readSmallBody(checked: CheckedBody, max: number): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of checked.body) {
    size += chunk.byteLength;
    if (size > max) throw new S3Error('MalformedXML', `The XML you provided is larger than ${max} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}
