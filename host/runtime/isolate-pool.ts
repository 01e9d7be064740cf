// Pre-created isolates for cold starts: each one is made from a V8 startup snapshot of the prelude, gets its
// context and host bridge ahead of time, and waits until a worker version adopts it. A cold start then
// costs only compiling the worker (with its code cache) and one call.
import ivm from 'isolated-vm';
import { randomFillSync } from 'node:crypto';
import { buildPrelude, type FacadeModule } from './js/prelude-bundle.ts';
import { CRYPTO_LIMITS, PRELUDE_CAPS } from '../core/limits.ts';
import { handOver, release } from '../../storage/owned-bytes.ts';
import { exactBytes } from './exact-bytes.ts';
import { utf8CodecModule } from './utf8-codec.ts';
import type { EdgeInitOptions } from '../core/isolate-protocol.ts';

/** What a pooled isolate reports to whoever adopts it; swapped in on adoption. */
export interface IsolateSink {
  log(level: string, text: string): void;
  call(reqId: number, op: string, arg: unknown): void;
  /** A synchronous op from the guest (a component's import): the reply, or a promise of it that the guest blocks on. */
  invoke(op: string, arg: unknown): unknown;
}

const idleSink: IsolateSink = {
  log() {},
  call() {},
  invoke: () => ({ x: 'this isolate belongs to no worker' }),
};

/** __edgeInit's options for an isolate of `memoryMb` (EdgeInitOptions). */
export function edgeInitOptions(memoryMb: number): EdgeInitOptions {
  return { memoryBytes: memoryMb * 1024 * 1024, caps: PRELUDE_CAPS, ...(utf8CodecModule ? { utf8Codec: utf8CodecModule } : {}) };
}

/** Replies an isolate's guest is blocked on, by ticket (see internal/bridge.js, hostInvoke). One per isolate. */
class PendingReplies {
  /** Each ticket's reply, and whether it is a transferable already (bytesReply) or a value to copy. */
  private readonly map = new Map<number, { reply: Promise<unknown>; transferable: boolean }>();
  private next = 1;
  add(reply: Promise<unknown>, transferable = false): number {
    const t = this.next++;
    this.map.set(t, { reply, transferable });
    return t;
  }
  take(t: unknown): { reply: Promise<unknown>; transferable: boolean } | undefined {
    const p = typeof t === 'number' ? this.map.get(t) : undefined;
    if (p) this.map.delete(t as number);
    return p;
  }
}

const FLAT_CAP = 'cap.flat';
/** A component's request body read, answered with the bytes themselves (bytesReply): `invoke(READ_BYTES, reqId, max)`. */
const READ_BYTES = 'body.read.bytes';
/** A component's response body write, its bytes a whole ArrayBuffer argument: `invoke(WRITE_BYTES, reqId, buffer)`. */
const WRITE_BYTES = 'resp.write.bytes';
/** A body a 'body.whole' host op read, moved in: `invoke(TAKE_WHOLE, reqId, id)` answers its ArrayBuffer (movedReply). */
const TAKE_WHOLE = 'body.whole.take';

const failure = (err: unknown): { x: string } => ({ x: err instanceof Error ? err.message : String(err) });

/**
 * Runs op `op` for the guest: its reply, or a ticket when the reply comes later. With `cross`, the reply and the
 * ticket are returned (and the ticket's reply is waited for) as `cross` makes them, transferables for a call that
 * takes no result options; without, as values the guest's call copies.
 */
function invokeFromGuest(sink: () => IsolateSink, pending: PendingReplies, op: unknown, arg: unknown, cross?: (reply: unknown) => unknown): unknown {
  if (typeof op !== 'string') return { x: 'invoke: op must be a string' };
  let reply: unknown;
  try {
    reply = sink().invoke(op, arg);
  } catch (err) {
    reply = failure(err);
  }
  if (reply !== null && typeof reply === 'object' && typeof (reply as PromiseLike<unknown>).then === 'function') {
    const later = Promise.resolve(reply).then(exactBytes, failure);
    const ticket = { p: cross ? pending.add(later.then(cross), true) : pending.add(later) };
    return cross ? cross(ticket) : ticket;
  }
  // (Its bytes must not bring the memory around them into the isolate: exact-bytes.ts.)
  const exact = exactBytes(reply);
  return cross ? cross(exact) : exact;
}

