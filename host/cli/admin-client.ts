// A typed client for the host's admin API, used by the `edge` CLI (deploy, list, versions, rollback, delete, tail, kv,
// r2, d1).

import type { DeployUpload } from '../deploy/upload.ts';

export interface DeployedVersion { id: string; createdAt: string | number; main: string }
export interface DeployResult { name: string; version: DeployedVersion; url: string; routes: string[]; warnings?: string[] }
export interface SecretList { name: string; secrets: Array<{ name: string; updatedAt: string }> }
/** `applied`: the worker is deployed and serves its next request with the new secrets. */
export interface SecretsPut { name: string; secrets: string[]; applied: boolean }
export interface WorkerSummary { name: string; activeVersion: string | null; routes: string[]; url: string; updatedAt: string | number | null }
export interface WorkerList { workers: WorkerSummary[] }
export interface VersionSummary { id: string; createdAt: string | number; main: string; active: boolean }
export interface VersionList { name: string; activeVersion: string | null; versions: VersionSummary[] }
export interface RollbackResult { name: string; activeVersion: string; previousVersion: string | null }
export interface DeleteResult { name: string; deleted: true }
/** How a scheduled run ended (the host's ScheduledOutcome). */
export interface ScheduledRun {
  worker: string;
  version: string;
  cron: string;
  scheduledTime: number;
  outcome: string;
  noRetry: boolean;
  code?: string;
  message?: string;
  cpuMs: number;
  wallMs: number;
}
export interface TailEvent {
  ts: number;
  worker: string;
  version: string;
  level: 'log' | 'info' | 'warn' | 'error' | 'debug';
  kind: 'console' | 'exception' | 'limit' | 'request';
  message: string;
  code?: string;
  stack?: string;
}

/** One key of `edge kv list` (metadata parsed from its JSON). */
export interface KvKeyInfo { name: string; expiration: number | null; metadata: unknown }
export interface KvKeyPage { keys: KvKeyInfo[]; listComplete: boolean; cursor?: string }
export interface KvValue { value: Uint8Array; metadata: unknown; expiration: number | null }
export interface KvPutOptions { expiration?: number; expirationTtl?: number; /** JSON text */ metadata?: string }
export interface KvPutResult { namespace: string; key: string; size: number }
export interface R2ObjectInfo {
  key: string;
  version: string;
  size: number;
  etag: string;
  uploaded: string;
  httpMetadata: Record<string, string | number>;
  customMetadata: Record<string, string>;
}
export interface R2ObjectPage { objects: R2ObjectInfo[]; delimitedPrefixes: string[]; truncated: boolean; cursor?: string }
export interface R2ObjectBody { body: ReadableStream<Uint8Array>; size: number; contentType: string; etag: string; customMetadata: Record<string, string> }
export interface R2PutOptions { contentType?: string; customMetadata?: Record<string, string> }
/** The KV namespaces and R2 buckets of a worker's active version. */
export interface WorkerStorage {
  name: string;
  version: string;
  kvNamespaces: Array<{ binding: string; id: string }>;
  r2Buckets: Array<{ binding: string; bucketName: string }>;
}
/** A D1 statement's answer from the admin API (host/server/admin-d1.ts): values are numbers, strings, null or byte arrays. */
export interface D1Rows {
  columns: string[];
  rows: Array<Array<number | string | null | number[]>>;
  meta: { changes: number; lastRowId: number | string; rowsRead: number; rowsWritten: number; changedDb: boolean; sizeAfter: number; durationMs: number };
}
/** A D1 parameter: numbers, strings, null, booleans (1/0) and arrays of byte values (BLOBs). */
export type D1Param = number | string | boolean | null | number[];
export interface D1Statement { sql: string; params?: D1Param[] }
export interface D1ExportOptions { noData?: boolean; noSchema?: boolean; tables?: string[] }
/** A request body: bytes, or a stream sent as it is read. */
export type UploadBody = Uint8Array | ReadableStream<Uint8Array>;

