// The admin API's storage routes: KV values and R2 objects read and written from outside any worker (what
// `edge kv` and `edge r2` use to seed and inspect data). Bodies are streamed raw, never parsed as JSON, so that
// uploads are bounded by the stores' own limits rather than the admin API's body limit.
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { EdgeError } from '../core/errors.ts';
import { grantsOfType } from '../core/manifest.ts';
import type { VersionStore } from '../deploy/version-store.ts';
import { KV_LIMITS, KvError, validateKey, validateMetadata, type KvStore } from '../../storage/kv/kv-types.ts';
import { BlobError, validateObjectKey, type BlobStore, type HttpMetadata, type ObjectMeta } from '../../storage/blob/blob-types.ts';

export interface AdminStorageDeps {
  kv: KvStore;
  blob: BlobStore;
  /** Resolves `--worker`/`--binding` for the CLI: the active manifest's bindings. */
  store: VersionStore;
}

/** Header carrying KV metadata (JSON) both ways; non-ASCII characters are sent as \u escapes. */
export const KV_METADATA_HEADER = 'x-edge-kv-metadata';
/** Header carrying a KV value's expiration (seconds since the epoch) on reads. */
export const KV_EXPIRATION_HEADER = 'x-edge-kv-expiration';
/** Header carrying an R2 object's custom metadata (a JSON object of strings) both ways. */
export const R2_METADATA_HEADER = 'x-edge-r2-metadata';
/** Header carrying an R2 object's HTTP metadata (JSON) on reads: a Content-Encoding header would make clients decode the bytes. */
export const R2_HTTP_METADATA_HEADER = 'x-edge-r2-http-metadata';