/**
 * A body read's reply as it crosses into the isolate with no result options: bytes as an ArrayBuffer (one copy, moved
 * in: no second copy into the isolate and no structured clone of a reply object), null at the end, else a copy.
 */
function bytesReply(reply: unknown): unknown {
  if (reply !== null && typeof reply === 'object' && 'v' in reply) {
    const v = (reply as { v: unknown }).v;
    if (v === null) return null;
    if (v instanceof Uint8Array) {
      const whole = v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v.buffer : new Uint8Array(v).buffer;
      const copy = new ivm.ExternalCopy(whole);
      // A piece of the request body handed over (body-streams.ts) is done with once copied.
      release(v);
      return copy.copyInto({ release: true, transferIn: true });
    }
  }
  return new ivm.ExternalCopy(reply).copyInto({ release: true });
}

/**
 * A kept whole body's reply as it crosses into the isolate with no result options: its buffer (which nothing else holds:
 * held-bodies.ts keepWhole) moved in, not copied, so that its bytes cost the isolate nothing; else a copy of the reply.
 */
function movedReply(reply: unknown): unknown {
  if (reply !== null && typeof reply === 'object' && 'v' in reply) {
    const v = (reply as { v: unknown }).v;
    if (v instanceof Uint8Array && v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) {
      return new ivm.ExternalCopy(v.buffer, { transferOut: true }).copyInto({ release: true, transferIn: true });
    }
  }
  return new ivm.ExternalCopy(reply).copyInto({ release: true });
}

/**
 * A capability method call made of primitives (HostFunctions.invoke's FLAT_CAP form: `i, r, m, h, ...args`, which
 * cross without a copy of an object): the call's value itself when it is a primitive, else its reply (or a ticket).
 */
function invokeFlatFromGuest(sink: () => IsolateSink, pending: PendingReplies, i: unknown, rest: unknown[]): unknown {
  const call = { i, r: rest[0], m: rest[1], k: 'method', h: rest[2], a: rest.slice(3) };
  const reply = invokeFromGuest(sink, pending, 'cap', call);
  if (reply !== null && typeof reply === 'object' && 'v' in reply) {
    const v = (reply as { v: unknown }).v;
    if (v === null || typeof v !== 'object') return v;
  }
  return reply;
}

/** applySyncPromise takes no result options: the reply crosses as a transferable copy. */
function waitFromGuest(pending: PendingReplies, ticket: unknown): Promise<unknown> {
  const p = pending.take(ticket) ?? { reply: Promise.resolve({ x: `no pending host reply ${String(ticket)}` }), transferable: false };
  return p.transferable ? p.reply : p.reply.then((reply) => new ivm.ExternalCopy(reply).copyInto({ release: true }));
}

/** The host's `invoke` function (HostFunctions.invoke and its flat forms). */
function invokeFunction(sink: () => IsolateSink, pending: PendingReplies): (op: unknown, arg: unknown, ...rest: unknown[]) => unknown {
  return (op, arg, ...rest) => {
    switch (op) {
      case FLAT_CAP:
        return invokeFlatFromGuest(sink, pending, arg, rest);
      case READ_BYTES:
        return invokeFromGuest(sink, pending, 'body.read', { reqId: arg, max: rest[0] }, bytesReply);
      case TAKE_WHOLE:
        return invokeFromGuest(sink, pending, TAKE_WHOLE, { reqId: arg, id: rest[0] }, movedReply);
      case WRITE_BYTES: {
        // A copy made for this write alone (`arguments: { copy: true }`): handed over to the socket that sends it.
        const chunk = rest[0] instanceof ArrayBuffer ? new Uint8Array(rest[0]) : null;
        if (chunk) handOver(chunk);
        return invokeFromGuest(sink, pending, 'resp.write', { reqId: arg, chunk });
      }
      default:
        return invokeFromGuest(sink, pending, op, arg);
    }
  };
}

export interface PooledIsolate {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
  /** The prelude's entry function (host/runtime/js/prelude/runtime.js). */
  readonly entry: ivm.Reference<(cmd: unknown) => unknown>;
  readonly memoryMb: number;
  sink: IsolateSink;
}

