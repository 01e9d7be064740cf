// What a KV backend offers the host, whatever it is built on (the embedded engine today, a distributed one later),
// and the Workers KV rules every backend enforces alike.

export interface KvEntry {
  value: Uint8Array;
  /** JSON text, as stored. */
  metadata: string | null;
  /** Seconds since the epoch; null when the key does not expire. */
  expiration: number | null;
}

export interface KvPutOptions {
  /** Seconds since the epoch; at least 60 s from now. */
  expiration?: number | null;
  /** Seconds from now; at least 60. */
  expirationTtl?: number | null;
  /** JSON text, at most 1024 bytes. */
  metadata?: string | null;
}

export interface KvListOptions {
  prefix?: string;
  /** 1 to 1000 (default 1000). */
  limit?: number;
  cursor?: string;
}

export interface KvListResult {
  keys: Array<{ name: string; expiration: number | null; metadata: string | null }>;
  listComplete: boolean;
  /** Present when the list is not complete: pass it to the next call. */
  cursor?: string;
}

/**
 * A KV backend. Namespaces are isolated from each other. On one host it is read-your-writes; by contract KV is
 * eventually consistent, so a caching or replicated backend may serve a read up to its propagation bound stale.
 */
export interface KvStore {
  get(ns: string, key: string): Promise<KvEntry | null>;
  /** Optional fast path: the answer when it is known without I/O (null: no such key), undefined otherwise. */
  peek?(ns: string, key: string): KvEntry | null | undefined;
  /** Resolves once the write is durable. */
  put(ns: string, key: string, value: Uint8Array, options?: KvPutOptions): Promise<void>;
  delete(ns: string, key: string): Promise<void>;
  /** Calls `listener` after every write to a namespace takes effect (for caches of its readers). */
  onChange?(listener: (ns: string) => void): void;
  /** Keys in UTF-8 byte order. */
  list(ns: string, options?: KvListOptions): Promise<KvListResult>;
  close(): Promise<void>;
}

/** Workers KV's documented limits. */
export const KV_LIMITS = Object.freeze({
  keyBytes: 512,
  valueBytes: 25 * 1024 * 1024,
  metadataBytes: 1024,
  listLimit: 1000,
  minTtlSeconds: 60,
});

/** Codes are the kv WIT interface's error cases (wit/), so the host maps them one to one. */
export type KvErrorCode = 'key-too-long' | 'invalid-key' | 'value-too-large' | 'metadata-too-large' | 'invalid-expiration' | 'invalid-list' | 'internal';

export class KvError extends Error {
  readonly kvCode: KvErrorCode;
  /** The size found, for key-too-long, value-too-large and metadata-too-large. */
  readonly size: number | undefined;
  constructor(code: KvErrorCode, message: string, size?: number) {
    super(message);
    this.kvCode = code;
    this.size = size;
  }
}

export function validateKey(key: string): void {
  if (typeof key !== 'string') throw new KvError('invalid-key', `a key must be a string, got ${typeof key}`);
  if (key === '' || key === '.' || key === '..') throw new KvError('invalid-key', `${JSON.stringify(key)} is not a valid key (empty, "." and ".." are reserved)`);
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > KV_LIMITS.keyBytes) throw new KvError('key-too-long', `keys are at most ${KV_LIMITS.keyBytes} bytes of UTF-8; this one is ${bytes} bytes`, bytes);
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(key)) throw new KvError('invalid-key', 'a key must be well-formed Unicode (it has a lone surrogate)');
}

export function validateMetadata(metadata: string): void {
  const bytes = Buffer.byteLength(metadata, 'utf8');
  if (bytes > KV_LIMITS.metadataBytes) throw new KvError('metadata-too-large', `metadata is at most ${KV_LIMITS.metadataBytes} bytes of JSON; this is ${bytes} bytes`, bytes);
}

/** Orders strings as their UTF-8 bytes compare (= by code point; JS's < compares UTF-16 code units). */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (code points above U+FFFF) sort after every BMP character in UTF-8.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