/** JSON text with non-ASCII characters escaped, so that it can travel in an HTTP header. */
function asciiJson(text: string): string {
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A storage key as the last part of an admin API path, with the query: "/" and every other special character
 * percent-encoded. The keys "." and ".." would be resolved away by URL parsing, so they travel in ?key= instead.
 */
function keyPath(key: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  const dotted = key === '.' || key === '..';
  if (dotted) params.set('key', key);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
  const qs = params.toString();
  return `/${dotted ? '' : encodeURIComponent(key)}${qs ? `?${qs}` : ''}`;
}

function queryOf(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

function jsonHeader(res: Response, name: string): unknown {
  const v = res.headers.get(name);
  if (v === null) return null;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/**
 * An error answered by the admin API (its `{ error: { code, message, details } }` body), or a failure to reach it.
 * The code is a string rather than EdgeErrorCode: a newer host may answer codes this client does not know.
 */
export class AdminApiError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: { status?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AdminApiError';
    this.code = code;
    this.status = options.status;
    this.details = options.details;
  }
}

export interface AdminClientOptions { adminUrl: string; token: string }

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class AdminClient {
  readonly adminUrl: string;
  readonly #token: string;

  constructor(options: AdminClientOptions) {
    this.adminUrl = options.adminUrl.replace(/\/+$/, '');
    this.#token = options.token;
  }

  deploy(upload: DeployUpload): Promise<DeployResult> {
    return this.#json('POST', '/v1/workers', upload);
  }

  /** Which of these static asset contents (SHA-256 hashes) the host does not have yet. */
  assetsMissing(hashes: string[]): Promise<{ missing: string[] }> {
    return this.#json('POST', '/v1/assets/missing', { hashes });
  }

  /** Uploads the content of one static asset; the host checks it against `hash`. */
  assetPut(hash: string, body: UploadBody): Promise<{ hash: string; size: number; written: boolean }> {
    return this.#json('PUT', `/v1/assets/${hash}`, undefined, { body, headers: { 'content-type': 'application/octet-stream' } });
  }

  list(): Promise<WorkerList> {
    return this.#json('GET', '/v1/workers');
  }

  versions(name: string): Promise<VersionList> {
    return this.#json('GET', `/v1/workers/${encodeURIComponent(name)}/versions`);
  }

  rollback(name: string, version?: string): Promise<RollbackResult> {
    return this.#json('POST', `/v1/workers/${encodeURIComponent(name)}/rollback`, version === undefined ? {} : { version });
  }

  delete(name: string): Promise<DeleteResult> {
    return this.#json('DELETE', `/v1/workers/${encodeURIComponent(name)}`);
  }

  /** The names of a worker's secrets (the host never returns their values). */
  secretList(name: string): Promise<SecretList> {
    return this.#json('GET', `/v1/workers/${encodeURIComponent(name)}/secrets`);
  }

  /** Sets secrets of a worker, all at once. */
  secretPut(name: string, secrets: Record<string, string>): Promise<SecretsPut> {
    const keys = Object.keys(secrets);
    if (keys.length === 1) return this.#json('PUT', `/v1/workers/${encodeURIComponent(name)}/secrets/${encodeURIComponent(keys[0]!)}`, { value: secrets[keys[0]!] });
    return this.#json('PUT', `/v1/workers/${encodeURIComponent(name)}/secrets`, { secrets });
  }

  secretDelete(name: string, key: string): Promise<{ name: string; secret: string; deleted: true }> {
    return this.#json('DELETE', `/v1/workers/${encodeURIComponent(name)}/secrets/${encodeURIComponent(key)}`);
  }

  /** Runs a worker's scheduled handler now, as its cron trigger would (`cron` defaults to its first trigger). */
  scheduled(name: string, event: { cron?: string; scheduledTime?: number } = {}): Promise<ScheduledRun> {
    return this.#json('POST', `/v1/workers/${encodeURIComponent(name)}/scheduled`, event);
  }

  /** The KV namespaces and R2 buckets bound by a worker's active version (for `--worker` and `--binding`). */
  workerStorage(name: string): Promise<WorkerStorage> {
    return this.#json('GET', `/v1/workers/${encodeURIComponent(name)}/storage`);
  }

  /** One page of a KV namespace's keys, in UTF-8 byte order. */
  kvList(namespace: string, options: { prefix?: string; limit?: number; cursor?: string } = {}): Promise<KvKeyPage> {
    return this.#json('GET', `/v1/kv/${encodeURIComponent(namespace)}/keys${queryOf(options)}`);
  }

  /** A KV value with its metadata and expiration; null when the key is not there. */
  async kvGet(namespace: string, key: string): Promise<KvValue | null> {
    const res = await this.#request('GET', `/v1/kv/${encodeURIComponent(namespace)}/values${keyPath(key)}`, undefined, undefined, { notFound: true });
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    const expiration = res.headers.get('x-edge-kv-expiration');
    return { value: new Uint8Array(await res.arrayBuffer()), metadata: jsonHeader(res, 'x-edge-kv-metadata'), expiration: expiration === null ? null : Number(expiration) };
  }

  kvPut(namespace: string, key: string, value: UploadBody, options: KvPutOptions = {}): Promise<KvPutResult> {
    const path = `/v1/kv/${encodeURIComponent(namespace)}/values${keyPath(key, { expiration: options.expiration?.toString(), expiration_ttl: options.expirationTtl?.toString() })}`;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (options.metadata !== undefined) headers['x-edge-kv-metadata'] = asciiJson(options.metadata);
    return this.#json('PUT', path, undefined, { body: value, headers });
  }

  kvDelete(namespace: string, key: string): Promise<{ namespace: string; key: string; deleted: true }> {
    return this.#json('DELETE', `/v1/kv/${encodeURIComponent(namespace)}/values${keyPath(key)}`);
  }

  /** One page of an R2 bucket's objects (and, with a delimiter, the prefixes it groups). */
  r2List(bucket: string, options: { prefix?: string; delimiter?: string; cursor?: string; limit?: number } = {}): Promise<R2ObjectPage> {
    return this.#json('GET', `/v1/r2/${encodeURIComponent(bucket)}/objects${queryOf(options)}`);
  }

  /** An R2 object's body as a stream, with its metadata; null when there is no such object. */
  async r2Get(bucket: string, key: string): Promise<R2ObjectBody | null> {
    const res = await this.#request('GET', `/v1/r2/${encodeURIComponent(bucket)}/objects${keyPath(key)}`, undefined, undefined, { notFound: true });
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    const custom = jsonHeader(res, 'x-edge-r2-metadata');
    return {
      body: res.body ?? new ReadableStream({ start: (c) => c.close() }),
      size: Number(res.headers.get('content-length') ?? 0),
      contentType: res.headers.get('content-type') ?? 'application/octet-stream',
      etag: (res.headers.get('etag') ?? '').replace(/"/g, ''),
      customMetadata: isRecord(custom) ? (custom as Record<string, string>) : {},
    };
  }

  r2Put(bucket: string, key: string, body: UploadBody, options: R2PutOptions = {}): Promise<R2ObjectInfo> {
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/octet-stream' };
    if (options.customMetadata) headers['x-edge-r2-metadata'] = asciiJson(JSON.stringify(options.customMetadata));
    return this.#json('PUT', `/v1/r2/${encodeURIComponent(bucket)}/objects${keyPath(key)}`, undefined, { body, headers });
  }

  r2Delete(bucket: string, key: string): Promise<{ bucket: string; key: string; deleted: true }> {
    return this.#json('DELETE', `/v1/r2/${encodeURIComponent(bucket)}/objects${keyPath(key)}`);
  }

  /** The D1 databases of the host. */
  d1List(): Promise<{ databases: Array<{ id: string }> }> {
    return this.#json('GET', '/v1/d1');
  }

  d1Query(database: string, statement: D1Statement): Promise<D1Rows> {
    return this.#json('POST', `/v1/d1/${encodeURIComponent(database)}/query`, statement);
  }

  /** The statements in one transaction: every one applied, or none. */
  async d1Batch(database: string, statements: D1Statement[]): Promise<D1Rows[]> {
    return (await this.#json<{ results: D1Rows[] }>('POST', `/v1/d1/${encodeURIComponent(database)}/batch`, { statements })).results;
  }

  /** SQL text of several statements, in one transaction. */
  d1Exec(database: string, sql: string): Promise<{ count: number; durationMs: number }> {
    return this.#json('POST', `/v1/d1/${encodeURIComponent(database)}/exec`, { sql });
  }

  /** The database as SQL text (schema, then rows as INSERTs). */
  async d1Export(database: string, options: D1ExportOptions = {}): Promise<string> {
    const params = new URLSearchParams();
    if (options.noData) params.set('no-data', '1');
    if (options.noSchema) params.set('no-schema', '1');
    for (const t of options.tables ?? []) params.append('table', t);
    const qs = params.toString();
    const res = await this.#request('GET', `/v1/d1/${encodeURIComponent(database)}/export${qs ? `?${qs}` : ''}`);
    return res.text();
  }

  /**
   * Opens a worker's log stream. Resolves once the host has accepted it (so a caller can say "connected"), to events
   * that end when `signal` aborts (quietly) or the host closes the stream.
   */
  async tail(name: string, signal?: AbortSignal): Promise<AsyncIterable<TailEvent>> {
    const res = await this.#request('GET', `/v1/workers/${encodeURIComponent(name)}/tail`, undefined, signal);
    return readNdjson(res, name, this.adminUrl, signal);
  }

  async #json<T>(method: string, path: string, body?: unknown, raw?: RawBody): Promise<T> {
    const res = await this.#request(method, path, body, undefined, raw ? { raw } : {});
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new AdminApiError('E_INTERNAL', `the admin API answered ${method} ${path} with ${res.status} but a body that is not JSON: ${text.slice(0, 200)}`, {
        status: res.status,
        cause: e,
      });
    }
  }

  /** `raw` sends bytes or a stream instead of JSON; with `notFound` a 404 is answered rather than thrown. */
  async #request(method: string, path: string, body?: unknown, signal?: AbortSignal, options: { raw?: RawBody; notFound?: boolean } = {}): Promise<Response> {
    const url = `${this.adminUrl}${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept: 'application/json', ...options.raw?.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const payload = options.raw ? options.raw.body : body === undefined ? null : JSON.stringify(body);
    let res: Response;
    try {
      // A stream body goes out as it is read (fetch calls that half duplex).
      const init: RequestInit & { duplex?: 'half' } = { method, headers, body: payload, ...(signal ? { signal } : {}), ...(payload instanceof ReadableStream ? { duplex: 'half' } : {}) };
      res = await fetch(url, init);
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new AdminApiError(
        'E_ADMIN_UNREACHABLE',
        `cannot reach the admin API at ${this.adminUrl} (${errorText(e)}); is \`edge serve\` running there? Use --admin-url to point elsewhere`,
        { details: { adminUrl: this.adminUrl }, cause: e },
      );
    }
    if (res.ok) return res;
    if (res.status === 404 && options.notFound && res.headers.get('content-type')?.startsWith('application/json')) {
      // A missing key is an answer; a missing route (an older host) is still an error.
      const clone = res.clone();
      const parsed = (await clone.json().catch(() => null)) as { error?: { code?: string } } | null;
      if (parsed?.error?.code === 'E_KEY_NOT_FOUND') return res;
      await res.body?.cancel();
      throw new AdminApiError('E_INTERNAL', `${method} ${url} answered 404: the host has no such route (is it older than this CLI?)`, { status: 404 });
    }
    const text = await res.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const error = isRecord(parsed) && isRecord(parsed['error']) ? parsed['error'] : undefined;
    if (error && typeof error['code'] === 'string' && typeof error['message'] === 'string') {
      throw new AdminApiError(error['code'], error['message'], { status: res.status, ...(isRecord(error['details']) ? { details: error['details'] } : {}) });
    }
    throw new AdminApiError(res.status === 401 ? 'E_UNAUTHORIZED' : 'E_INTERNAL', `${method} ${url} answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`, {
      status: res.status,
    });
  }
}

interface RawBody { body: UploadBody; headers: Record<string, string> }

async function* readNdjson(res: Response, worker: string, adminUrl: string, signal?: AbortSignal): AsyncGenerator<TailEvent, void, undefined> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield parseTailLine(line, worker);
      }
    }
    const rest = (buffered + decoder.decode()).trim();
    if (rest) yield parseTailLine(rest, worker);
  } catch (e) {
    if (signal?.aborted) return;
    throw new AdminApiError('E_ADMIN_UNREACHABLE', `the tail stream from ${adminUrl} broke: ${errorText(e)}`, { cause: e });
  }
}

function parseTailLine(line: string, worker: string): TailEvent {
  try {
    const v: unknown = JSON.parse(line);
    if (isRecord(v) && typeof v['message'] === 'string') return v as unknown as TailEvent;
  } catch {
    // fall through: show the line as it came rather than dropping it
  }
  return { ts: Date.now(), worker, version: '?', level: 'warn', kind: 'console', message: `(unparsable tail line) ${line}` };
}

/** The useful part of a fetch failure: undici hides the errno (ECONNREFUSED...) in `cause`. */
function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = e.cause;
    if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
    return e.message;
  }
  return String(e);
}