const URL_FIELDS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;

// Results are copied into the isolate by the caller (`result: { copy: true }`): return plain values.
export function urlParse(input: unknown, base?: unknown): Record<string, string> | null {
  if (typeof input !== 'string' || (base !== undefined && typeof base !== 'string')) return null;
  const u = URL.parse(input, base as string | undefined);
  if (!u) return null;
  const out: Record<string, string> = {};
  for (const k of URL_FIELDS) out[k] = u[k];
  return out;
}

export function randomBytes(n: unknown): Uint8Array {
  const len = typeof n === 'number' && n > 0 ? Math.min(n | 0, CRYPTO_LIMITS.randomBytes) : 0;
  return randomFillSync(new Uint8Array(len));
}

const REFILL_DELAY_MS = 20;
/** Far above what CONTEXT_WARMUP takes (~1 ms): only a broken prelude would reach it. */
const CONTEXT_WARMUP_TIMEOUT_MS = 1000;

/**
 * Run once, in a throwaway context, when the snapshot is made: V8 keeps the bytecode of the functions it compiled
 * (not the heap the script left; its microtasks do run). The streams implementation is compiled here,
 * not on the CPU of the first request of each isolate that makes a stream (a request body, an R2 object body): the
 * first ReadableStream in a new isolate cost 4-5.6 ms of CPU, 0.4-0.8 ms with this; an idle isolate's heap is
 * ~200 KiB larger (1.33 -> 1.53 MB), one that made a stream ~100 KiB.
 */
const STREAMS_WARMUP = `
try {
  const r = new Response(new ReadableStream({ type: 'bytes', pull(c) { c.enqueue(new Uint8Array(8)); c.close(); } }));
  const [a, b] = r.body.tee();
  void new Response(a).arrayBuffer().catch(() => {});
  void new Response(b.pipeThrough(new TransformStream())).text().catch(() => {});
  void new ReadableStream({ start(c) { c.enqueue(new Uint8Array(1)); c.close(); } }).getReader().read().catch(() => {});
} catch {}
`;

/**
 * The path every cold start runs, compiled into the snapshot too: __edgeInit with stand-ins for the host's
 * References, what the bootstrap module calls (buildEnv, entrypointHandlers, serviceWorkerHandlers), and fetch
 * entries through a worker answering as most do (a sync and an async handler, a text and a JSON response, the
 * request's URL and headers read). Without it V8 compiled ~60 prelude functions lazily inside the first request of
 * every new isolate: that entry cost 1.8 ms of isolate CPU, the second one 0.5 ms. Whatever the stand-ins answer
 * is thrown away with this context; a failure here only leaves those functions to be compiled lazily again.
 * The kept bytecode costs each isolate ~110 KiB of used heap (a spare before its context warm-up: 1,657 -> 1,769 KiB).
 */
