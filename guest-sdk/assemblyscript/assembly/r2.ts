// @ts-nocheck: AssemblyScript, compiled by asc, not by tsc.
// R2 for AssemblyScript workers: `import { R2Bucket } from "@edge/guest/r2"`, then `R2Bucket.open("MY_BUCKET")` for a
// bucket the manifest binds in `r2_buckets`. The same host implementation and rules as JS workers' env.MY_BUCKET:
// head, get (ranges, onlyIf), put (whole or streamed in chunks, HTTP and custom metadata, md5/sha1/sha256/sha384/sha512
// checks),
// delete, list (prefix, delimiter, cursor), multipart uploads. Bodies stream: an object is read chunk by chunk with
// `read(max)` and a streamed put writes chunk by chunk, so neither needs the whole object in the guest's memory.
// Calls are synchronous for the guest. A failure (a key over 1024 bytes, a range past the end, a checksum that does
// not match, an unknown upload, ...) is logged with its reason and traps, ending the request with a 500 that
// `edge tail` shows. (A missing object is no failure: `head`/`get` return null.)

import { concatBytes } from "./bytes";
import {
  Box,
  Bucket,
  BlobError,
  BlobListOptions,
  BlobPutOptions,
  Conditions,
  GetOptions,
  GetResult,
  HttpMetadata,
  MultipartUpload,
  ObjectBody,
  ObjectInfo,
  ObjectWriter,
  Range,
  TupleStringString,
  TupleU64OptionU64,
  UploadedPart,
} from "./bindings";
import { console } from "./console";
import { Headers } from "./headers";
import { utf8Decode, utf8Encode } from "./utf8";

/** Default size of `read` chunks. */
export const R2_CHUNK: u32 = 64 * 1024;

function describe(e: BlobError): string {
  if (e.tag == BlobError.NOT_GRANTED) return "no R2 bucket is bound as \"" + e.asNotGranted + "\" (r2_buckets in wrangler.toml)";
  if (e.tag == BlobError.INVALID_KEY) return "invalid key: " + e.asInvalidKey;
  if (e.tag == BlobError.INVALID_RANGE) return "invalid range: " + e.asInvalidRange;
  if (e.tag == BlobError.CHECKSUM_MISMATCH) return "checksum mismatch: " + e.asChecksumMismatch;
  if (e.tag == BlobError.NO_SUCH_UPLOAD) return "no such upload: " + e.asNoSuchUpload;
  if (e.tag == BlobError.INVALID_PART) return "invalid part: " + e.asInvalidPart;
  if (e.tag == BlobError.INVALID_ARGUMENT) return "invalid argument: " + e.asInvalidArgument;
  return "internal: " + e.asInternal;
}

function fail(op: string, e: BlobError): void {
  const message = "R2 " + op + " failed: " + describe(e);
  console.error(message);
  throw new Error(message);
}

/** An object's HTTP metadata (what `writeHttpMetadata` puts into response headers). `null` / 0: not set. */
export class R2HttpMetadata {
  contentType: string | null = null;
  contentLanguage: string | null = null;
  contentDisposition: string | null = null;
  contentEncoding: string | null = null;
  cacheControl: string | null = null;
  /** Milliseconds since the epoch; 0 = not set. */
  cacheExpiry: u64 = 0;

  /**
   * From request headers, as R2 does for `httpMetadata: request.headers`: Content-Type, Content-Language,
   * Content-Disposition, Content-Encoding, Cache-Control, and Expires (an HTTP date) as `cacheExpiry`.
   */
  static fromHeaders(headers: Headers): R2HttpMetadata {
    const m = new R2HttpMetadata();
    m.contentType = headers.get("content-type");
    m.contentLanguage = headers.get("content-language");
    m.contentDisposition = headers.get("content-disposition");
    m.contentEncoding = headers.get("content-encoding");
    m.cacheControl = headers.get("cache-control");
    const expires = headers.get("expires");
    if (expires != null) m.cacheExpiry = parseHttpDate(expires);
    return m;
  }

