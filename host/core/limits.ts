// Every limit, default and cap a worker meets, in one place: the per-request limits a manifest may set (with their
// defaults and ranges), and the fixed caps of the platform's APIs. The host enforces them; the isolate prelude gets
// the ones it checks early (so that a guest fails fast, with the same numbers) from the host at start-up
// (`PRELUDE_CAPS`), never from a copy of its own. The storage engines' rules (storage/, independent of the host)
// are re-exported here so that this file shows all of them.
import type { WorkerLimits } from './manifest.ts';
import { KV_LIMITS } from '../../storage/kv/kv-types.ts';
import { BLOB_LIMITS } from '../../storage/blob/blob-types.ts';

export { KV_LIMITS, BLOB_LIMITS };

/** `[limits]` when the manifest sets none. */
export const DEFAULT_LIMITS: WorkerLimits = Object.freeze({ cpuMs: 50, wallMs: 30_000, memoryMb: 128, subrequests: 50 });

/** What `[limits]` may ask for. */
export const LIMIT_RANGES: Record<keyof WorkerLimits, { min: number; max: number }> = Object.freeze({
  cpuMs: Object.freeze({ min: 1, max: 30_000 }),
  wallMs: Object.freeze({ min: 10, max: 900_000 }),
  memoryMb: Object.freeze({ min: 8, max: 1024 }),
  subrequests: Object.freeze({ min: 0, max: 1000 }),
  fuel: Object.freeze({ min: 1000, max: Number.MAX_SAFE_INTEGER }),
});

/** CPU the worker's global scope may use while it is evaluated (at least the request limit), as Workers' startup limit. */
export const STARTUP_CPU_MS = 1000;
/** Workers lets waitUntil() work run this long after the response (here never past the request's wall_ms). */
export const WAIT_UNTIL_MS = 30_000;
/** Cron triggers per worker (wrangler's paid-plan maximum). */
export const MAX_CRONS = 250;
/** A deploy's uploaded modules and assets, in bytes. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/**
 * A component worker's .wasm, in bytes: above MAX_UPLOAD_BYTES because components from other toolchains carry their
 * language's runtime (componentize-js's StarlingMonkey makes ~13 MB for a hello world). Base64 in the admin API's
 * JSON, 20 MiB stays under its 32 MB body limit.
 */
export const MAX_COMPONENT_BYTES = 20 * 1024 * 1024;
/** Static assets (`assets = { directory }`), per version: Workers' numbers. */
export const ASSET_LIMITS = Object.freeze({
  files: 20_000,
  fileBytes: 25 * 1024 * 1024,
  /** `_redirects`: static (no `*` or `:placeholder`) and dynamic rules. */
  staticRedirects: 2000,
  dynamicRedirects: 100,
  /** `_headers` rules. */
  headerRules: 100,
  /** Characters in one `_redirects` rule and one `_headers` line. */
  redirectLineLength: 1000,
  headerLineLength: 2000,
});
/** Nested in-process subrequests (a worker calling a worker calling ...) before the call is refused. */
export const MAX_SUBREQUEST_DEPTH = 16;
/** Redirects a fetch() follows. */
export const MAX_REDIRECTS = 20;

/** The Cache API (caches.default / caches.open), per worker. */
export const CACHE_LIMITS = Object.freeze({
  /** One stored response, body included. */
  entryBytes: 8 * 1024 * 1024,
  /** All of a worker's caches; least recently used entries are evicted past it. */
  workerBytes: 64 * 1024 * 1024,
  urlLength: 16 * 1024,
  cacheNameLength: 1024,
  headers: 1000,
});

/** crypto and crypto.subtle. */
export const CRYPTO_LIMITS = Object.freeze({
  /** Data one crypto.subtle call takes. */
  dataBytes: 64 * 1024 * 1024,
  /** crypto.getRandomValues, as the Web Crypto API defines it. */
  randomBytes: 65_536,
  pbkdf2Iterations: 100_000,
  rsaGenerateBits: 4096,
  /** What a DigestStream buffers. */
  digestStreamBytes: 64 * 1024 * 1024,
});

/** nodejs_compat's node:zlib, run by the host (host/web/zlib). */
export const ZLIB_LIMITS = Object.freeze({
  /** Input of one zlib call. */
  inputBytes: 32 * 1024 * 1024,
  /** Output of one zlib call: a decompression bomb stops here. */
  outputBytes: 128 * 1024 * 1024,
});

/** R2 for JS workers and components. */
export const R2_LIMITS = Object.freeze({
  ...BLOB_LIMITS,
  /**
   * Bytes per body chunk a JS worker's R2 facade reads or writes in one call (a get's first chunk comes with the
   * object); a streamed put shorter than this is stored in one call.
   */
  chunkBytes: 256 * 1024,
  /** The most one read of an object body returns to a component, whatever it asks. */
  maxReadBytes: 1024 * 1024,
});

/** Secrets (`edge secret put`), per worker: Workers' numbers. */
export const SECRET_LIMITS = Object.freeze({
  /** Bytes of one secret's value (UTF-8). */
  valueBytes: 5 * 1024,
  /** Secrets of one worker. */
  perWorker: 128,
  /** Characters of a secret's name. */
  nameLength: 256,
});

/** The caps the isolate prelude checks itself, handed to it by the host at start-up (__edgeInit). */
export const PRELUDE_CAPS = Object.freeze({
  kvValueBytes: KV_LIMITS.valueBytes,
  cacheEntryBytes: CACHE_LIMITS.entryBytes,
  randomBytes: CRYPTO_LIMITS.randomBytes,
  digestStreamBytes: CRYPTO_LIMITS.digestStreamBytes,
  r2ChunkBytes: R2_LIMITS.chunkBytes,
});
export type PreludeCaps = typeof PRELUDE_CAPS;
