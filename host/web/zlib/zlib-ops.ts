// Host side of nodejs_compat's node:zlib (the polyfill host/deploy/node-compat/zlib.js bundles into a worker): the
// 'zlib.run' host op compresses or decompresses one buffer with Node's own zlib, on libuv's thread pool, so that the
// bytes and errors are Node's. Only for workers with nodejs_compat; input and output are bounded (ZLIB_LIMITS), so a
// guest can neither make the host hold gigabytes nor inflate a bomb.
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { HostOpError, type HostOps } from '../../core/host-ops.ts';
import { ZLIB_LIMITS } from '../../core/limits.ts';
import { nodeCompatMode } from '../../core/node-compat.ts';

type ZlibCall = (data: Uint8Array, options: zlib.ZlibOptions & zlib.BrotliOptions) => Promise<Buffer>;

/** The operations, by the name of node:zlib's callback function. */
const OPERATIONS: Record<string, ZlibCall> = {
  deflate: promisify(zlib.deflate),
  inflate: promisify(zlib.inflate),
  deflateRaw: promisify(zlib.deflateRaw),
  inflateRaw: promisify(zlib.inflateRaw),
  gzip: promisify(zlib.gzip),
  gunzip: promisify(zlib.gunzip),
  unzip: promisify(zlib.unzip),
  brotliCompress: promisify(zlib.brotliCompress),
  brotliDecompress: promisify(zlib.brotliDecompress),
};

/** The numeric options a guest may pass (others, such as `dictionary` or `info`, are not carried). */
const NUMERIC_OPTIONS = ['level', 'windowBits', 'memLevel', 'strategy', 'chunkSize', 'flush', 'finishFlush'] as const;

function bad(message: string): never {
  throw new HostOpError('TypeError', message);
}

function options(v: unknown, brotli: boolean): zlib.ZlibOptions & zlib.BrotliOptions {
  const out: zlib.ZlibOptions & zlib.BrotliOptions = { maxOutputLength: ZLIB_LIMITS.outputBytes };
  if (v === undefined || v === null) return out;
  if (typeof v !== 'object' || Array.isArray(v)) bad('zlib: options must be an object');
  const o = v as Record<string, unknown>;
  for (const key of NUMERIC_OPTIONS) {
    const n = o[key];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isInteger(n)) bad(`zlib: options.${key} must be an integer`);
    (out as Record<string, number>)[key] = n;
  }
  if (brotli && o['params'] !== undefined) {
    const params = o['params'];
    if (params === null || typeof params !== 'object' || Array.isArray(params)) bad('zlib: options.params must be an object');
    const p: Record<number, number> = {};
    for (const [k, n] of Object.entries(params)) {
      if (!/^\d+$/.test(k) || typeof n !== 'number' || !Number.isInteger(n)) bad('zlib: options.params maps brotli parameter numbers to integers');
      p[Number(k)] = n;
    }
    out.params = p;
  }
  if (o['dictionary'] !== undefined) {
    if (!(o['dictionary'] instanceof Uint8Array)) bad('zlib: options.dictionary must be bytes');
    out.dictionary = o['dictionary'];
  }
  return out;
}

/** Registers 'zlib.run': `{ op, data, options }` → the output bytes; zlib's own errors keep their message and code. */
export function registerZlibOps(ops: HostOps): void {
  ops.register('zlib.run', async (arg, ctx) => {
    if (nodeCompatMode(ctx.manifest) !== 'full') bad('zlib is available to workers with compatibility_flags = ["nodejs_compat"]');
    if (arg === null || typeof arg !== 'object') bad('zlib: expected { op, data, options }');
    const a = arg as Record<string, unknown>;
    const op = typeof a['op'] === 'string' && Object.hasOwn(OPERATIONS, a['op']) ? a['op'] : bad(`zlib: unknown operation ${String(a['op'])}`);
    const data = a['data'] instanceof Uint8Array ? a['data'] : bad('zlib: data must be bytes');
    if (data.byteLength > ZLIB_LIMITS.inputBytes) {
      throw new HostOpError('RangeError', `zlib.${op}: the input is ${data.byteLength} bytes, over the ${ZLIB_LIMITS.inputBytes}-byte limit of one call`);
    }
    try {
      const out = await OPERATIONS[op]!(data, options(a['options'], op.startsWith('brotli')));
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE') throw new HostOpError('RangeError', `zlib.${op}: the output exceeds the ${ZLIB_LIMITS.outputBytes}-byte limit of one call`);
      // The guest's polyfill rebuilds Node's error (message and code) from this.
      throw new HostOpError('Error', `${e.code ?? 'Z_DATA_ERROR'}: ${e.message}`);
    }
  });
}
