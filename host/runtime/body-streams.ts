// Bodies crossing the isolate boundary: the request body read by a JS worker (chunk entries) or a component
// ('body.read'), a response body pulled out of the isolate as the client reads, a guest stream sent as a fetch's
// body, and a component's begin-response (the body it then writes is a ComponentBodyOut).
import type { Readable } from 'node:stream';
import { EdgeError } from '../core/errors.ts';
import type { ChunkCommand, HostBodyPipe, HostOpOutcome, InvokeOps, PullResult, Untrusted } from '../core/isolate-protocol.ts';
import { ComponentBodyOut } from './component-body-out.ts';
import { asEdgeError, errorText } from './error-response.ts';
import { LimitExceededError } from './limits.ts';
import type { RequestContext, RequestRunner } from './request-context.ts';
import { heldChunks } from './held-bodies.ts';
import { fetchedValues } from './outbound-fetches.ts';
import { handOver, release } from '../../storage/owned-bytes.ts';

/** A request-body chunk as bytes (Node streams give Buffers, or strings when an encoding was set). */
export function asBytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(Buffer.from(String(value)));
}

/**
 * Bytes of the incoming body one 'chunk' entry carries at most. Between two reads of the guest the host reads ahead
 * (up to this much; the socket's backpressure holds the rest), and the next read takes all of it in one entry: an
 * entry costs the isolate ~80 us, so 64 KiB per entry (what the socket gives) made that most of reading a body.
 */
const CHUNK_ENTRY_BYTES = 1 << 20;

/** The incoming body read ahead of the guest (readBodyChunk). */
interface BodyReadAhead {
  parts: Uint8Array[];
  bytes: number;
  done: boolean;
  error: { why: unknown } | null;
  reading: boolean;
  /** The guest's read waiting for the next bytes. */
  waiter: (() => void) | null;
}

const readAheads = new WeakMap<RequestContext, BodyReadAhead>();

/** Reads the body on while less than CHUNK_ENTRY_BYTES wait for the guest. */
function readAhead(rc: RequestContext, ra: BodyReadAhead): void {
  if (ra.reading || ra.done || ra.error || ra.bytes >= CHUNK_ENTRY_BYTES || rc.failure || rc.ended || !rc.bodyIter) return;
  ra.reading = true;
  rc.bodyIter.next().then(
    ({ value, done }) => {
      ra.reading = false;
      if (done) ra.done = true;
      else {
        const chunk = asBytes(value);
        if (chunk.byteLength > 0) {
          handOverRead(chunk);
          ra.parts.push(chunk);
          ra.bytes += chunk.byteLength;
        }
      }
      readAhead(rc, ra);
      const w = ra.waiter;
      ra.waiter = null;
      w?.();
    },
    (err: unknown) => {
      ra.reading = false;
      ra.error = { why: err };
      const w = ra.waiter;
      ra.waiter = null;
      w?.();
    },
  );
}

/**
 * A chunk of the incoming body as the socket gave it: Node's HTTP parser copies each piece of a body into a buffer of
 * its own, which nothing but this reader sees, so the chunk is handed over (freed once copied on or written out). A
 * chunk that is a view of a larger buffer (a pool's, a read shared with other data) is left to the GC.
 */
function handOverRead(chunk: Uint8Array): void {
  if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength) handOver(chunk);
}

/** Parts joined into a buffer of their own (never from Node's shared pool), handed over to be freed once used. */
function joined(parts: Uint8Array[], bytes: number): Uint8Array {
  const out = Buffer.allocUnsafeSlow(bytes);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  handOver(out);
  return out;
}

