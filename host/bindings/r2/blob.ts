// `edge:platform/blob` for WebAssembly components: `Bucket.open(binding)` for a bucket the manifest binds in
// r2_buckets, over the same store (and rules) as JS workers' env.MY_BUCKET. Bodies stream both ways: a get hands
// the guest an `object-body` read chunk by chunk from the store's stream, a `begin-put` an `object-writer` whose
// chunks feed the store's put as they come (each write returns once the store has taken the chunk).
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

function objectInfo(m: ObjectMeta, include = { http: true, custom: true }): Blob.ObjectInfo {
  return {
    key: m.key,
    version: m.version,
    size: big(m.size),
    etag: m.etag,
    uploaded: big(m.uploaded),
    httpMetadata: include.http ? witHttpMetadata(m.httpMetadata) : {},
    customMetadata: include.custom ? Object.entries(m.customMetadata) : [],
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
  if (o.md5 !== undefined || o.sha256 !== undefined) {
    out.checksums = { ...(o.md5 !== undefined ? { md5: hex(o.md5) } : {}), ...(o.sha256 !== undefined ? { sha256: hex(o.sha256) } : {}) };
  }
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

        async read(max: number): Promise<Uint8Array | undefined> {
          if (!Number.isInteger(max) || max < 1) fail('invalid-argument', `object-body.read: max must be at least 1, got ${max}`);
          const limit = Math.min(max, MAX_READ_BYTES);
          const parts: Uint8Array[] = [];
          let size = 0;
          while (size < limit) {
            let chunk = this.#pending;
            this.#pending = null;
            if (!chunk) {
              if (this.#done) break;
              const next = await this.#iter.next().catch(witError);
              if (next.done) {
                this.#done = true;
                this.#destroy();
                break;
              }
              chunk = next.value;
            }
            const room = limit - size;
            if (chunk.byteLength > room) {
              this.#pending = chunk.subarray(room);
              chunk = chunk.subarray(0, room);
            }
            parts.push(chunk);
            size += chunk.byteLength;
          }
          if (size === 0) return undefined;
          return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
        }

        [Symbol.dispose](): void {
          this.#done = true;
          this.#pending = null;
          this.#destroy();
        }
      }

      /** A put in progress: chunks go to the store as they are written; `finish` ends the body and waits for the object. */
      class ObjectWriter {
        readonly #channel = new BodyChannel();
        readonly #done: Promise<ObjectMeta | null>;
        #finished = false;
        constructor(bucket: string, key: string, options: PutOptions) {
          this.#done = store.put(bucket, key, this.#channel, options);
          // A failure before the end (bad metadata, a checksum that cannot be one) reaches the writer on its next write.
          this.#done.catch((err: unknown) => this.#channel.fail(err));
        }

        async write(chunk: Uint8Array): Promise<void> {
          if (this.#finished) fail('invalid-argument', 'object-writer.write after finish');
          if (chunk.byteLength === 0) return;
          await this.#channel.push(chunk).catch(witError);
        }

        async finish(): Promise<Blob.ObjectInfo | undefined> {
          if (this.#finished) fail('invalid-argument', 'object-writer.finish called twice (or after the writer failed)');
          this.#finished = true;
          this.#channel.end();
          const m = await this.#done.catch(witError);
          return m ? objectInfo(m) : undefined;
        }

        /** Dropped before `finish`: the put fails and nothing is stored. */
        [Symbol.dispose](): void {
          if (this.#finished) return;
          this.#finished = true;
          this.#channel.fail(new BlobError('internal', 'the object writer was dropped before finish'));
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
          if (options.md5 !== undefined || options.sha256 !== undefined || options.onlyIf !== undefined) {
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
      return { Bucket, ObjectBody, ObjectWriter, MultipartUpload } as unknown as BlobImpl;
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
