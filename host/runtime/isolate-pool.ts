// Pre-created isolates for cold starts: each one is made from a V8 startup snapshot of the prelude, gets its
// context and host bridge ahead of time, and waits until a worker version adopts it. A cold start then
// costs only compiling the worker (with its code cache) and one call.
import ivm from 'isolated-vm';
import { randomFillSync } from 'node:crypto';
import { buildPrelude, type FacadeModule } from './js/prelude-bundle.ts';
import { CRYPTO_LIMITS, PRELUDE_CAPS } from '../core/limits.ts';

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

/** Replies an isolate's guest is blocked on, by ticket (see internal/bridge.js, hostInvoke). One per isolate. */
class PendingReplies {
  private readonly map = new Map<number, Promise<unknown>>();
  private next = 1;
  add(p: Promise<unknown>): number {
    const t = this.next++;
    this.map.set(t, p);
    return t;
  }
  take(t: unknown): Promise<unknown> | undefined {
    const p = typeof t === 'number' ? this.map.get(t) : undefined;
    if (p) this.map.delete(t as number);
    return p;
  }
}

function invokeFromGuest(sink: () => IsolateSink, pending: PendingReplies, op: unknown, arg: unknown): unknown {
  if (typeof op !== 'string') return { x: 'invoke: op must be a string' };
  let reply: unknown;
  try {
    reply = sink().invoke(op, arg);
  } catch (err) {
    return { x: err instanceof Error ? err.message : String(err) };
  }
  if (reply !== null && typeof reply === 'object' && typeof (reply as PromiseLike<unknown>).then === 'function') {
    return { p: pending.add(Promise.resolve(reply).catch((err: unknown) => ({ x: err instanceof Error ? err.message : String(err) }))) };
  }
  return reply;
}

/** applySyncPromise takes no result options: the reply crosses as a transferable copy. */
function waitFromGuest(pending: PendingReplies, ticket: unknown): Promise<unknown> {
  const p = pending.take(ticket) ?? Promise.resolve({ x: `no pending host reply ${String(ticket)}` });
  return p.then((reply) => new ivm.ExternalCopy(reply).copyInto({ release: true }));
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

/**
 * Run once, in a throwaway context, when the snapshot is made: V8 keeps the bytecode of the functions it compiled
 * (not the heap the script left, nor its microtasks, which never run). The streams implementation is compiled here,
 * not on the CPU of the first request of each isolate that makes a stream (a request body, an R2 object body): the
 * first ReadableStream in a new isolate cost 4-5.6 ms of CPU, 0.4-0.8 ms with this; an idle isolate's heap is
 * ~200 KiB larger (1.33 -> 1.53 MB), one that made a stream ~100 KiB.
 */
const SNAPSHOT_WARMUP = `
try {
  const r = new Response(new ReadableStream({ type: 'bytes', pull(c) { c.enqueue(new Uint8Array(8)); c.close(); } }));
  const [a, b] = r.body.tee();
  void new Response(a).arrayBuffer().catch(() => {});
  void new Response(b.pipeThrough(new TransformStream())).text().catch(() => {});
  void new ReadableStream({ start(c) { c.enqueue(new Uint8Array(1)); c.close(); } }).getReader().read().catch(() => {});
} catch {}
`;

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
    const snapshot = ivm.Isolate.createSnapshot([{ code: prelude, filename: 'edge:prelude' }], SNAPSHOT_WARMUP);
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
    return this.make(memoryMb);
  }

  private async make(memoryMb: number): Promise<PooledIsolate> {
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
          new ivm.Reference((op: unknown, arg: unknown) => invokeFromGuest(() => pooled.sink, pending, op, arg)),
          new ivm.Reference((ticket: unknown) => waitFromGuest(pending, ticket)),
          new ivm.ExternalCopy({ memoryBytes: memoryMb * 1024 * 1024, caps: PRELUDE_CAPS }).copyInto(),
        ],
        { result: { reference: true } },
      )) as ivm.Reference<(cmd: unknown) => unknown>;
      init.release();
      // One empty entry now: an isolate's first entry costs ~0.4 ms more than the next ones (measured: thread and
      // lock set-up, the trampoline's first run), which the pool pays here instead of the cold start that takes it.
      await entry.apply(undefined, [{ t: 'memory' }], { arguments: { copy: true }, result: { copy: true, promise: true } });
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