/** The next bytes of the incoming request's body for a JS worker's 'body.read' (all that was read ahead), as a 'chunk' entry. */
export function readBodyChunk(runner: RequestRunner, rc: RequestContext): void {
  if (!rc.body) {
    runner.enter(rc, { t: 'chunk', reqId: rc.id, done: true }).catch(() => {});
    return;
  }
  rc.bodyIter ??= rc.body[Symbol.asyncIterator]();
  let ra = readAheads.get(rc);
  if (!ra) readAheads.set(rc, (ra = { parts: [], bytes: 0, done: false, error: null, reading: false, waiter: null }));
  const r = ra;
  const deliver = (): void => {
    if (rc.failure || rc.ended) return;
    let cmd: ChunkCommand;
    if (r.bytes > 0) {
      // One host copy when several parts wait (not the guest's CPU), then the one copy into the isolate.
      const parts = r.parts;
      const chunk = parts.length === 1 ? parts[0]! : joined(parts, r.bytes);
      if (parts.length > 1) for (const p of parts) release(p);
      r.parts = [];
      r.bytes = 0;
      cmd = { t: 'chunk', reqId: rc.id, chunk };
    } else if (r.error) {
      cmd = { t: 'chunk', reqId: rc.id, error: `Reading the request body failed: ${errorText(r.error.why)}` };
    } else if (r.done) {
      cmd = { t: 'chunk', reqId: rc.id, done: true };
    } else {
      r.waiter = deliver;
      readAhead(rc, r);
      return;
    }
    // Read on while the guest handles these bytes.
    readAhead(rc, r);
    const entered = runner.enter(rc, cmd);
    // The entry copied the bytes into the isolate: they are freed now, not at a mark-compact.
    if ('chunk' in cmd) void entered.finally(() => release(cmd.chunk!)).catch(() => {});
    entered.catch((err) => runner.failRequest(rc, asEdgeError(err)));
  };
  deliver();
}

/**
 * Lets the rest of a request body nobody will read go, so that the connection can serve its next request. Once read
 * through an async iterator (a worker's 'body.read', a host body stopped part way: a value too large to store), the
 * body has that iterator's 'readable' listener, under which resume() does nothing: the body would stay paused, the
 * client's next request on the connection unanswered.
 */
export function discardBody(body: Readable): void {
  body.removeAllListeners('readable');
  body.resume();
}

type BodyReadReply = InvokeOps['body.read']['reply'];

/** A component's read of its request body ('body.read'): up to `max` bytes, `v: null` at its end. */
export function readBodyForComponent(requests: ReadonlyMap<number, RequestContext>, arg: unknown): BodyReadReply | Promise<BodyReadReply> {
  const a = (arg ?? {}) as Untrusted<InvokeOps['body.read']['arg']>;
  const rc = typeof a.reqId === 'number' ? requests.get(a.reqId) : undefined;
  if (!rc || rc.failure || rc.ended) return { e: { tag: 'closed' } };
  const max = typeof a.max === 'number' && a.max > 0 ? a.max : 65536;
  const take = (chunk: Uint8Array): BodyReadReply => {
    if (chunk.byteLength <= max) return { v: chunk };
    rc.bodyRest = chunk.subarray(max);
    return { v: chunk.subarray(0, max) };
  };
  if (rc.bodyRest) {
    const rest = rc.bodyRest;
    rc.bodyRest = null;
    return take(rest);
  }
  if (!rc.body) return { v: null };
  rc.bodyIter ??= rc.body[Symbol.asyncIterator]();
  const next = rc.bodyIter.next().then(
    ({ value, done }): BodyReadReply => {
      if (done) return { v: null };
      const chunk = asBytes(value);
      // Copied into the isolate by the host's answer (isolate-pool.ts, bytesReply), which then frees it.
      handOverRead(chunk);
      return take(chunk);
    },
    (err: unknown): BodyReadReply => ({ e: { tag: 'io', val: `reading the request body failed: ${errorText(err)}` } }),
  );
  return rc.race(next).catch((): BodyReadReply => ({ e: { tag: 'closed' } }));
}

/** A component's begin-response ('resp.begin'): its head is delivered to the request as 'early', its body follows. */
export function beginComponentResponse(requests: ReadonlyMap<number, RequestContext>, arg: unknown): InvokeOps['resp.begin']['reply'] {
  const a = (arg ?? {}) as Untrusted<InvokeOps['resp.begin']['arg']>;
  const rc = typeof a.reqId === 'number' ? requests.get(a.reqId) : undefined;
  if (!rc || rc.failure || rc.ended) return { e: { tag: 'closed' } };
  if (rc.out) return { e: { tag: 'io', val: 'begin-response was already called for this request' } };
  const status = a.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    return { e: { tag: 'io', val: `begin-response: status must be 200-599, got ${String(status)}` } };
  }
  const headers: Array<[string, string]> = [];
  for (const h of Array.isArray(a.headers) ? a.headers : []) {
    if (!Array.isArray(h) || typeof h[0] !== 'string' || typeof h[1] !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h[0]) || /[\r\n\0]/.test(h[1])) {
      return { e: { tag: 'io', val: `begin-response: invalid header ${JSON.stringify(h)}` } };
    }
    headers.push([h[0].toLowerCase(), h[1]]);
  }
  rc.out = new ComponentBodyOut();
  rc.deliver('early', { status, headers });
  return { v: null };
}