  /** Sets the headers a response serving the object carries (Workers' `object.writeHttpMetadata(headers)`). */
  writeHeaders(headers: Headers): void {
    const contentType = this.contentType;
    if (contentType != null) headers.set("content-type", contentType);
    const contentLanguage = this.contentLanguage;
    if (contentLanguage != null) headers.set("content-language", contentLanguage);
    const contentDisposition = this.contentDisposition;
    if (contentDisposition != null) headers.set("content-disposition", contentDisposition);
    const contentEncoding = this.contentEncoding;
    if (contentEncoding != null) headers.set("content-encoding", contentEncoding);
    const cacheControl = this.cacheControl;
    if (cacheControl != null) headers.set("cache-control", cacheControl);
    if (this.cacheExpiry > 0) headers.set("expires", new Date(<i64>this.cacheExpiry).toUTCString());
  }

  static __from(h: HttpMetadata): R2HttpMetadata {
    const m = new R2HttpMetadata();
    m.contentType = h.contentType;
    m.contentLanguage = h.contentLanguage;
    m.contentDisposition = h.contentDisposition;
    m.contentEncoding = h.contentEncoding;
    m.cacheControl = h.cacheControl;
    const expiry = h.cacheExpiry;
    if (expiry != null) m.cacheExpiry = expiry.value;
    return m;
  }

  __wit(): HttpMetadata {
    return new HttpMetadata(this.contentType, this.contentLanguage, this.contentDisposition, this.contentEncoding, this.cacheControl, this.cacheExpiry > 0 ? new Box<u64>(this.cacheExpiry) : null);
  }
}

const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