const REQUEST_WARMUP = (caps: unknown): string => `
try {
  // A context made for a snapshot has no WebAssembly object; __edgeInit wraps it (wasm-memory.js): a stand-in.
  if (typeof globalThis.WebAssembly === 'undefined') {
    class CompileError extends Error {}
    const refuse = () => Promise.reject(new CompileError('snapshot warm-up'));
    class Memory { get buffer() { return new ArrayBuffer(0); } grow() { return 0; } }
    globalThis.WebAssembly = {
      Memory,
      Module: class Module { static exports() { return [{ name: 'memory', kind: 'memory' }]; } static imports() { return []; } static customSections() { return []; } },
      Instance: class Instance { get exports() { return (this.e ??= { memory: new Memory() }); } },
      CompileError, LinkError: class LinkError extends Error {}, RuntimeError: class RuntimeError extends Error {},
      Global: class Global {}, Table: class Table {}, validate: () => false, compile: refuse, instantiate: refuse,
    };
  }
  const ref = (f) => ({ apply: f, applySync: f, applyIgnored: f, applySyncPromise: f });
  const none = ref(() => undefined);
  const refused = ref(() => ({ x: 'snapshot warm-up' }));
  const entry = globalThis.__edgeInit(none, ref((_, a) => new Uint8Array(a[0])), ref(() => null), none, refused, refused, { memoryBytes: 128 * 1024 * 1024, caps: ${JSON.stringify(caps)} });
  const host = globalThis.__edgeHost; delete globalThis.__edgeHost;
  entry({ t: 'memory' });
  const handlers = host.cloudflareWorkers.entrypointHandlers({
    async fetch(request, env, ctx) {
      const url = new URL(request.url);
      if (url.pathname === '/') return new Response('hello\\n', { headers: { 'content-type': 'text/plain' } });
      ctx.waitUntil(Promise.resolve());
      await null;
      return Response.json({ path: url.pathname, q: url.searchParams.get('q'), ua: request.headers.get('user-agent'), method: request.method }, { status: 200 });
    },
  });
  const syncHandlers = { fetch: (request) => new Response('hello ' + request.method, { headers: { 'content-type': 'text/plain' } }) };
  // A component worker (component.js, and the WASI modules it loads) around a stand-in for jco's glue.
  const log = { id: 'edge:platform/log', functions: [{ js: 'write', noResult: true }], resources: [] };
  // The smallest module with a memory: the prelude's WebAssembly wrappers (wasm-memory.js) run for it.
  const wasm = { 'warm.wasm': new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, 109, 101, 109, 111, 114, 121, 2, 0])) };
  const component = host.createComponentWorker((getCoreModule, imports, instantiateCore) => ({
    core: instantiateCore(getCoreModule('warm.wasm'), {}),
    'edge:platform/incoming-handler@0.1.0': {
      handle(req) {
        imports['edge:platform/log'].write('info', req.method + ' ' + req.url);
        return { status: 200, headers: [['content-type', 'text/plain']], body: { tag: 'bytes', val: new TextEncoder().encode('hello from ' + req.url) } };
      },
    },
  }), { interfaces: [log], fuel: null, fuelExport: null, world: 'edge:platform/worker', environment: {}, wasm });
  // One of the wasi:http/proxy world loads WASI 0.2 and wasi:http (wasi.js, wasi-http.js, preview2-shim) at once.
  host.createComponentWorker(() => ({}), { interfaces: [], fuel: null, fuelExport: null, world: 'wasi:http/proxy', environment: { A: 'b' }, wasm: {} });
  host.serviceWorkerHandlers();
  const route = (r, e, c) => (r.url.endsWith('/sync') ? syncHandlers.fetch(r) : r.url.endsWith('/component') ? component.fetch(r, e, c) : handlers.fetch(r, e, c));
  Object.defineProperty(globalThis, '__edgeWorker', { value: { fetch: route }, configurable: true });
  Object.defineProperty(globalThis, '__edgeEnv', { value: host.buildEnv(JSON.parse('{}'), [], []), configurable: true });
  Object.defineProperty(globalThis, '__edgeExports', { value: {}, configurable: true });
  const headers = [['host', 'warm.localhost'], ['user-agent', 'warm-up'], ['accept', '*/*']];
  const outcome = [];
  let reqId = 1;
  for (const path of ['/sync', '/', '/json?q=1', '/component', '/sync', '/', '/component']) {
    Promise.resolve(entry({ t: 'fetch', reqId: reqId++, method: 'GET', url: 'http://warm.localhost' + path, headers, hasBody: false, cf: {} })).then(
      (out) => outcome.push(out.r.deferred ? 'deferred' : out.r.ok ? out.r.status : out.r.error.message),
      (err) => outcome.push(String(err)),
    );
  }
  // Read by the test that runs this script in a pooled isolate's context (test/cold-path.test.ts).
  globalThis.__edgeWarmupOutcome = outcome;
} catch (err) {
  globalThis.__edgeWarmupOutcome = String(err && err.stack || err);
}
`;

/**
 * Run in each pooled context before it is handed out, through public Web APIs only (objects made and dropped, no
 * global or prelude state left behind): what a snapshot cannot keep is made here, off the cold start. V8 drops
 * the compiled code of regular expressions from a snapshot, so each new context compiled the prelude's (the
 * header-name token, URL parsing's, ...) inside its first request: `new URL()` of a simple URL cost 640 µs the first
 * time, `new Response(text, { headers })` 310 µs. Run twice, so that V8 also tiers those up to native code.
 * A spare's heap grows by it as by a first request (total 3.1 -> 4.1 MB; making one Headers alone does that).
 */