/**
 * A response body cut off by a limit after its head went out: the client sees the connection reset (data-plane.ts
 * destroys it), and tail says which limit and how much of the body had been sent.
 */
function tailCutOff(runner: RequestRunner, rc: RequestContext, sent: number): void {
  const e = rc.failure;
  if (!(e instanceof LimitExceededError)) return;
  runner.tail('error', 'limit', `${e.code}: the response body was cut off after ${sent} bytes had been sent (the connection was reset): ${e.message}`, e.code);
}

/** The non-empty chunks of a pull's result: its chunk, then those the guest had ready with it (PullResult `rest`). */
function pulledChunks(r: PullResult): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (r.chunk instanceof Uint8Array && r.chunk.byteLength > 0) out.push(r.chunk);
  const rest: unknown = 'rest' in r ? r.rest : undefined;
  if (Array.isArray(rest)) for (const c of rest as unknown[]) if (c instanceof Uint8Array && c.byteLength > 0) out.push(c);
  return out;
}

/** Streams a response body out of the isolate, one entry per chunk the guest has ready (or several), as fast as the client reads. */
export async function* pullBody(runner: RequestRunner, rc: RequestContext, streamId: number, waitUntil: boolean): AsyncGenerator<Uint8Array> {
  let completed = false;
  let sent = 0;
  try {
    for (;;) {
      let r = await rc.race(runner.enter(rc, { t: 'pull', reqId: rc.id, id: streamId }));
      if ('deferred' in r) r = await rc.race(rc.wait<PullResult>(`pulled:${streamId}`));
      if (r.error) {
        runner.tail('error', 'exception', `Uncaught (in response body stream) ${r.error.message}`, undefined, r.error.stack);
        throw new EdgeError('E_WORKER_EXCEPTION', 'The response body stream failed.', { status: 500 });
      }
      if (r.done) break;
      // The entry made these chunks the host's own copies: handed over to the consumer (who may free them once
      // written), all together, as several can view one buffer.
      const chunks = pulledChunks(r);
      handOver(...chunks);
      for (const chunk of chunks) {
        sent += chunk.byteLength;
        yield chunk;
      }
    }
    completed = true;
  } finally {
    if (!completed) tailCutOff(runner, rc, sent);
    if (!completed && !rc.failure) {
      // The client went away or the stream failed: let the guest's stream know.
      runner.enter(rc, { t: 'cancel', reqId: rc.id, id: streamId }).catch(() => {});
    }
    runner.finishAfter(rc, waitUntil && completed);
  }
}

/** A guest's ReadableStream sent as a fetch's request body, pulled one chunk per entry as the upstream takes them. */
export async function* pullGuestStream(runner: RequestRunner, rc: RequestContext, streamId: number): AsyncGenerator<Uint8Array> {
  let completed = false;
  try {
    for (;;) {
      let r = await rc.race(runner.enter(rc, { t: 'pull', reqId: rc.id, id: streamId }));
      if ('deferred' in r) r = await rc.race(rc.wait<PullResult>(`pulled:${streamId}`));
      if (r.error) throw new TypeError(`the request body stream failed: ${r.error.message}`);
      if (r.done) break;
      yield* pulledChunks(r);
    }
    completed = true;
  } finally {
    // The upstream went away, the fetch was aborted or the request ended: the guest's stream is cancelled.
    if (!completed && !runner.dead) runner.enter(rc.failure || rc.ended ? null : rc, { t: 'cancel', reqId: rc.id, id: streamId }).catch(() => {});
  }
}

/** What the host needs of the instance's capabilities to read and write a resource's body (CapabilityInstance.invoke). */
export interface HostBodyCaps {
  invoke(call: { i: string; r: string; m: string; k: 'method' | 'drop'; h: number; a: unknown[] }, scope?: number): { v: unknown } | { e: unknown } | { x: string } | Promise<{ v: unknown } | { e: unknown } | { x: string }>;
}