function number(s: string, at: i32, n: i32): i32 {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, what HTTP date headers carry) in ms since the epoch; 0 if not one. */
export function parseHttpDate(value: string): u64 {
  const s = value.trim();
  if (s.length != 29 || s.charAt(3) != "," || !s.endsWith(" GMT")) return 0;
  const day = number(s, 5, 2);
  const month = MONTHS.indexOf(s.substr(8, 3));
  const year = number(s, 12, 4);
  const hour = number(s, 17, 2);
  const minute = number(s, 20, 2);
  const second = number(s, 23, 2);
  if (day < 1 || day > 31 || month < 0 || month % 3 != 0 || year < 1970 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return 0;
  return <u64>Date.UTC(year, month / 3, day, hour, minute, second, 0);
}

/**
 * Bytes of an object. Ask with `R2Range.offset(o, n)` (n bytes from o; to the end with `R2Range.from(o)`) or
 * `R2Range.suffix(n)` (the last n); a ranged `get` answers with the range it serves as `offset`/`length`.
 */
export class R2Range {
  isSuffix: bool = false;
  offset: u64 = 0;
  /** -1: to the end. */
  length: i64 = -1;
  suffix: u64 = 0;

  static offset(offset: u64, length: u64): R2Range {
    const r = new R2Range();
    r.offset = offset;
    r.length = <i64>length;
    return r;
  }

  static from(offset: u64): R2Range {
    const r = new R2Range();
    r.offset = offset;
    return r;
  }

  static suffix(n: u64): R2Range {
    const r = new R2Range();
    r.isSuffix = true;
    r.suffix = n;
    return r;
  }

  /**
   * An HTTP `Range` header of one byte range (`bytes=0-99`, `bytes=100-`, `bytes=-500`), as R2 accepts
   * `range: request.headers`; `null` when it is not one (several ranges, other units, malformed).
   */
  static fromHeader(value: string): R2Range | null {
    const v = value.trim();
    if (!v.toLowerCase().startsWith("bytes=")) return null;
    const spec = v.substring(6).trim();
    const dash = spec.indexOf("-");
    if (dash < 0 || spec.indexOf(",") >= 0) return null;
    const first = spec.substring(0, dash).trim();
    const last = spec.substring(dash + 1).trim();
    if (!digits(first) || !digits(last) || (first.length == 0 && last.length == 0)) return null;
    if (first.length == 0) return R2Range.suffix(U64.parseInt(last));
    const start = U64.parseInt(first);
    if (last.length == 0) return R2Range.from(start);
    const end = U64.parseInt(last);
    if (end < start) return null;
    return R2Range.offset(start, end - start + 1);
  }

  /** The range served for an object of `size` bytes (R2's rules: a length past the end is cut at the end). */
  __resolve(size: u64): R2Range {
    if (this.isSuffix) {
      const n = this.suffix < size ? this.suffix : size;
      return R2Range.offset(size - n, n);
    }
    const rest = size - this.offset;
    const n: u64 = this.length < 0 || <u64>this.length > rest ? rest : <u64>this.length;
    return R2Range.offset(this.offset, n);
  }

  __wit(): Range {
    if (this.isSuffix) return Range.suffix(this.suffix);
    return Range.offset(new TupleU64OptionU64(this.offset, this.length < 0 ? null : new Box<u64>(<u64>this.length)));
  }
}

function digits(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** R2's `onlyIf`: every condition set must hold. Times in ms since the epoch, 0 = not set. */
export class R2Conditions {
  etagMatches: string | null = null;
  etagDoesNotMatch: string | null = null;
  uploadedBefore: u64 = 0;
  uploadedAfter: u64 = 0;
  /** Compare upload times to the second, as HTTP dates (If-Modified-Since, If-Unmodified-Since) do. */
  secondsGranularity: bool = false;

  __wit(): Conditions {
    return new Conditions(this.etagMatches, this.etagDoesNotMatch, this.uploadedBefore > 0 ? new Box<u64>(this.uploadedBefore) : null, this.uploadedAfter > 0 ? new Box<u64>(this.uploadedAfter) : null, this.secondsGranularity);
  }
}

/** What a put stores besides the bytes, and its checks. */
export class R2PutOptions {
  httpMetadata: R2HttpMetadata | null = null;
  /** At most 2 KiB of names and values. */
  customMetadata: Map<string, string> | null = null;
  /** The MD5 (16 bytes) the bytes must have; the put fails (checksum mismatch) when they differ. */
  md5: Uint8Array | null = null;
  /** The SHA-256 (32 bytes) the bytes must have. */
  sha256: Uint8Array | null = null;
  /** The SHA-1 (20 bytes), SHA-384 (48) and SHA-512 (64) the bytes must have. */
  sha1: Uint8Array | null = null;
  sha384: Uint8Array | null = null;
  sha512: Uint8Array | null = null;
  /** Store only if these hold; the put then returns null. */
  onlyIf: R2Conditions | null = null;

  __wit(): BlobPutOptions {
    const http = this.httpMetadata;
    const onlyIf = this.onlyIf;
    return new BlobPutOptions(http != null ? http.__wit() : null, metadataList(this.customMetadata), this.md5, this.sha256, onlyIf != null ? onlyIf.__wit() : null, this.sha1, this.sha384, this.sha512);
  }
}

function metadataList(m: Map<string, string> | null): Array<TupleStringString> {
  const out = new Array<TupleStringString>();
  if (m == null) return out;
  const keys = m.keys();
  for (let i = 0; i < keys.length; i++) out.push(new TupleStringString(keys[i], m.get(keys[i])));
  return out;
}

/** An object's metadata (what `head`, `put` and `list` return). */
export class R2Object {
  key: string;
  /** A new id for every write of the key. */
  version: string;
  size: u64;
  /** Hex MD5 of the bytes (of the parts' MD5s with "-<parts>" for multipart objects). */
  etag: string;
  /** Milliseconds since the epoch. */
  uploaded: u64;
  httpMetadata: R2HttpMetadata;
  customMetadata: Map<string, string>;

  constructor(info: ObjectInfo) {
    this.key = info.key;
    this.version = info.version;
    this.size = info.size;
    this.etag = info.etag;
    this.uploaded = info.uploaded;
    this.httpMetadata = R2HttpMetadata.__from(info.httpMetadata);
    this.customMetadata = new Map<string, string>();
    for (let i = 0; i < info.customMetadata.length; i++) this.customMetadata.set(info.customMetadata[i].f0, info.customMetadata[i].f1);
  }

  /** The etag quoted, as an ETag header carries it. */
  get httpEtag(): string {
    return "\"" + this.etag + "\"";
  }

  /** The upload time as an ISO 8601 string (`2026-11-27T12:00:00.000Z`, as JS's `uploaded.toISOString()`). */
  get uploadedIso(): string {
    return new Date(<i64>this.uploaded).toISOString();
  }

  /** Sets content-type and the other HTTP metadata on `headers`. */
  writeHttpMetadata(headers: Headers): void {
    this.httpMetadata.writeHeaders(headers);
  }
}

/**
 * An object from `get`: its metadata and its bytes, read in chunks from the host. `hasBody` is false when `onlyIf`
 * did not hold (R2 then answers with the metadata only; reads return null). Read it to the end, or `close()` it.
 */
export class R2ObjectBody extends R2Object {
  /** The bytes the body carries (the whole object unless a range was asked for). */
  range: R2Range;
  /** Whether a range was asked for (answer 206 with Content-Range). */
  ranged: bool;
  /** False when `onlyIf` did not hold: the metadata only (answer 304 or 412). */
  hasBody: bool;
  private body: ObjectBody | null;

  constructor(info: ObjectInfo, body: ObjectBody | null, range: R2Range | null) {
    super(info);
    this.body = body;
    this.hasBody = body != null;
    this.ranged = range != null;
    this.range = range != null ? range.__resolve(info.size) : R2Range.offset(0, info.size);
  }


  /** At most `max` bytes (the host gives at most 1 MiB per read), or null at the end (the body is then closed). */
  read(max: u32 = R2_CHUNK): Uint8Array | null {
    const body = this.body;
    if (body == null) return null;
    const r = body.read(max);
    if (!r.isOk) fail("GET (read)", r.error);
    const chunk = r.value;
    if (chunk == null) this.close();
    return chunk;
  }

  /** The rest of the bytes, read to the end. */
  bytes(): Uint8Array {
    const chunks = new Array<Uint8Array>();
    let total = 0;
    while (true) {
      const next = this.read(1024 * 1024);
      if (next == null) break;
      const chunk = next;
      chunks.push(chunk);
      total += chunk.length;
    }
    return concatBytes(chunks, total);
  }

  /** The rest of the bytes as UTF-8 text. */
  text(): string {
    return utf8Decode(this.bytes());
  }

  /** Gives the body back to the host (reads then return null); done by itself at the end. */
  close(): void {
    const body = this.body;
    if (body != null) {
      this.body = null;
      body.drop();
    }
  }
}

/** A put whose bytes are written in chunks (`R2Bucket.beginPut`); `finish()` stores the object. */
export class R2Writer {
  private writer: ObjectWriter | null;
  readonly key: string;

  constructor(key: string, writer: ObjectWriter) {
    this.key = key;
    this.writer = writer;
  }

  /** Sends `chunk` to the store; returns once the store has taken it. */
  write(chunk: Uint8Array): void {
    const w = this.writer;
    if (w == null) {
      const message = "R2 PUT failed: write to " + this.key + " after finish or abort";
      console.error(message);
      throw new Error(message);
    }
    const r = w.write(chunk);
    if (!r.isOk) fail("PUT " + this.key, r.error);
  }

  writeText(text: string): void {
    this.write(utf8Encode(text));
  }

  /** Ends the body and stores the object atomically; null when `onlyIf` did not hold (nothing stored). */
  finish(): R2Object | null {
    const w = this.writer;
    if (w == null) {
      const message = "R2 PUT failed: finish of " + this.key + " after finish or abort";
      console.error(message);
      throw new Error(message);
    }
    this.writer = null;
    const r = w.finish();
    w.drop();
    if (!r.isOk) fail("PUT " + this.key, r.error);
    const info = r.value;
    return info == null ? null : new R2Object(info);
  }

  /** Gives up: nothing is stored. */
  abort(): void {
    const w = this.writer;
    if (w != null) {
      this.writer = null;
      w.drop();
    }
  }
}

/** A part uploaded to a multipart upload: what `complete` takes, in order. */
export class R2UploadedPart {
  constructor(public partNumber: u32, public etag: string) {}
}

/** A multipart upload (`createMultipartUpload` / `resumeMultipartUpload`). */
export class R2MultipartUpload {
  readonly key: string;
  readonly uploadId: string;
  private upload: MultipartUpload | null;

  constructor(upload: MultipartUpload) {
    this.upload = upload;
    this.key = upload.key();
    this.uploadId = upload.uploadId();
  }

  private handle(op: string): MultipartUpload {
    const u = this.upload;
    if (u == null) {
      const message = "R2 " + op + " failed: the upload " + this.uploadId + " was closed";
      console.error(message);
      throw new Error(message);
    }
    return u;
  }

  /** Part `partNumber` (1-10000); every part but the last at least 5 MiB, all but the last the same size. */
  uploadPart(partNumber: u32, value: Uint8Array): R2UploadedPart {
    const r = this.handle("uploadPart").uploadPart(partNumber, value);
    if (!r.isOk) fail("uploadPart " + partNumber.toString() + " of " + this.key, r.error);
    return new R2UploadedPart(r.value.partNumber, r.value.etag);
  }

  /** Makes the object of `parts` (in ascending part-number order). */
  complete(parts: Array<R2UploadedPart>): R2Object {
    const list = new Array<UploadedPart>(parts.length);
    for (let i = 0; i < parts.length; i++) list[i] = new UploadedPart(parts[i].partNumber, parts[i].etag);
    const r = this.handle("complete").complete(list);
    if (!r.isOk) fail("completeMultipartUpload of " + this.key, r.error);
    this.close();
    return new R2Object(r.value);
  }

  /** Discards the upload and its parts. */
  abort(): void {
    const r = this.handle("abort").abort();
    if (!r.isOk) fail("abortMultipartUpload of " + this.key, r.error);
    this.close();
  }

  /** Gives the handle back to the host (the upload itself stays; resume it by id). */
  close(): void {
    const u = this.upload;
    if (u != null) {
      this.upload = null;
      u.drop();
    }
  }
}

/** What `list` takes. */
export class R2ListOptions {
  prefix: string | null = null;
  delimiter: string | null = null;
  cursor: string | null = null;
  startAfter: string | null = null;
  /** 1-1000. */
  limit: u32 = 1000;
  /** Fill `httpMetadata` / `customMetadata` of the listed objects (left empty otherwise, as R2 does). */
  includeHttpMetadata: bool = false;
  includeCustomMetadata: bool = false;
}

export class R2Objects {
  constructor(public objects: Array<R2Object>, public delimitedPrefixes: Array<string>, public truncated: bool, public cursor: string | null) {}
}

export class R2Bucket {
  private constructor(private bucket: Bucket, readonly binding: string) {}

  /** The bucket bound as `binding` (deploy refuses a component whose manifest binds none, so this holds). */
  static open(binding: string): R2Bucket {
    const r = Bucket.open(binding);
    if (!r.isOk) fail("open", r.error);
    return new R2Bucket(r.value, binding);
  }

  /** The object's metadata, or null when there is none. */
  head(key: string): R2Object | null {
    const r = this.bucket.head(key);
    if (!r.isOk) fail("HEAD " + key, r.error);
    const info = r.value;
    return info == null ? null : new R2Object(info);
  }

  /**
   * The object with its body, or null when there is none. With `range`, the body carries those bytes (`range`
   * then says which); with `onlyIf` that does not hold, the object comes without a body (`hasBody` false).
   */
  get(key: string, range: R2Range | null = null, onlyIf: R2Conditions | null = null): R2ObjectBody | null {
    const r = this.bucket.get(key, new GetOptions(range != null ? range.__wit() : null, onlyIf != null ? onlyIf.__wit() : null));
    if (!r.isOk) fail("GET " + key, r.error);
    const g = r.value;
    if (g.tag == GetResult.NOT_FOUND) return null;
    if (g.tag == GetResult.PRECONDITION_FAILED) {
      return new R2ObjectBody(g.asPreconditionFailed, null, null);
    }
    const found = g.asFound;
    return new R2ObjectBody(found.f0, found.f1, range);
  }

  /** Stores `value` under `key`, durable when this returns; null when `onlyIf` did not hold. */
  put(key: string, value: Uint8Array, options: R2PutOptions | null = null): R2Object | null {
    const o = options != null ? options : new R2PutOptions();
    const r = this.bucket.put(key, value, o.__wit());
    if (!r.isOk) fail("PUT " + key, r.error);
    const info = r.value;
    return info == null ? null : new R2Object(info);
  }

  putText(key: string, value: string, options: R2PutOptions | null = null): R2Object | null {
    return this.put(key, utf8Encode(value), options);
  }

  /** A put whose bytes are written in chunks: `write(...)` as they come, then `finish()`. */
  beginPut(key: string, options: R2PutOptions | null = null): R2Writer {
    const o = options != null ? options : new R2PutOptions();
    const r = this.bucket.beginPut(key, o.__wit());
    if (!r.isOk) fail("PUT " + key, r.error);
    return new R2Writer(key, r.value);
  }

  /** Deletes up to 1000 keys at once (keys that do not exist are no error). */
  delete(keys: Array<string>): void {
    const r = this.bucket.delete(keys);
    if (!r.isOk) fail("DELETE", r.error);
  }

  deleteKey(key: string): void {
    const keys = new Array<string>(1);
    keys[0] = key;
    this.delete(keys);
  }

  /**
   * Objects in key order, up to `limit` (1-1000) from `cursor` (null for the first page); with a `delimiter`, keys
   * containing it after `prefix` are rolled up into `delimitedPrefixes`. Listed objects carry no HTTP or custom
   * metadata (as R2 without `include`); `listWith` asks for them.
   */
  list(prefix: string | null = null, delimiter: string | null = null, cursor: string | null = null, limit: u32 = 1000): R2Objects {
    const o = new R2ListOptions();
    o.prefix = prefix;
    o.delimiter = delimiter;
    o.cursor = cursor;
    o.limit = limit;
    return this.listWith(o);
  }

  listWith(options: R2ListOptions): R2Objects {
    const r = this.bucket.list(new BlobListOptions(options.prefix, options.delimiter, options.cursor, options.startAfter, new Box<u32>(options.limit), options.includeHttpMetadata, options.includeCustomMetadata));
    if (!r.isOk) fail("LIST", r.error);
    const l = r.value;
    const objects = new Array<R2Object>(l.objects.length);
    for (let i = 0; i < l.objects.length; i++) objects[i] = new R2Object(l.objects[i]);
    return new R2Objects(objects, l.delimitedPrefixes, l.truncated, l.cursor);
  }

  /** Starts a multipart upload; `options` may carry HTTP and custom metadata (no checksums or onlyIf). */
  createMultipartUpload(key: string, options: R2PutOptions | null = null): R2MultipartUpload {
    const o = options != null ? options : new R2PutOptions();
    const r = this.bucket.createMultipartUpload(key, o.__wit());
    if (!r.isOk) fail("createMultipartUpload " + key, r.error);
    return new R2MultipartUpload(r.value);
  }

  /** An upload begun earlier (by id); an id that does not exist fails at its first part. */
  resumeMultipartUpload(key: string, uploadId: string): R2MultipartUpload {
    const r = this.bucket.resumeMultipartUpload(key, uploadId);
    if (!r.isOk) fail("resumeMultipartUpload " + key, r.error);
    return new R2MultipartUpload(r.value);
  }

  /** Gives the bucket handle back to the host (AssemblyScript has no finalizers). */
  close(): void {
    this.bucket.drop();
  }
}
