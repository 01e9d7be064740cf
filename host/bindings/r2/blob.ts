// `edge:platform/blob` for WebAssembly components: `Bucket.open(binding)` for a bucket the manifest binds in
// r2_buckets, and the host side of JS workers' env.MY_BUCKET (r2-facade.js): one implementation, one store, one set
// of rules. Bodies stream both ways: a get hands the guest an `object-body` read chunk by chunk from the store's
// stream (`get-content` answers with the first chunk already read), a `begin-put` / `begin-part` a writer whose chunks
// feed the store as they come (each write returns once the store has taken the chunk).
import { BodyChannel } from '../../../storage/blob/body-channel.ts';
import { fileURLToPath } from 'node:url';
import { CapabilityError, type BuiltinCapability, type CapabilityDefinition } from '../capability.ts';
import { r2Section, type R2Grant } from './r2-section.ts';
import { R2_LIMITS } from '../../core/limits.ts';
import type * as Blob from '../generated/interfaces/edge-platform-blob.d.ts';
import {
  BlobError,
  validateObjectKey,
  type BlobStore,
  type ChecksumName,
  type Conditional,
  type HttpMetadata,
  type ObjectMeta,
  type PutOptions,
  type RangeSpec,
} from '../../../storage/blob/blob-types.ts';

type BlobImpl = typeof Blob;
type BlobGrant = R2Grant;

/** The most one `object-body.read` returns, whatever `max` asks: the guest's memory holds it whole. */
export const MAX_READ_BYTES = R2_LIMITS.maxReadBytes;

function fail(tag: Blob.Error['tag'], message: string): never {
  throw new CapabilityError({ tag, val: message } as Blob.Error, message);
}

/** A BlobError as the blob interface's error variant (its codes are the variant's cases); other errors are host failures. */
function witError(err: unknown): never {
  if (err instanceof CapabilityError) throw err;
  if (!(err instanceof BlobError)) throw err;
  fail(err.blobCode, err.message);
}

const big = (n: number): bigint => BigInt(n);
/** A u64 from the guest as a JS number; values past 2^53 cannot be exact. */
function num(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('invalid-argument', `${what} is too large (${v})`);
  return Number(v);
}

function witHttpMetadata(h: HttpMetadata): Blob.HttpMetadata {
  return {
    ...(h.contentType !== undefined ? { contentType: h.contentType } : {}),
    ...(h.contentLanguage !== undefined ? { contentLanguage: h.contentLanguage } : {}),
    ...(h.contentDisposition !== undefined ? { contentDisposition: h.contentDisposition } : {}),
    ...(h.contentEncoding !== undefined ? { contentEncoding: h.contentEncoding } : {}),
    ...(h.cacheControl !== undefined ? { cacheControl: h.cacheControl } : {}),
    ...(h.cacheExpiry !== undefined ? { cacheExpiry: big(h.cacheExpiry) } : {}),
  };
}

const CHECKSUMS: readonly ChecksumName[] = ['md5', 'sha1', 'sha256', 'sha384', 'sha512'];

function witChecksums(hexes: ObjectMeta['checksums']): Blob.Checksums {
  const out: Blob.Checksums = {};
  for (const name of CHECKSUMS) {
    const h = hexes[name];
    if (h !== undefined) out[name] = Buffer.from(h, 'hex');
  }
  return out;
}

function objectInfo(m: ObjectMeta, include = { http: true, custom: true }): Blob.ObjectInfo {
  return {
    key: m.key,
    version: m.version,
    size: big(m.size),
    etag: m.etag,
    uploaded: big(m.uploaded),
    httpMetadata: include.http ? witHttpMetadata(m.httpMetadata) : {},
    customMetadata: include.custom ? Object.entries(m.customMetadata) : [],
    checksums: witChecksums(m.checksums),
  };
}

function httpMetadata(h: Blob.HttpMetadata): HttpMetadata {
  const out: HttpMetadata = {};
  if (h.contentType !== undefined) out.contentType = h.contentType;
  if (h.contentLanguage !== undefined) out.contentLanguage = h.contentLanguage;
  if (h.contentDisposition !== undefined) out.contentDisposition = h.contentDisposition;
  if (h.contentEncoding !== undefined) out.contentEncoding = h.contentEncoding;
  if (h.cacheControl !== undefined) out.cacheControl = h.cacheControl;
  if (h.cacheExpiry !== undefined) out.cacheExpiry = num(h.cacheExpiry, 'httpMetadata.cacheExpiry');
  return out;
}