// The same rules as kv_namespaces' id and r2_buckets' bucket_name in host/deploy/manifest.ts.
const NAMESPACE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const BUCKET_RE = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** An error of these routes, answered as `{ error: { code, message, details } }` like the rest of the admin API. */
class StorageRouteError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, status: number, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** JSON text with every non-ASCII character escaped, so that it fits an HTTP header and parses to the same value. */
export function asciiJson(text: string): string {
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Node reads header bytes as latin1; a client that sent raw UTF-8 gets it back as UTF-8. */
function headerText(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v.join(', ') : v;
  if (s === undefined) return undefined;
  return /[\u0080-\u00ff]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

function namespaceParam(ns: string): string {
  if (!NAMESPACE_RE.test(ns)) {
    throw new StorageRouteError('E_REQUEST_INVALID', `${JSON.stringify(ns)} is not a KV namespace id: ids are 1-63 letters, digits, "_", "." and "-" (as kv_namespaces' id)`, 400, { namespace: ns });
  }
  return ns;
}

function bucketParam(bucket: string): string {
  if (!BUCKET_RE.test(bucket)) {
    throw new StorageRouteError('E_REQUEST_INVALID', `${JSON.stringify(bucket)} is not an R2 bucket name: names are 3-63 lower-case letters, digits and "-" (as r2_buckets' bucket_name)`, 400, { bucket });
  }
  return bucket;
}

/**
 * The key of a `.../values/*` or `.../objects/*` route: the rest of the path, percent-decoded (so "/" may be sent
 * as is or as %2F). Keys "." and ".." cannot travel in a path (URL parsers resolve them), so an empty path key
 * takes `?key=` instead.
 */
function keyParam(req: FastifyRequest): string {
  const fromPath = (req.params as Record<string, string | undefined>)['*'] ?? '';
  if (fromPath !== '') return fromPath;
  const q = (req.query as Record<string, unknown>)['key'];
  if (typeof q === 'string' && q !== '') return q;
  throw new StorageRouteError('E_REQUEST_INVALID', 'the key is missing: put it URL-encoded after the last "/" of the path (or in ?key= for the keys "." and "..")', 400);
}

function queryString(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new StorageRouteError('E_REQUEST_INVALID', `?${name}= is given more than once`, 400);
  return v;
}

function queryInteger(req: FastifyRequest, name: string, min: number, max: number): number | undefined {
  const v = queryString(req, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new StorageRouteError('E_REQUEST_INVALID', `?${name}= must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, 400);
  return n;
}

function seconds(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new KvError('invalid-expiration', `${what}, got ${JSON.stringify(v)}`);
  return Number(v);
}

function jsonText(text: string, what: string, onError: (message: string) => Error): string {
  try {
    JSON.parse(text);
  } catch (e) {
    throw onError(`${what} must be JSON text, got ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)} (${(e as Error).message})`);
  }
  return text;
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The request body, as the raw stream the catch-all parser below handed over (absent for an empty body). */
function bodyStream(req: FastifyRequest): AsyncIterable<Uint8Array> {
  const body = req.body as IncomingMessage | undefined;
  return body ?? (async function* () {})();
}

/**
 * Reads a KV value whole (the store takes bytes), refusing it once past the value limit. The rest of an oversized
 * body is drained rather than buffered, so the client gets the 400 instead of a reset connection.
 */
async function readKvValue(req: FastifyRequest): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of bodyStream(req)) {
    size += chunk.byteLength;
    if (size <= KV_LIMITS.valueBytes) chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  if (size > KV_LIMITS.valueBytes) throw new KvError('value-too-large', `values are at most ${KV_LIMITS.valueBytes} bytes; this one is ${size} bytes`, size);
  return Buffer.concat(chunks, size);
}

function customMetadata(req: FastifyRequest): Record<string, string> | undefined {
  const text = headerText(req.headers[R2_METADATA_HEADER]);
  if (text === undefined) return undefined;
  const bad = (message: string) => new BlobError('invalid-argument', message);
  const v: unknown = JSON.parse(jsonText(text, `the ${R2_METADATA_HEADER} header`, bad));
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw bad(`the ${R2_METADATA_HEADER} header must be a JSON object of strings, e.g. {"author":"ada"}`);
  }
  return v as Record<string, string>;
}

function httpMetadata(req: FastifyRequest): HttpMetadata {
  const h = (name: string): string | undefined => headerText(req.headers[name]);
  const out: HttpMetadata = {};
  const contentType = h('content-type');
  if (contentType !== undefined) out.contentType = contentType;
  const language = h('content-language');
  if (language !== undefined) out.contentLanguage = language;
  const disposition = h('content-disposition');
  if (disposition !== undefined) out.contentDisposition = disposition;
  const encoding = h('content-encoding');
  if (encoding !== undefined) out.contentEncoding = encoding;
  const cacheControl = h('cache-control');
  if (cacheControl !== undefined) out.cacheControl = cacheControl;
  return out;
}

/** An object's metadata as the admin API shows it (its body files are the store's business). */
export function objectInfo(m: ObjectMeta): { key: string; version: string; size: number; etag: string; uploaded: string; httpMetadata: HttpMetadata; customMetadata: Record<string, string> } {
  return { key: m.key, version: m.version, size: m.size, etag: m.etag, uploaded: new Date(m.uploaded).toISOString(), httpMetadata: m.httpMetadata, customMetadata: m.customMetadata };
}

function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: Record<string, unknown>): FastifyReply {
  return reply.code(status).send({ error: { code, message, ...(details ? { details } : {}) } });
}

export function adminStorageRoutes(deps: AdminStorageDeps): FastifyPluginAsync {
  return async (app) => {
    // Bodies arrive as raw streams whatever their content type (the admin API's JSON parser and its body limit do
    // not apply here): a KV value or an R2 object may be any bytes, and R2 objects may be large.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    app.setErrorHandler((err: FastifyError | Error, req, reply) => {
      const where = { ...(req.params as Record<string, string>) };
      delete where['*'];
      if (err instanceof StorageRouteError) return sendError(reply, err.status, err.code, err.message, err.details);
      if (err instanceof KvError) {
        if (err.kvCode === 'internal') return sendError(reply, 500, 'E_INTERNAL', `KV: ${err.message}`);
        return sendError(reply, 400, 'E_KV_INVALID', err.message, { kvCode: err.kvCode, ...where });
      }
      if (err instanceof BlobError) {
        if (err.blobCode === 'internal') return sendError(reply, 500, 'E_INTERNAL', `R2: ${err.message}`);
        return sendError(reply, 400, 'E_R2_INVALID', err.message, { r2Code: err.blobCode, ...where });
      }
      if (err instanceof EdgeError) return reply.code(err.status).send({ error: err.toJSON() });
      const status = (err as FastifyError).statusCode ?? 500;
      return sendError(reply, status, status >= 500 ? 'E_INTERNAL' : 'E_REQUEST_INVALID', err.message);
    });

    // --- KV -----------------------------------------------------------------------------------------------

    app.get<{ Params: { namespace: string } }>('/v1/kv/:namespace/keys', async (req) => {
      const ns = namespaceParam(req.params.namespace);
      const prefix = queryString(req, 'prefix');
      const limit = queryInteger(req, 'limit', 1, KV_LIMITS.listLimit);
      const cursor = queryString(req, 'cursor');
      const r = await deps.kv.list(ns, { ...(prefix !== undefined ? { prefix } : {}), ...(limit !== undefined ? { limit } : {}), ...(cursor !== undefined ? { cursor } : {}) });
      return {
        keys: r.keys.map((k) => ({ name: k.name, expiration: k.expiration, metadata: parseJson(k.metadata) })),
        listComplete: r.listComplete,
        ...(r.cursor !== undefined ? { cursor: r.cursor } : {}),
      };
    });

    app.get<{ Params: { namespace: string } }>('/v1/kv/:namespace/values/*', async (req, reply) => {
      const ns = namespaceParam(req.params.namespace);
      const key = keyParam(req);
      const entry = await deps.kv.get(ns, key);
      if (!entry) return sendError(reply, 404, 'E_KEY_NOT_FOUND', `no key ${JSON.stringify(key)} in KV namespace "${ns}"`, { namespace: ns, key });
      reply.header('content-type', 'application/octet-stream');
      if (entry.metadata !== null) reply.header(KV_METADATA_HEADER, asciiJson(entry.metadata));
      if (entry.expiration !== null) reply.header(KV_EXPIRATION_HEADER, String(entry.expiration));
      return reply.send(Buffer.from(entry.value.buffer, entry.value.byteOffset, entry.value.byteLength));
    });

    app.put<{ Params: { namespace: string } }>('/v1/kv/:namespace/values/*', async (req) => {
      const ns = namespaceParam(req.params.namespace);
      const key = keyParam(req);
      const expiration = seconds(queryString(req, 'expiration'), '?expiration= must be a time in seconds since the epoch');
      const expirationTtl = seconds(queryString(req, 'expiration_ttl'), '?expiration_ttl= must be a number of seconds');
      const metadataText = headerText(req.headers[KV_METADATA_HEADER]) ?? queryString(req, 'metadata');
      const metadata = metadataText === undefined ? null : jsonText(metadataText, 'metadata', (m) => new StorageRouteError('E_KV_INVALID', m, 400, { namespace: ns, key }));
      // Refuse a bad key or metadata before reading a value that could be 25 MiB (the store checks them again).
      validateKey(key);
      if (metadata !== null) validateMetadata(metadata);
      const value = await readKvValue(req);
      await deps.kv.put(ns, key, value, { expiration: expiration ?? null, expirationTtl: expirationTtl ?? null, metadata });
      return { namespace: ns, key, size: value.byteLength };
    });

    app.delete<{ Params: { namespace: string } }>('/v1/kv/:namespace/values/*', async (req) => {
      const ns = namespaceParam(req.params.namespace);
      const key = keyParam(req);
      await deps.kv.delete(ns, key);
      return { namespace: ns, key, deleted: true };
    });

    // --- R2 -----------------------------------------------------------------------------------------------

    app.get<{ Params: { bucket: string } }>('/v1/r2/:bucket/objects', async (req) => {
      const bucket = bucketParam(req.params.bucket);
      const prefix = queryString(req, 'prefix');
      const delimiter = queryString(req, 'delimiter');
      const cursor = queryString(req, 'cursor');
      const limit = queryInteger(req, 'limit', 1, 1000);
      const r = await deps.blob.list(bucket, {
        ...(prefix !== undefined ? { prefix } : {}),
        ...(delimiter !== undefined ? { delimiter } : {}),
        ...(cursor !== undefined ? { cursor } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      return { objects: r.objects.map(objectInfo), delimitedPrefixes: r.delimitedPrefixes, truncated: r.truncated, ...(r.cursor !== undefined ? { cursor: r.cursor } : {}) };
    });

    const objectHeaders = (reply: FastifyReply, m: ObjectMeta): void => {
      reply.header('content-type', m.httpMetadata.contentType ?? 'application/octet-stream');
      reply.header('content-length', String(m.size));
      reply.header('etag', `"${m.etag}"`);
      reply.header('last-modified', new Date(m.uploaded).toUTCString());
      reply.header(R2_HTTP_METADATA_HEADER, asciiJson(JSON.stringify(m.httpMetadata)));
      reply.header(R2_METADATA_HEADER, asciiJson(JSON.stringify(m.customMetadata)));
    };
    const noObject = (reply: FastifyReply, bucket: string, key: string) =>
      sendError(reply, 404, 'E_KEY_NOT_FOUND', `no object ${JSON.stringify(key)} in R2 bucket "${bucket}"`, { bucket, key });

    // Its own HEAD (rather than Fastify's GET-without-body) so that no body file is opened.
    app.get<{ Params: { bucket: string } }>('/v1/r2/:bucket/objects/*', { exposeHeadRoute: false }, async (req, reply) => {
      const bucket = bucketParam(req.params.bucket);
      const key = keyParam(req);
      const got = await deps.blob.get(bucket, key);
      if (!got || !got.body) return noObject(reply, bucket, key);
      objectHeaders(reply, got.meta);
      return reply.send(got.body);
    });

    app.head<{ Params: { bucket: string } }>('/v1/r2/:bucket/objects/*', async (req, reply) => {
      const bucket = bucketParam(req.params.bucket);
      const key = keyParam(req);
      const meta = await deps.blob.head(bucket, key);
      if (!meta) return reply.code(404).send();
      objectHeaders(reply, meta);
      return reply.send();
    });

    app.put<{ Params: { bucket: string } }>('/v1/r2/:bucket/objects/*', async (req) => {
      const bucket = bucketParam(req.params.bucket);
      const key = keyParam(req);
      validateObjectKey(key);
      const custom = customMetadata(req);
      const meta = await deps.blob.put(bucket, key, bodyStream(req), { httpMetadata: httpMetadata(req), ...(custom ? { customMetadata: custom } : {}) });
      // Without onlyIf the store always writes.
      return objectInfo(meta!);
    });

    app.delete<{ Params: { bucket: string } }>('/v1/r2/:bucket/objects/*', async (req) => {
      const bucket = bucketParam(req.params.bucket);
      const key = keyParam(req);
      await deps.blob.delete(bucket, [key]);
      return { bucket, key, deleted: true };
    });

    // --- bindings, for `--worker <name> --binding <NAME>` ----------------------------------------------------

    app.get<{ Params: { name: string } }>('/v1/workers/:name/storage', async (req) => {
      const { name } = req.params;
      const st = await deps.store.state(name);
      if (!st?.active) throw new EdgeError('E_WORKER_NOT_FOUND', `No worker named "${name}" is deployed.`, { status: 404 });
      const { manifest } = await deps.store.load(name, st.active);
      const of = (type: string, field: string) => grantsOfType(manifest, type).map((g) => ({ binding: g.binding, [field]: g.settings[field] }));
      return { name, version: st.active, kvNamespaces: of('kv', 'id'), r2Buckets: of('r2', 'bucketName') };
    });
  };
}
