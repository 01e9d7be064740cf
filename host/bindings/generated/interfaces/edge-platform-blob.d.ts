/** @module Interface edge:platform/blob@0.1.0 **/
export type Error = ErrorNotGranted | ErrorInvalidKey | ErrorInvalidRange | ErrorChecksumMismatch | ErrorNoSuchUpload | ErrorInvalidPart | ErrorInvalidArgument | ErrorInternal;
/**
 * The manifest grants no bucket under this binding name (`r2_buckets`).
 */
export interface ErrorNotGranted {
  tag: 'not-granted',
  val: string,
}
/**
 * Keys are at most 1024 bytes of UTF-8.
 */
export interface ErrorInvalidKey {
  tag: 'invalid-key',
  val: string,
}
export interface ErrorInvalidRange {
  tag: 'invalid-range',
  val: string,
}
/**
 * A checksum given with a put (`md5`, `sha1`, `sha256`, `sha384`, `sha512`) does not match the bytes received;
 * which one.
 */
export interface ErrorChecksumMismatch {
  tag: 'checksum-mismatch',
  val: string,
}
/**
 * A multipart upload that does not exist (any more).
 */
export interface ErrorNoSuchUpload {
  tag: 'no-such-upload',
  val: string,
}
/**
 * A part that cannot be uploaded or completed: a bad part number, a part over 5 GiB, a part other than the
 * last under 5 MiB, an etag that does not match, parts out of order.
 */
export interface ErrorInvalidPart {
  tag: 'invalid-part',
  val: string,
}
/**
 * Any other argument R2 refuses: custom metadata over 2 KiB, a list limit outside 1-1000, a bad cursor.
 */
export interface ErrorInvalidArgument {
  tag: 'invalid-argument',
  val: string,
}
export interface ErrorInternal {
  tag: 'internal',
  val: string,
}
export interface HttpMetadata {
  contentType?: string,
  contentLanguage?: string,
  contentDisposition?: string,
  contentEncoding?: string,
  cacheControl?: string,
  /**
   * Milliseconds since the Unix epoch.
   */
  cacheExpiry?: bigint,
}
/**
 * Digests of an object's bytes, raw: the md5 of every single put (none for a multipart object), and those given
 * with the put that stored it.
 */
export interface Checksums {
  md5?: Uint8Array,
  sha1?: Uint8Array,
  sha256?: Uint8Array,
  sha384?: Uint8Array,
  sha512?: Uint8Array,
}
export interface ObjectInfo {
  key: string,
  version: string,
  size: bigint,
  etag: string,
  /**
   * Milliseconds since the Unix epoch.
   */
  uploaded: bigint,
  httpMetadata: HttpMetadata,
  customMetadata: Array<[string, string]>,
  checksums: Checksums,
}
/**
 * Conditions on the stored object's etag and upload time, as in R2's `onlyIf`.
 */
export interface Conditions {
  etagMatches?: string,
  etagDoesNotMatch?: string,
  uploadedBefore?: bigint,
  uploadedAfter?: bigint,
  /**
   * Compare upload times to the second, as HTTP dates do (`If-Modified-Since`, `If-Unmodified-Since`).
   */
  secondsGranularity: boolean,
}
export type Range = RangeOffset | RangeSuffix;
/**
 * (offset, length): `length` bytes from `offset`, to the end when `none`.
 */
export interface RangeOffset {
  tag: 'offset',
  val: [bigint, bigint | undefined],
}
/**
 * The last so many bytes.
 */
export interface RangeSuffix {
  tag: 'suffix',
  val: bigint,
}
export interface GetOptions {
  range?: Range,
  onlyIf?: Conditions,
}
/**
 * The bytes a body carries: `length` bytes from `offset` of the object.
 */
export interface ByteRange {
  offset: bigint,
  length: bigint,
}
export type GetResult = GetResultNotFound | GetResultPreconditionFailed | GetResultFound;
export interface GetResultNotFound {
  tag: 'not-found',
}
/**
 * The object exists but `only-if` did not hold: its metadata, no body.
 */
