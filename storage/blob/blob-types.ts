// What an object-store backend (R2) offers the host, whatever it is built on, and R2's rules every backend enforces.
import type { Readable } from 'node:stream';

export interface HttpMetadata {
  contentType?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  cacheControl?: string;
  /** ms since the epoch */
  cacheExpiry?: number;
}

export type ChecksumName = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512';

export interface ObjectMeta {
  key: string;
  /** A new random id for every write of the key. */
  version: string;
  size: number;
  /** Hex MD5 of the bytes; for a multipart object, MD5 of the parts' binary MD5s + "-<parts>" (as S3 and R2). */
  etag: string;
  /** ms since the epoch */
  uploaded: number;
  httpMetadata: HttpMetadata;
  customMetadata: Record<string, string>;
  /** Hex digests known for the object (md5 for single puts; those given with the put). */
  checksums: Partial<Record<ChecksumName, string>>;
  /** The body's files, in order (one for a put, one per part for a multipart upload). */
  parts: Array<{ file: string; size: number }>;
}

/** R2's `onlyIf`: all given conditions must hold. */
export interface Conditional {
  etagMatches?: string;
  etagDoesNotMatch?: string;
  /** ms since the epoch */
  uploadedBefore?: number;
  uploadedAfter?: number;
  /** Compare upload times to the second (as HTTP dates do). */
  secondsGranularity?: boolean;
}

export type RangeSpec = { offset?: number; length?: number } | { suffix: number };

export interface PutOptions {
  httpMetadata?: HttpMetadata;
  customMetadata?: Record<string, string>;
  /** Expected digests (hex): the put fails with checksum-mismatch when the bytes differ. */
  checksums?: Partial<Record<ChecksumName, string>>;
  onlyIf?: Conditional;
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  cursor?: string;
  startAfter?: string;
  /** 1-1000, default 1000 */
  limit?: number;
}

export interface ListResult {
  objects: ObjectMeta[];
  delimitedPrefixes: string[];
  truncated: boolean;
  cursor?: string;
}

export interface GetResult {
  meta: ObjectMeta;
  /** null when `onlyIf` did not hold (R2 then returns the object's metadata without a body). */
  body: Readable | null;
  /** The bytes `body` carries. */
  range: { offset: number; length: number };
}

export type BodySource = Uint8Array | AsyncIterable<Uint8Array> | null;

export interface BlobStore {
  head(bucket: string, key: string): Promise<ObjectMeta | null>;
  get(bucket: string, key: string, options?: { range?: RangeSpec; onlyIf?: Conditional }): Promise<GetResult | null>;
  /** Resolves once the object is durable; null when `onlyIf` did not hold. */
  put(bucket: string, key: string, body: BodySource, options?: PutOptions): Promise<ObjectMeta | null>;
  delete(bucket: string, keys: string[]): Promise<void>;
  list(bucket: string, options?: ListOptions): Promise<ListResult>;
  createMultipartUpload(bucket: string, key: string, options?: { httpMetadata?: HttpMetadata; customMetadata?: Record<string, string> }): Promise<string>;
  uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: BodySource): Promise<{ partNumber: number; etag: string }>;
  completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>): Promise<ObjectMeta>;
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  close(): Promise<void>;
}

export const BLOB_LIMITS = Object.freeze({
  keyBytes: 1024,
  customMetadataBytes: 2048,
  listLimit: 1000,
  minPartBytes: 5 * 1024 * 1024,
  maxPartBytes: 5 * 1024 * 1024 * 1024,
  maxParts: 10_000,
});

/** Codes follow the blob WIT interface's error cases (wit/blob.wit), plus invalid-part and precondition. */
export type BlobErrorCode = 'invalid-key' | 'invalid-range' | 'checksum-mismatch' | 'no-such-upload' | 'invalid-part' | 'invalid-argument' | 'internal';

export class BlobError extends Error {
  readonly blobCode: BlobErrorCode;
  constructor(code: BlobErrorCode, message: string) {
    super(message);
    this.blobCode = code;
  }
}

export function validateObjectKey(key: string): void {
  if (typeof key !== 'string' || key === '') throw new BlobError('invalid-key', 'an object key must be a non-empty string');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > BLOB_LIMITS.keyBytes) throw new BlobError('invalid-key', `object keys are at most ${BLOB_LIMITS.keyBytes} bytes of UTF-8; this one is ${bytes} bytes`);
}

/** Whether `onlyIf` holds for `meta` (R2 semantics: every condition given must hold). */
export function conditionHolds(meta: ObjectMeta, c: Conditional | undefined): boolean {
  if (!c) return true;
  const strip = (e: string): string => e.replace(/^W\//, '').replace(/^"|"$/g, '');
  const matches = (list: string): boolean => list.split(',').some((e) => e.trim() === '*' || strip(e.trim()) === meta.etag);
  const time = (ms: number): number => (c.secondsGranularity ? Math.floor(ms / 1000) : ms);
  if (c.etagMatches !== undefined && !matches(c.etagMatches)) return false;
  if (c.etagDoesNotMatch !== undefined && matches(c.etagDoesNotMatch)) return false;
  if (c.uploadedBefore !== undefined && !(time(meta.uploaded) < time(c.uploadedBefore))) return false;
  if (c.uploadedAfter !== undefined && !(time(meta.uploaded) > time(c.uploadedAfter))) return false;
  return true;
}

/** Resolves a range against an object of `size` bytes; throws invalid-range when it cannot be satisfied. */
export function resolveRange(range: RangeSpec | undefined, size: number): { offset: number; length: number } {
  if (!range) return { offset: 0, length: size };
  const whole = (n: number, what: string): number => {
    if (!Number.isInteger(n) || n < 0) throw new BlobError('invalid-range', `range ${what} must be a non-negative integer, got ${n}`);
    return n;
  };
  if ('suffix' in range) {
    const n = whole(range.suffix, 'suffix');
    const length = Math.min(n, size);
    return { offset: size - length, length };
  }
  const offset = whole(range.offset ?? 0, 'offset');
  if (offset > size || (offset === size && size > 0)) throw new BlobError('invalid-range', `range offset ${offset} is past the end of the ${size}-byte object`);
  const length = range.length === undefined ? size - offset : Math.min(whole(range.length, 'length'), size - offset);
  return { offset, length };
}
