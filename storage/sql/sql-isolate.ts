// The V8 isolate a D1 database's SQL runs in (sql-engine.ts, bundled into it once per process): interruptible like a
// thread (disposing the isolate stops a statement anywhere), yet enterable from the host's main thread at the cost of
// a function call, which lets sql-database.ts answer a read at once (runSync, bounded by a time budget) instead of
// crossing to another thread and back.
//
// Calls are answered in the order they were made (`message` events, as a worker thread's would be); records cross as
// objects and are serialized here, in the log's format (node:v8), so that the isolate needs nothing of Node.
import { EventEmitter } from 'node:events';
import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { buildSync } from 'esbuild';
import ivm from 'isolated-vm';
import { sharedDeadlineMs } from '../ivm-timeout.ts';
import type { CallRecord, EngineRequest, EngineResponse, SqlWasmModule } from './sql-engine.ts';
import type { SqlLimits, SqlValue } from './sql-types.ts';

/** What sql-database.ts sends: as EngineRequest, but records as they are in the log (node:v8 bytes). */
export type SqlCallRequest =
  | { op: 'load'; snapshot: Uint8Array | null; records: Uint8Array[] }
  | Exclude<EngineRequest, { op: 'load' }>;

export type SqlCallResponse =
  | (Omit<EngineResponse & { ok: true }, 'record'> & { record?: Uint8Array })
  | (EngineResponse & { ok: false });

/** The isolate's JS heap (sql.js's linear memory is outside it, bounded by the database size limit). */
const HEAP_MB = 128;

/**
 * What the engine finds in its global scope before it runs: a UTF-8 TextDecoder (sql.js decodes every string with
 * one), `performance.now` (statement durations), and `crypto.getRandomValues` over a generator the host seeds (SQLite
 * asks its VFS for randomness for temporary names; `random()` has its own, per call).
 */
const PRELUDE = `
(() => {
  const realNow = Date.now;
  globalThis.performance = { now: () => realNow() };
  let s = __edgeSqlSeed;
  globalThis.crypto = {
    getRandomValues(a) {
      const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      for (let i = 0; i < b.length; i++) {
        s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
        b[i] = s & 0xff;
      }
      return a;
    },
  };
  class TextDecoder {
    decode(bytes) {
      if (bytes === undefined) return '';
      const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength);
      let out = '';
      const units = [];
      for (let i = 0; i < b.length; ) {
        const c = b[i++];
        let cp;
        if (c < 0x80) cp = c;
        else if (c >= 0xc2 && c < 0xe0 && i < b.length && (b[i] & 0xc0) === 0x80) cp = ((c & 0x1f) << 6) | (b[i++] & 0x3f);
        else if (c >= 0xe0 && c < 0xf0 && i + 1 < b.length && (b[i] & 0xc0) === 0x80 && (b[i + 1] & 0xc0) === 0x80) {
          cp = ((c & 0x0f) << 12) | ((b[i] & 0x3f) << 6) | (b[i + 1] & 0x3f);
          if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd; else i += 2;
        } else if (c >= 0xf0 && c < 0xf5 && i + 2 < b.length && (b[i] & 0xc0) === 0x80 && (b[i + 1] & 0xc0) === 0x80 && (b[i + 2] & 0xc0) === 0x80) {
          cp = ((c & 0x07) << 18) | ((b[i] & 0x3f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
          if (cp < 0x10000 || cp > 0x10ffff) cp = 0xfffd; else i += 3;
        } else cp = 0xfffd;
        if (cp > 0xffff) { cp -= 0x10000; units.push(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff)); }
        else units.push(cp);
        if (units.length >= 8192) { out += String.fromCharCode.apply(null, units); units.length = 0; }
      }
      return out + String.fromCharCode.apply(null, units);
    }
  }
  globalThis.TextDecoder = TextDecoder;
})();
`;

interface EngineScript {
  code: string;
  cache: ivm.ExternalCopy<ArrayBuffer> | null;
}

let engineScript: EngineScript | null = null;