function customMetadata(entries: Array<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (Object.hasOwn(out, k)) fail('invalid-argument', `customMetadata names ${JSON.stringify(k)} twice`);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function conditional(c: Blob.Conditions | undefined): Conditional | undefined {
  if (!c) return undefined;
  const out: Conditional = {};
  if (c.etagMatches !== undefined) out.etagMatches = c.etagMatches;
  if (c.etagDoesNotMatch !== undefined) out.etagDoesNotMatch = c.etagDoesNotMatch;
  if (c.uploadedBefore !== undefined) out.uploadedBefore = num(c.uploadedBefore, 'only-if.uploaded-before');
  if (c.uploadedAfter !== undefined) out.uploadedAfter = num(c.uploadedAfter, 'only-if.uploaded-after');
  if (c.secondsGranularity) out.secondsGranularity = true;
  return out;
}

function rangeSpec(r: Blob.Range | undefined): RangeSpec | undefined {
  if (!r) return undefined;
  if (r.tag === 'suffix') return { suffix: num(r.val, 'range suffix') };
  const [offset, length] = r.val;
  return { offset: num(offset, 'range offset'), ...(length !== undefined ? { length: num(length, 'range length') } : {}) };
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function putOptions(o: Blob.PutOptions): PutOptions {
  const out: PutOptions = {};
  if (o.httpMetadata) out.httpMetadata = httpMetadata(o.httpMetadata);
  if (o.customMetadata.length > 0) out.customMetadata = customMetadata(o.customMetadata);
  const checksums: NonNullable<PutOptions['checksums']> = {};
  for (const name of CHECKSUMS) {
    const digest = o[name];
    if (digest !== undefined) checksums[name] = hex(digest);
  }
  if (Object.keys(checksums).length > 0) out.checksums = checksums;
  const c = conditional(o.onlyIf);
  if (c) out.onlyIf = c;
  return out;
}

export function blobCapability(store: BlobStore): CapabilityDefinition<BlobImpl, BlobGrant> {
  return {
    name: 'blob',
    interface: 'edge:platform/blob',
    instantiate(grants) {
      /** An object's bytes: the store's stream, read as the guest asks; dropping it closes the stream. */
      class ObjectBody {
        readonly #iter: AsyncIterator<Uint8Array>;
        readonly #destroy: () => void;
        #pending: Uint8Array | null = null;
        #done = false;
        constructor(body: AsyncIterable<Uint8Array> & { destroy(): void }) {
          this.#iter = body[Symbol.asyncIterator]();
          this.#destroy = () => body.destroy();
        }

        /** The store's next chunk, or null at the end (the stream is then closed). */
        async #next(): Promise<Uint8Array | null> {
          const chunk = this.#pending;
          if (chunk) {
            this.#pending = null;
            return chunk;
          }
          if (this.#done) return null;
          const next = await this.#iter.next().catch(witError);
          if (next.done) {
            this.#done = true;
            this.#destroy();
            return null;
          }
          return next.value;
        }

        /** Up to `limit` bytes (fewer only at the end), joined from the store's chunks; empty at the end. */
        async take(limit: number): Promise<Uint8Array> {
          const parts: Uint8Array[] = [];
          let size = 0;
          while (size < limit) {
            let chunk = await this.#next();
            if (!chunk) break;
            const room = limit - size;
            if (chunk.byteLength > room) {
              this.#pending = chunk.subarray(room);
              chunk = chunk.subarray(0, room);
            }
            parts.push(chunk);
            size += chunk.byteLength;
          }
          return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
        }

        /** Whether the body has no more bytes (reads ahead one chunk to know). */
        async atEnd(): Promise<boolean> {
          if (this.#pending) return false;
          this.#pending = await this.#next();
          return this.#pending === null;
        }

        async read(max: number): Promise<Uint8Array | undefined> {
          if (!Number.isInteger(max) || max < 1) fail('invalid-argument', `object-body.read: max must be at least 1, got ${max}`);
          const chunk = await this.take(Math.min(max, MAX_READ_BYTES));
          return chunk.byteLength === 0 ? undefined : chunk;
        }

        [Symbol.dispose](): void {
          this.#done = true;
          this.#pending = null;
          this.#destroy();
        }
      }

      /**
       * A body being written to the store (an object's or a part's): chunks go to the store as they are written;
       * `finish` ends the body and waits for what the store made of it. Dropped before `finish`, the write fails and
       * nothing is stored.
       */
      class ChunkWriter<T> {
        readonly #channel = new BodyChannel();
        readonly #done: Promise<T>;
        readonly #what: string;
        #finished = false;
        constructor(what: string, write: (body: BodyChannel) => Promise<T>) {
          this.#what = what;
          this.#done = write(this.#channel);
          // A failure before the end (bad metadata, a checksum that cannot be one, no such upload) reaches the writer
          // on its next write.
          this.#done.catch((err: unknown) => this.#channel.fail(err));
        }

        async write(chunk: Uint8Array): Promise<void> {
          if (this.#finished) fail('invalid-argument', `${this.#what}.write after finish`);
          if (chunk.byteLength === 0) return;
          await this.#channel.push(chunk).catch(witError);
        }

        protected async end(): Promise<T> {
          if (this.#finished) fail('invalid-argument', `${this.#what}.finish called twice (or after the writer failed)`);
          this.#finished = true;
          this.#channel.end();
          return this.#done.catch(witError);
        }

        [Symbol.dispose](): void {
          if (this.#finished) return;
          this.#finished = true;
          this.#channel.fail(new BlobError('internal', 'the writer was dropped before finish'));
        }
      }

      /** A put in progress (`begin-put`). */
      class ObjectWriter extends ChunkWriter<ObjectMeta | null> {
        constructor(bucket: string, key: string, options: PutOptions) {
          super('object-writer', (body) => store.put(bucket, key, body, options));
        }

        async finish(): Promise<Blob.ObjectInfo | undefined> {
          const m = await this.end();
          return m ? objectInfo(m) : undefined;
        }
      }

      /** A part upload in progress (`multipart-upload.begin-part`). */
      class PartWriter extends ChunkWriter<Blob.UploadedPart> {
        constructor(bucket: string, key: string, uploadId: string, partNumber: number) {
          super('part-writer', (body) => store.uploadPart(bucket, key, uploadId, partNumber, body));
        }

        finish(): Promise<Blob.UploadedPart> {
          return this.end();
        }
      }

      class MultipartUpload {
        readonly #bucket: string;
        readonly #key: string;
        readonly #uploadId: string;
        constructor(bucket: string, key: string, uploadId: string) {
          this.#bucket = bucket;
          this.#key = key;
          this.#uploadId = uploadId;
        }
        key(): string {
          return this.#key;
        }
        uploadId(): string {
          return this.#uploadId;
        }
        async uploadPart(partNumber: number, value: Uint8Array): Promise<Blob.UploadedPart> {
          return store.uploadPart(this.#bucket, this.#key, this.#uploadId, partNumber, value).catch(witError);
        }
        beginPart(partNumber: number): PartWriter {
          return new PartWriter(this.#bucket, this.#key, this.#uploadId, partNumber);
        }
        async complete(parts: Blob.UploadedPart[]): Promise<Blob.ObjectInfo> {
          const m = await store
            .completeMultipartUpload(this.#bucket, this.#key, this.#uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })))
            .catch(witError);
          return objectInfo(m);
        }
        async abort(): Promise<void> {
          await store.abortMultipartUpload(this.#bucket, this.#key, this.#uploadId).catch(witError);
        }
      }

      class Bucket {
        readonly #bucket: string;
        private constructor(bucket: string) {
          this.#bucket = bucket;
        }

        static open(binding: string): Bucket {
          const g = grants.get(binding);
          if (!g) throw new CapabilityError({ tag: 'not-granted', val: binding } satisfies Blob.Error, `no R2 bucket is bound as "${binding}" (r2_buckets)`);
          return new Bucket(g.bucketName);
        }

        async head(key: string): Promise<Blob.ObjectInfo | undefined> {
          const m = await store.head(this.#bucket, key).catch(witError);
          return m ? objectInfo(m) : undefined;
        }

        async get(key: string, options: Blob.GetOptions): Promise<Blob.GetResult> {
          const range = rangeSpec(options.range);
          const onlyIf = conditional(options.onlyIf);
          const got = await store.get(this.#bucket, key, { ...(range ? { range } : {}), ...(onlyIf ? { onlyIf } : {}) }).catch(witError);
          if (!got) return { tag: 'not-found' };
          if (!got.body) return { tag: 'precondition-failed', val: objectInfo(got.meta) };
          return { tag: 'found', val: [objectInfo(got.meta), new ObjectBody(got.body) as unknown as Blob.ObjectBody] };
        }

        async getContent(key: string, options: Blob.GetOptions, firstBytes: number): Promise<Blob.ContentResult> {
          const range = rangeSpec(options.range);
          const onlyIf = conditional(options.onlyIf);
          const got = await store.get(this.#bucket, key, { ...(range ? { range } : {}), ...(onlyIf ? { onlyIf } : {}) }).catch(witError);
          if (!got) return { tag: 'not-found' };
          if (!got.body) return { tag: 'precondition-failed', val: objectInfo(got.meta) };
          const body = new ObjectBody(got.body);
          let first: Uint8Array;
          let end: boolean;
          try {
            first = await body.take(Math.min(firstBytes, MAX_READ_BYTES));
            end = await body.atEnd();
          } catch (err) {
            body[Symbol.dispose]();
            throw err;
          }
          return {
            tag: 'found',
            val: {
              info: objectInfo(got.meta),
              range: { offset: big(got.range.offset), length: big(got.range.length) },
              first,
              ...(end ? {} : { rest: body as unknown as Blob.ObjectBody }),
            },
          };
        }

        async put(key: string, value: Uint8Array, options: Blob.PutOptions): Promise<Blob.ObjectInfo | undefined> {
          const m = await store.put(this.#bucket, key, value, putOptions(options)).catch(witError);
          return m ? objectInfo(m) : undefined;
        }

        beginPut(key: string, options: Blob.PutOptions): ObjectWriter {
          try {
            validateObjectKey(key);
          } catch (err) {
            witError(err);
          }
          return new ObjectWriter(this.#bucket, key, putOptions(options));
        }

        async delete(keys: string[]): Promise<void> {
          if (keys.length > 1000) fail('invalid-argument', `delete takes at most 1000 keys at once, got ${keys.length}`);
          await store.delete(this.#bucket, keys).catch(witError);
        }

        async list(options: Blob.ListOptions): Promise<Blob.ListResult> {
          const r = await store
            .list(this.#bucket, {
              ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
              ...(options.delimiter !== undefined ? { delimiter: options.delimiter } : {}),
              ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
              ...(options.startAfter !== undefined ? { startAfter: options.startAfter } : {}),
              ...(options.limit !== undefined ? { limit: options.limit } : {}),
            })
            .catch(witError);
          const include = { http: options.includeHttpMetadata, custom: options.includeCustomMetadata };
          return {
            objects: r.objects.map((m) => objectInfo(m, include)),
            delimitedPrefixes: r.delimitedPrefixes,
            truncated: r.truncated,
            ...(r.cursor !== undefined ? { cursor: r.cursor } : {}),
          };
        }

        async createMultipartUpload(key: string, options: Blob.PutOptions): Promise<MultipartUpload> {
          if (CHECKSUMS.some((name) => options[name] !== undefined) || options.onlyIf !== undefined) {
            fail('invalid-argument', 'create-multipart-upload takes http-metadata and custom-metadata only (no checksums or only-if)');
          }
          const o = putOptions(options);
          const uploadId = await store
            .createMultipartUpload(this.#bucket, key, { ...(o.httpMetadata ? { httpMetadata: o.httpMetadata } : {}), ...(o.customMetadata ? { customMetadata: o.customMetadata } : {}) })
            .catch(witError);
          return new MultipartUpload(this.#bucket, key, uploadId);
        }

        /** As R2's: no round trip; an upload that does not exist fails its first part (no-such-upload). */
        resumeMultipartUpload(key: string, uploadId: string): MultipartUpload {
          try {
            validateObjectKey(key);
          } catch (err) {
            witError(err);
          }
          if (uploadId === '') fail('invalid-argument', 'resume-multipart-upload needs an upload id');
          return new MultipartUpload(this.#bucket, key, uploadId);
        }
      }
      return { Bucket, ObjectBody, ObjectWriter, PartWriter, MultipartUpload } as unknown as BlobImpl;
    },
  };
}

/** R2: `r2_buckets` grants buckets of the host's object store, reached through `edge:platform/blob` by components and by JS workers' env.MY_BUCKET (r2-facade.js, an R2Bucket). */
export const r2Builtin: BuiltinCapability<R2Grant> = {
  name: 'r2',
  interface: 'edge:platform/blob',
  grant: 'section',
  section: r2Section,
  grantHint: 'its manifest binds no R2 bucket; add r2_buckets = [{ binding = "MY_BUCKET", bucket_name = "..." }]',
  unavailable: 'this host was started without an object store',
  facade: { module: fileURLToPath(new URL('./r2-facade.js', import.meta.url)) },
  bind(host) {
    if (!host.blob) return null;
    const def = blobCapability(host.blob);
    return { instantiate: (grants, ctx) => def.instantiate(grants, ctx) };
  },
};