export interface GetResultPreconditionFailed {
  tag: 'precondition-failed',
  val: ObjectInfo,
}
export interface GetResultFound {
  tag: 'found',
  val: [ObjectInfo, ObjectBody],
}
/**
 * An object found by `get-content`: its metadata, the range its body carries, and the body's first bytes.
 */
export interface ObjectContent {
  info: ObjectInfo,
  /**
   * The range asked for, resolved against the object's size; all of the object without one.
   */
  range: ByteRange,
  /**
   * The body's first bytes: `first-bytes` of them, fewer only when the body is shorter.
   */
  first: Uint8Array,
  /**
   * The rest of the body; `none` when `first` holds all of it.
   */
  rest?: ObjectBody,
}
export type ContentResult = ContentResultNotFound | ContentResultPreconditionFailed | ContentResultFound;
export interface ContentResultNotFound {
  tag: 'not-found',
}
/**
 * The object exists but `only-if` did not hold: its metadata, no body.
 */
export interface ContentResultPreconditionFailed {
  tag: 'precondition-failed',
  val: ObjectInfo,
}
export interface ContentResultFound {
  tag: 'found',
  val: ObjectContent,
}
export interface PutOptions {
  httpMetadata?: HttpMetadata,
  customMetadata: Array<[string, string]>,
  /**
   * Digests the bytes must have: the put fails with `checksum-mismatch` when they differ.
   */
  md5?: Uint8Array,
  sha256?: Uint8Array,
  onlyIf?: Conditions,
  sha1?: Uint8Array,
  sha384?: Uint8Array,
  sha512?: Uint8Array,
}
export interface ListOptions {
  prefix?: string,
  delimiter?: string,
  cursor?: string,
  startAfter?: string,
  /**
   * At most 1000 (the default).
   */
  limit?: number,
  includeHttpMetadata: boolean,
  includeCustomMetadata: boolean,
}
export interface ListResult {
  objects: Array<ObjectInfo>,
  delimitedPrefixes: Array<string>,
  truncated: boolean,
  cursor?: string,
}
export interface UploadedPart {
  partNumber: number,
  etag: string,
}

export class Bucket {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  /**
  * The bucket bound as `binding` in the manifest.
  */
  static open(binding: string): Bucket;
  head(key: string): ObjectInfo | undefined;
  get(key: string, options: GetOptions): GetResult;
  /**
  * `get`, answering with the range served and the body's first `first-bytes` bytes (at most 1 MiB on this host):
  * a small object in one call, without an `object-body` to read.
  */
  getContent(key: string, options: GetOptions, firstBytes: number): ContentResult;
  /**
  * Stores `value` whole; `none` when `only-if` did not hold.
  */
  put(key: string, value: Uint8Array, options: PutOptions): ObjectInfo | undefined;
  /**
  * Starts a put whose body is written in chunks.
  */
  beginPut(key: string, options: PutOptions): ObjectWriter;
  'delete'(keys: Array<string>): void;
  list(options: ListOptions): ListResult;
  createMultipartUpload(key: string, options: PutOptions): MultipartUpload;
  resumeMultipartUpload(key: string, uploadId: string): MultipartUpload;
}

export class MultipartUpload {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  key(): string;
  uploadId(): string;
  uploadPart(partNumber: number, value: Uint8Array): UploadedPart;
  /**
  * Starts an upload of part `part-number` whose bytes are written in chunks.
  */
  beginPart(partNumber: number): PartWriter;
  complete(parts: Array<UploadedPart>): ObjectInfo;
  abort(): void;
}

export class ObjectBody {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  /**
  * At most `max` bytes (this host gives at most 1 MiB per call); `none` at the end. Dropping the body before the
  * end stops the read.
  */
  read(max: number): Uint8Array | undefined;
}

export class ObjectWriter {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  write(chunk: Uint8Array): void;
  /**
  * `none` when `only-if` did not hold (nothing stored). Writes after it fail; drop the writer afterwards.
  */
  finish(): ObjectInfo | undefined;
}

export class PartWriter {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  write(chunk: Uint8Array): void;
  /**
  * Writes after it fail; drop the writer afterwards.
  */
  finish(): UploadedPart;
}