export const CONTEXT_WARMUP = `(() => {
  for (let i = 0; i < 2; i++) {
    const h = new Headers([['content-type', 'text/plain; charset=utf-8'], ['x-warm', ' up ']]);
    h.set('cache-control', 'no-store');
    h.append('set-cookie', 'a=b');
    h.get('content-type');
    h.has('x-warm');
    for (const _ of h) {}
    const u = new URL('http://warm.localhost:8787/a/b.c?q=1&r=%20#h');
    u.searchParams.get('q');
    void new URL('/x?y', u).href;
    void new URL('https://example.com/').origin;
    const req = new Request('http://warm.localhost/path?q=1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    req.headers.get('content-type');
    new Request(req, { method: 'PUT' });
    new Response('hello', { status: 200, statusText: 'OK', headers: { 'content-type': 'text/plain' } }).headers.get('content-type');
    new Response(null, { status: 204, headers: [['x-a', 'b']] });
    Response.json({ ok: true }, { headers: { 'x-b': 'c' } });
    Response.redirect('http://warm.localhost/', 302);
    new TextDecoder().decode(new TextEncoder().encode('héllo'));
    JSON.parse(JSON.stringify({ a: [1, 'b'] }));
  }
})()`;

/** What the snapshot's warm-up runs (exported for tests). */
export const snapshotWarmup = (): string => `${STREAMS_WARMUP}\n${REQUEST_WARMUP(PRELUDE_CAPS)}\ntry { ${CONTEXT_WARMUP}; } catch {}\n`;

/** Two modules, one importing the other, shaped like the bootstrap and a worker. */
const WARM_MODULES: Record<string, string> = {
  'edge:warm-up/bootstrap.js':
    `import * as entry from './index.js';\n` +
    `const w = entry.default;\n` +
    `if (w === null || (typeof w !== 'object' && typeof w !== 'function')) throw new Error('warm-up');\n` +
    `void Object.keys(entry);\n`,
  'edge:warm-up/index.js': `export default { fetch(request, env, ctx) { return null; } };\n`,
};

async function warmModules(isolate: ivm.Isolate, context: ivm.Context): Promise<void> {
  const compiled: ivm.Module[] = [];
  const compile = (path: string): ivm.Module => {
    const m = isolate.compileModuleSync(WARM_MODULES[path]!, { filename: path });
    compiled.push(m);
    return m;
  };
  try {
    const root = compile('edge:warm-up/bootstrap.js');
    root.instantiateSync(context, () => compile('edge:warm-up/index.js'));
    await root.evaluate({ timeout: CONTEXT_WARMUP_TIMEOUT_MS, promise: true });
  } catch {
    // A warm-up, not a check: a cold start that needs these paths compiles them itself.
    if (isolate.isDisposed) throw new Error('the isolate was disposed while warming up');
  } finally {
    for (const m of compiled) m.release();
  }
}

export interface IsolatePoolOptions {
  /** Spare isolates kept ready for the default memory limit. */
  size?: number;
  defaultMemoryMb?: number;
  /** The JS facades of the host's capabilities (from its registry), compiled into the prelude snapshot. */
  facades?: readonly FacadeModule[];
}

export class IsolatePool {
  private readonly snapshot: ivm.ExternalCopy<ArrayBuffer>;
  private readonly spares = new Map<number, PooledIsolate[]>();
  private readonly size: number;
  private readonly defaultMemoryMb: number;
  private refilling = false;
  private refillTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(snapshot: ivm.ExternalCopy<ArrayBuffer>, options: IsolatePoolOptions) {
    this.snapshot = snapshot;
    this.size = options.size ?? 4;
    this.defaultMemoryMb = options.defaultMemoryMb ?? 128;
  }

  static async create(options: IsolatePoolOptions = {}): Promise<IsolatePool> {
    const prelude = await buildPrelude(options.facades ?? []);
    const snapshot = ivm.Isolate.createSnapshot([{ code: prelude, filename: 'edge:prelude' }], snapshotWarmup());
    const pool = new IsolatePool(snapshot, options);
    pool.refill();
    return pool;
  }

