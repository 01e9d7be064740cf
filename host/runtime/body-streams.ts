// Bodies crossing the isolate boundary: the request body read by a JS worker (chunk entries) or a component
// ('body.read'), a response body pulled out of the isolate as the client reads, a guest stream sent as a fetch's
// body, and a component's begin-response (the body it then writes is a ComponentBodyOut).
import { EdgeError } from '../core/errors.ts';
import type { ChunkCommand, InvokeOps, PullResult, Untrusted } from '../core/isolate-protocol.ts';
import { ComponentBodyOut } from './component-body-out.ts';
import { asEdgeError, errorText } from './error-response.ts';
import type { RequestContext, RequestRunner } from './request-context.ts';

/** A request-body chunk as bytes (Node streams give Buffers, or strings when an encoding was set). */
export function asBytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(Buffer.from(String(value)));
}

/** The next chunk of the incoming request's body for a JS worker's 'body.read', as a 'chunk' entry. */
export function readBodyChunk(runner: RequestRunner, rc: RequestContext): void {
  if (!rc.body) {
    runner.enter(rc, { t: 'chunk', reqId: rc.id, done: true }).catch(() => {});
    return;
  }
  rc.bodyIter ??= rc.body[Symbol.asyncIterator]();
  rc.bodyIter.next().then(
    ({ value, done }) => {
      if (rc.failure || rc.ended) return;
      const cmd: ChunkCommand = done
        ? { t: 'chunk', reqId: rc.id, done: true }
        : { t: 'chunk', reqId: rc.id, chunk: asBytes(value) };
      return runner.enter(rc, cmd);
    },
    (err: unknown) => {
      if (rc.failure || rc.ended) return;
      return runner.enter(rc, { t: 'chunk', reqId: rc.id, error: `Reading the request body failed: ${errorText(err)}` });
    },
  ).catch((err) => runner.failRequest(rc, asEdgeError(err)));
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
      return take(asBytes(value));
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

/** Streams a response body out of the isolate, one chunk per entry, as fast as the client reads. */
export async function* pullBody(runner: RequestRunner, rc: RequestContext, streamId: number, waitUntil: boolean): AsyncGenerator<Uint8Array> {
  let completed = false;
  try {
    for (;;) {
      let r = await rc.race(runner.enter(rc, { t: 'pull', reqId: rc.id, id: streamId }));
      if ('deferred' in r) r = await rc.race(rc.wait<PullResult>(`pulled:${streamId}`));
      if (r.error) {
        runner.tail('error', 'exception', `Uncaught (in response body stream) ${r.error.message}`, undefined, r.error.stack);
        throw new EdgeError('E_WORKER_EXCEPTION', 'The response body stream failed.', { status: 500 });
      }
      if (r.done) break;
      if (r.chunk && r.chunk.byteLength > 0) yield r.chunk;
    }
    completed = true;
  } finally {
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
      if (r.chunk && r.chunk.byteLength > 0) yield r.chunk;
    }
    completed = true;
  } finally {
    // The upstream went away, the fetch was aborted or the request ended: the guest's stream is cancelled.
    if (!completed && !runner.dead) runner.enter(rc.failure || rc.ended ? null : rc, { t: 'cancel', reqId: rc.id, id: streamId }).catch(() => {});
  }
}