/**
 * Bytes per read of a resource's body: the blob store's own chunk size (storage/blob READ_CHUNK_BYTES), so that reads
 * pass its chunks on uncopied. 256 KiB rather than 64, and reads kept on the store's chunks (hostBodyChunks): a 100 MB
 * R2 object passed through cost the host 578-612 ms of process CPU before, 324-358 ms after (2-core VM, loaded).
 */
const HOST_BODY_READ_BYTES = 256 * 1024;

function capFailure(what: string, r: { e: unknown } | { x: string }): Error {
  return new Error(`${what}: ${'x' in r ? r.x : JSON.stringify(r.e)}`);
}

/**
 * The bytes of a host body the guest handed back unread (HostBodyRef), read on the host as they are asked for: the
 * request's own body, or a capability resource's (`read(max)` until it answers nothing; the handle is dropped after).
 * The reference is untrusted: it can only name this request's body or a handle the worker holds anyway.
 */
export async function* hostBodyChunks(rc: RequestContext, caps: HostBodyCaps, ref: unknown): AsyncGenerator<Uint8Array> {
  const r = (ref ?? {}) as Untrusted<{ k: string; reqId: number; i: string; r: string; h: number; first: Uint8Array; id: number }>;
  if (r.k === 'held') {
    // Bytes the host kept for this request (held-bodies.ts: a KV value, a Cache API match).
    yield* heldChunks(rc, r.id);
    return;
  }
  if (r.k === 'fetched') {
    // A fetch's response body (egress.ts), read from the upstream.
    if (r.reqId !== rc.id) throw new TypeError('fetch(): a response body can be handed on only during the request that fetched it.');
    for await (const value of fetchedValues(rc, r.id)) {
      const chunk = asBytes(value);
      if (chunk.byteLength > 0) yield chunk;
    }
    return;
  }
  if (r.k === 'incoming') {
    if (r.reqId !== rc.id || rc.body === null || rc.bodyIter !== null || rc.bodyPassedOn) throw new TypeError('the request body was already read, so it cannot be sent on.');
    const iter = (rc.bodyIter = rc.body[Symbol.asyncIterator]());
    for (;;) {
      const n = await iter.next();
      if (n.done) return;
      const chunk = asBytes(n.value);
      if (chunk.byteLength === 0) continue;
      handOverRead(chunk);
      yield chunk;
    }
  }
  if (r.k !== 'cap' || typeof r.i !== 'string' || typeof r.r !== 'string' || typeof r.h !== 'number' || !(r.first instanceof Uint8Array)) throw new TypeError('malformed host body reference');
  const call = { i: r.i, r: r.r, h: r.h };
  try {
    if (r.first.byteLength > 0) yield r.first;
    if (call.h === 0) return;
    // The first bytes (the facade's 16 KiB) were cut from the store's first chunk: reading its rest alone keeps every
    // later read on the store's chunks, which then pass uncopied (a read across two chunks joins them).
    let max = HOST_BODY_READ_BYTES - (r.first.byteLength % HOST_BODY_READ_BYTES);
    for (;;) {
      const reply = await caps.invoke({ ...call, m: 'read', k: 'method', a: [max] }, rc.id);
      max = HOST_BODY_READ_BYTES;
      if (!('v' in reply)) throw capFailure(`${call.r}.read`, reply);
      if (reply.v === undefined || reply.v === null) return;
      if (!(reply.v instanceof Uint8Array)) throw new TypeError(`${call.r}.read did not answer bytes`);
      if (reply.v.byteLength > 0) yield reply.v;
    }
  } finally {
    if (call.h !== 0) void Promise.resolve(caps.invoke({ ...call, m: '', k: 'drop', a: [] }, rc.id)).catch(() => {});
  }
}

/**
 * A host body the worker returned unread as its response body, sent to the client by the host (no entry per chunk,
 * no isolate CPU). A failure after the head went out ends the response visibly (the connection is reset).
 */