  /** A ready isolate with `memoryMb` as its heap limit: from the spares when one is there, else made now. */
  async take(memoryMb: number): Promise<PooledIsolate> {
    const list = this.spares.get(memoryMb);
    const spare = list?.pop();
    this.scheduleRefill();
    if (spare && !spare.isolate.isDisposed) return spare;
    return this.make(memoryMb, false);
  }

  /**
   * `warm`: run the context's warm-ups (CONTEXT_WARMUP, warmModules), which pay off only off the cold start, for a
   * spare: made on demand, the cold start would pay them (~1 ms) for less than they save it.
   */
  private async make(memoryMb: number, warm = true): Promise<PooledIsolate> {
    const isolate = new ivm.Isolate({ snapshot: this.snapshot, memoryLimit: memoryMb });
    try {
      const context = await isolate.createContext();
      const pooled: { sink: IsolateSink } = { sink: idleSink };
      const pending = new PendingReplies();
      const init = (await context.global.get('__edgeInit', { reference: true })) as ivm.Reference<(...a: unknown[]) => unknown>;
      const entry = (await init.apply(
        undefined,
        [
          new ivm.Reference((level: unknown, text: unknown) => pooled.sink.log(String(level), String(text))),
          new ivm.Reference(randomBytes),
          new ivm.Reference(urlParse),
          new ivm.Reference((reqId: unknown, op: unknown, arg: unknown) => {
            if (typeof reqId === 'number' && typeof op === 'string') pooled.sink.call(reqId, op, arg);
          }),
          new ivm.Reference(invokeFunction(() => pooled.sink, pending)),
          new ivm.Reference((ticket: unknown) => waitFromGuest(pending, ticket)),
          new ivm.ExternalCopy(edgeInitOptions(memoryMb)).copyInto(),
        ],
        { result: { reference: true } },
      )) as ivm.Reference<(cmd: unknown) => unknown>;
      init.release();
      // One empty entry now: an isolate's first entry costs ~0.4 ms more than the next ones (measured: thread and
      // lock set-up, the trampoline's first run), which the pool pays here instead of the cold start that takes it.
      await entry.apply(undefined, [{ t: 'memory' }], { arguments: { copy: true }, result: { copy: true, promise: true } });
      if (warm) await context.eval(CONTEXT_WARMUP, { timeout: CONTEXT_WARMUP_TIMEOUT_MS });
      // And a module graph compiled, linked and evaluated the way a cold start does it (bootstrap.ts: compile and link
      // on this thread, evaluate on isolated-vm's): measured, an isolate's first module compile cost ~200 µs for a
      // bootstrap of 850 characters, the next ~90 µs. The modules are unreachable from guest code (no namespace is
      // handed out) and have no effects.
      if (warm) await warmModules(isolate, context);
      return Object.assign(pooled, { isolate, context, entry, memoryMb });
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  /**
   * Refills a little later: creating an isolate blocks the event loop for ~1-3 ms, which must not land in the
   * middle of the cold start that just took a spare (measured: it tripled that cold start).
   */
  private scheduleRefill(): void {
    if (this.closed) return;
    if (this.refillTimer) clearTimeout(this.refillTimer);
    this.refillTimer = setTimeout(() => {
      this.refillTimer = null;
      this.refill();
    }, REFILL_DELAY_MS);
    this.refillTimer.unref();
  }

  /** Tops the default-limit spares back up, one isolate per macrotask so that warm traffic keeps flowing. */
  private refill(): void {
    if (this.refilling || this.closed) return;
    this.refilling = true;
    const step = (): void => {
      const list = this.spares.get(this.defaultMemoryMb) ?? [];
      this.spares.set(this.defaultMemoryMb, list);
      if (this.closed || list.length >= this.size) {
        this.refilling = false;
        return;
      }
      this.make(this.defaultMemoryMb).then(
        (p) => {
          if (this.closed) p.isolate.dispose();
          else list.push(p);
          setImmediate(step);
        },
        () => {
          this.refilling = false;
        },
      );
    };
    setImmediate(step);
  }

  get spareCount(): number {
    let n = 0;
    for (const l of this.spares.values()) n += l.length;
    return n;
  }

  close(): void {
    this.closed = true;
    if (this.refillTimer) clearTimeout(this.refillTimer);
    for (const list of this.spares.values()) for (const p of list) if (!p.isolate.isDisposed) p.isolate.dispose();
    this.spares.clear();
  }
}