/** sql-engine.ts and sql.js's glue as one script (built once per process), with V8's code cache after its first use. */
function script(): EngineScript {
  if (engineScript) return engineScript;
  const require = createRequire(import.meta.url);
  const out = buildSync({
    entryPoints: [fileURLToPath(new URL('./sql-engine.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: '__edgeSqlEngine',
    platform: 'neutral',
    target: 'es2022',
    // sql.js's glue reaches for these only when it runs under Node, which it does not here.
    external: ['node:fs', 'node:crypto', 'node:path', 'fs', 'crypto', 'path'],
    alias: { 'sql.js': require.resolve('sql.js/dist/sql-wasm.js') },
    mainFields: ['main', 'module'],
    logLevel: 'silent',
  });
  engineScript = { code: `${PRELUDE}\n${out.outputFiles[0]!.text}\nglobalThis.__edgeSqlInit = __edgeSqlEngine.init;\nglobalThis.__edgeSqlRespond = __edgeSqlEngine.respond;\nglobalThis.__edgeSqlReadJson = __edgeSqlEngine.readJson;\n`, cache: null };
  return engineScript;
}

export class SqlIsolate extends EventEmitter<{ message: [SqlCallResponse]; error: [Error] }> {
  private readonly isolate: ivm.Isolate;
  private readonly respond: ivm.Reference<(req: EngineRequest) => EngineResponse>;
  private readonly read: ivm.Reference<(...args: unknown[]) => string | EngineResponse>;
  /** Calls answered in order: each result is emitted after the one before it. */
  private answered: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(isolate: ivm.Isolate, respond: ivm.Reference<(req: EngineRequest) => EngineResponse>, read: ivm.Reference<(...args: unknown[]) => string | EngineResponse>) {
    super();
    this.isolate = isolate;
    this.respond = respond;
    this.read = read;
  }

  /** An isolate with the database engine loaded and sql.js instantiated (no database open yet: `load` opens it). */
  static async create(module: SqlWasmModule, limits: SqlLimits): Promise<SqlIsolate> {
    const isolate = new ivm.Isolate({ memoryLimit: HEAP_MB });
    try {
      const context = await isolate.createContext();
      const seed = new Uint32Array(1);
      randomFillSync(seed);
      await context.global.set('__edgeSqlSeed', seed[0]! | 1);
      const src = script();
      const compiled = await isolate.compileScript(src.code, {
        filename: 'edge-sql-engine.js',
        ...(src.cache ? { cachedData: src.cache } : { produceCachedData: true }),
      });
      const produced = (compiled as ivm.Script & ivm.CachedDataResult).cachedData;
      if (!src.cache && produced) src.cache = produced;
      await compiled.run(context);
      const init = (await context.global.get('__edgeSqlInit', { reference: true })) as ivm.Reference<(m: unknown, l: SqlLimits) => Promise<void>>;
      await init.apply(undefined, [new ivm.ExternalCopy(module).copyInto({ release: true }), new ivm.ExternalCopy(limits).copyInto({ release: true })], { result: { promise: true } });
      const respond = (await context.global.get('__edgeSqlRespond', { reference: true })) as ivm.Reference<(req: EngineRequest) => EngineResponse>;
      const read = (await context.global.get('__edgeSqlReadJson', { reference: true })) as ivm.Reference<(...args: unknown[]) => string | EngineResponse>;
      return new SqlIsolate(isolate, respond, read);
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  /** Sends a call; its answer comes as a `message` event, after those of the calls sent before it. */
  postMessage(req: SqlCallRequest): void {
    const running = this.respond.apply(undefined, [toEngine(req)], { arguments: { copy: true }, result: { copy: true } }) as Promise<EngineResponse>;
    const prev = this.answered;
    this.answered = running.then(
      async (res) => {
        await prev;
        if (!this.stopped) this.emit('message', fromEngine(res));
      },
      async (err: unknown) => {
        await prev;
        if (!this.stopped) this.emit('error', err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  /**
   * Runs a call on this thread, now: for reads the host answers without crossing threads. Only while no other call is
   * in flight (the caller knows). Throws `SqlIsolateTimeout` past `timeoutMs`: the engine was stopped mid-statement and
   * this isolate must not be used again.
   */
  runSync(req: SqlCallRequest, timeoutMs: number): SqlCallResponse {
    return timed(timeoutMs, (timeout) => fromEngine(this.respond.applySync(undefined, [toEngine(req)], { arguments: { copy: true }, result: { copy: true }, timeout }) as EngineResponse));
  }

  /**
   * As runSync, for a plain read answered as JSON text (sql-engine.ts, readJson): the text, or the engine's answer
   * when it is anything else (a failure). Parameters that are all primitives cross as they are (no copy of an array).
   */
  readSync(sql: string, params: readonly SqlValue[], timeoutMs: number): string | SqlCallResponse {
    const s = newSeed();
    let primitive = true;
    for (let i = 0; i < params.length; i++) if (params[i] !== null && typeof params[i] === 'object') primitive = false;
    return timed(timeoutMs, (timeout) => {
      const out = this.read.applySync(undefined, [sql, s[0], s[1], s[2], s[3], ...params] as never[], { ...(primitive ? {} : { arguments: { copy: true } }), result: { copy: true }, timeout }) as string | EngineResponse;
      return typeof out === 'string' ? out : fromEngine(out);
    });
  }

  /** Stops the isolate (a statement running in it ends wherever it is); no event follows. */
  terminate(): void {
    this.stopped = true;
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}

export class SqlIsolateTimeout extends Error {
  constructor(ms: number) {
    super(`the statement ran past ${ms} ms`);
  }
}

/**
 * Runs a call given isolated-vm's `timeout` for `timeoutMs` (on a shared deadline, ivm-timeout.ts): its running past
 * it is thrown as SqlIsolateTimeout.
 */
function timed<T>(timeoutMs: number, call: (timeout: number) => T): T {
  try {
    return call(sharedDeadlineMs(timeoutMs));
  } catch (err) {
    if (/timed out/i.test(String((err as Error)?.message))) throw new SqlIsolateTimeout(timeoutMs);
    throw err;
  }
}

function toEngine(req: SqlCallRequest): EngineRequest {
  const seeded = req.op === 'query' || req.op === 'batch' || req.op === 'exec' || req.op === 'script';
  if (req.op === 'load') return { op: 'load', snapshot: req.snapshot, records: req.records.map((b) => deserialize(b) as CallRecord) };
  return seeded ? { ...req, seed: newSeed() } : req;
}

function fromEngine(res: EngineResponse): SqlCallResponse {
  if (!res.ok || !res.record) return res as SqlCallResponse;
  return { ...res, record: new Uint8Array(serialize(res.record)) };
}

// Seeds come from the OS 256 at a time: one randomFillSync per call cost more than a point read's SQL.
const seeds = new Uint32Array(1024);
let seedAt = seeds.length;
function newSeed(): [number, number, number, number] {
  if (seedAt >= seeds.length) {
    randomFillSync(seeds);
    seedAt = 0;
  }
  const at = seedAt;
  seedAt += 4;
  return [seeds[at]!, seeds[at + 1]!, seeds[at + 2]!, seeds[at + 3]!];
}

export type { SqlValue };