export async function* sendHostBody(runner: RequestRunner, rc: RequestContext, caps: HostBodyCaps, ref: unknown, waitUntil: boolean): AsyncGenerator<Uint8Array> {
  const chunks = hostBodyChunks(rc, caps, ref);
  let completed = false;
  let sent = 0;
  try {
    for (;;) {
      let n: IteratorResult<Uint8Array>;
      try {
        n = await rc.race(chunks.next());
      } catch (err) {
        if (rc.failure) throw rc.failure;
        runner.tail('error', 'exception', `The response body failed after ${sent} bytes: ${errorText(err)}`);
        throw new EdgeError('E_WORKER_EXCEPTION', 'The response body stream failed.', { status: 500 });
      }
      if (n.done) break;
      sent += n.value.byteLength;
      yield n.value;
    }
    completed = true;
  } finally {
    if (!completed) tailCutOff(runner, rc, sent);
    if (!completed) void chunks.return(undefined).catch(() => {});
    runner.finishAfter(rc, waitUntil && completed);
  }
}

/**
 * The 'body.pipe' host op (HostBodyPipe): host body `from` written into writer resource `to`, each write awaited
 * (the store's backpressure); the guest finishes the writer itself. Settles with the outcome for the guest.
 */
export async function pipeHostBody(rc: RequestContext, caps: HostBodyCaps, arg: unknown): Promise<HostOpOutcome> {
  const a = (arg ?? {}) as Untrusted<HostBodyPipe>;
  const to = (a.to ?? {}) as Untrusted<HostBodyPipe['to']>;
  if (typeof to.i !== 'string' || typeof to.r !== 'string' || typeof to.h !== 'number') return { e: { name: 'TypeError', message: 'body.pipe: malformed writer' } };
  const target = { i: to.i, r: to.r, h: to.h };
  const chunks = hostBodyChunks(rc, caps, a.from);
  let completed = false;
  try {
    for (;;) {
      const n = await rc.race(chunks.next());
      if (n.done) break;
      const reply = await rc.race(Promise.resolve(caps.invoke({ ...target, m: 'write', k: 'method', a: [n.value] }, rc.id)));
      if (!('v' in reply)) return { e: { name: 'Error', message: capFailure(`${target.r}.write`, reply).message } };
    }
    completed = true;
    return { v: null };
  } catch (err) {
    return { e: { name: err instanceof TypeError ? 'TypeError' : 'Error', message: errorText(err) } };
  } finally {
    if (!completed) void chunks.return(undefined).catch(() => {});
  }
}

/**
 * A host body read whole on the host, failing with `tooLarge` past `max` bytes (a RangeError). With `own`, the bytes are
 * always in a buffer of their own that they fill (nothing else holds it: the caller may move it into an isolate), and
 * each chunk handed over is given back once copied; `size`, when the length is known (an upload's Content-Length),
 * has that buffer made first and each chunk copied in as it comes. Else a body of one chunk is that chunk.
 */
export async function collectHostBody(rc: RequestContext, caps: HostBodyCaps, ref: unknown, max: number, tooLarge: string, own = false, size?: number): Promise<Uint8Array> {
  // A known length past `max` fails before a byte is read.
  if (own && size !== undefined && size > max) throw new RangeError(tooLarge);
  // Filled as the chunks come when the length is known; chunks past it (never, for a parsed upload) are kept apart.
  let filled = own && size !== undefined && size <= max ? new Uint8Array(new ArrayBuffer(size)) : null;
  let at = 0;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const source = hostBodyChunks(rc, caps, ref);
  let completed = false;
  try {
    for (;;) {
      const n = await rc.race(source.next());
      if (n.done) break;
      const chunk = n.value;
      total += chunk.byteLength;
      if (total > max) throw new RangeError(tooLarge);
      if (filled !== null && at + chunk.byteLength <= filled.byteLength) {
        filled.set(chunk, at);
        at += chunk.byteLength;
        release(chunk);
        continue;
      }
      if (filled !== null) {
        chunks.push(filled.subarray(0, at));
        filled = null;
      }
      chunks.push(chunk);
    }
    completed = true;
  } finally {
    if (!completed) {
      void source.return(undefined).catch(() => {});
      for (const c of chunks) release(c);
    }
  }
  if (filled !== null && at === filled.byteLength) return filled;
  if (filled !== null) chunks.push(filled.subarray(0, at));
  if (chunks.length === 1 && !own) return chunks[0]!;
  const out = new Uint8Array(new ArrayBuffer(total));
  let to = 0;
  for (const c of chunks) {
    out.set(c, to);
    to += c.byteLength;
    if (own) release(c);
  }
  return out;
}
