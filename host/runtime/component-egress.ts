// The host side of a wasi:http/proxy component's outgoing-handler ('wasi.fetch', 'wasi.fetch.read') and of its
// timers ('wasi.sleep'): the guest's thread blocks on each (a synchronous import) while the host works. A fetch is a
// worker's subrequest like a JS worker's fetch(): counted against the request's subrequest limit, sent through the
// same dispatcher (the egress policy, other workers in-process); its response body stays upstream until read.
import type { InvokeOps, Untrusted } from '../core/isolate-protocol.ts';
import { asEdgeError, errorText } from './error-response.ts';
import { asBytes } from './body-streams.ts';
import type { RequestContext, RequestRunner } from './request-context.ts';

type FetchReply = InvokeOps['wasi.fetch']['reply'];
type ReadReply = InvokeOps['wasi.fetch.read']['reply'];

/** A response body a component has not read to its end: the iterator and what is left of the last chunk. */
interface PendingBody {
  iter: AsyncIterator<Uint8Array>;
  rest: Uint8Array | null;
  bytes: Uint8Array | null;
}

const bodiesByRequest = new WeakMap<RequestContext, Map<number, PendingBody>>();
let nextId = 1;

function bodies(rc: RequestContext): Map<number, PendingBody> {
  let m = bodiesByRequest.get(rc);
  if (!m) {
    bodiesByRequest.set(rc, (m = new Map()));
    // The request ended (or failed): bodies the component did not finish release their upstream.
    rc.signal.addEventListener('abort', () => release(m!), { once: true });
  }
  return m;
}

function release(m: Map<number, PendingBody>): void {
  for (const b of m.values()) void b.iter.return?.()?.catch(() => {});
  m.clear();
}

/** wasi:http error-code for a failed subrequest: a refusal of the egress policy is `destination-IP-prohibited`. */
function errorCode(text: string): { tag: string; val?: unknown } {
  if (/egress policy/.test(text)) return { tag: 'destination-IP-prohibited' };
  if (/invalid URL|unsupported scheme/.test(text)) return { tag: 'HTTP-request-URI-invalid' };
  return { tag: 'internal-error', val: text };
}

/** 'wasi.fetch': the component's outgoing request, answered with its response head. */
export function componentFetch(runner: RequestRunner, requests: ReadonlyMap<number, RequestContext>, arg: unknown): FetchReply | Promise<FetchReply> {
  const a = (arg ?? {}) as Untrusted<InvokeOps['wasi.fetch']['arg']>;
  const rc = typeof a.reqId === 'number' ? requests.get(a.reqId) : undefined;
  if (!rc || rc.failure || rc.ended) return { e: { tag: 'internal-error', val: 'the request has ended' } };
  if (typeof a.method !== 'string' || typeof a.url !== 'string' || !Array.isArray(a.headers)) return { x: 'wasi.fetch: malformed request' };
  try {
    rc.limiter.newSubrequest();
  } catch (err) {
    // Over the limit: the request ends with the limit's error, as for a JS worker.
    runner.failRequest(rc, asEdgeError(err));
    return { e: { tag: 'internal-error', val: errorText(err) } };
  }
  const headers = (a.headers as unknown[]).filter((h): h is [string, string] => Array.isArray(h) && typeof h[0] === 'string' && typeof h[1] === 'string');
  const body = a.body instanceof Uint8Array && a.body.byteLength > 0 ? a.body : null;
  const sent = runner.subrequest({ method: a.method, url: a.url, headers, body, redirect: 'manual', signal: rc.signal }, rc.depth).then(
    (r): FetchReply => {
      const id = nextId++;
      const iter = r.body ? r.body[Symbol.asyncIterator]() : null;
      const bytes = r.bytes && r.bytes.byteLength > 0 ? r.bytes : null;
      if (iter || bytes) bodies(rc).set(id, { iter: iter ?? (async function* () {})(), rest: null, bytes });
      return { v: { id, status: r.status, headers: r.headers, body: iter !== null || bytes !== null } };
    },
    (err: unknown): FetchReply => {
      const text = errorText(err);
      runner.tail('warn', 'exception', `wasi:http/outgoing-handler ${a.method} ${a.url}: ${text}`);
      return { e: errorCode(text) };
    },
  );
  return rc.race(sent).catch((): FetchReply => ({ e: { tag: 'internal-error', val: 'the request has ended' } }));
}

/** 'wasi.fetch.read': the next bytes (at most `max`) of an outgoing request's response body; null at its end. */
export function componentFetchRead(requests: ReadonlyMap<number, RequestContext>, arg: unknown): ReadReply | Promise<ReadReply> {
  const a = (arg ?? {}) as Untrusted<InvokeOps['wasi.fetch.read']['arg']>;
  const rc = typeof a.reqId === 'number' ? requests.get(a.reqId) : undefined;
  if (!rc || rc.failure || rc.ended) return { e: { tag: 'internal-error', val: 'the request has ended' } };
  const m = bodies(rc);
  const id = typeof a.id === 'number' ? a.id : -1;
  const b = m.get(id);
  if (!b) return { v: null };
  const max = typeof a.max === 'number' && a.max > 0 ? a.max : 65536;
  const take = (chunk: Uint8Array): ReadReply => {
    if (chunk.byteLength <= max) return { v: chunk };
    b.rest = chunk.subarray(max);
    return { v: chunk.subarray(0, max) };
  };
  if (b.bytes) {
    const bytes = b.bytes;
    b.bytes = null;
    return take(bytes);
  }
  if (b.rest) {
    const rest = b.rest;
    b.rest = null;
    return take(rest);
  }
  const next = b.iter.next().then(
    ({ value, done }): ReadReply => {
      if (done) {
        m.delete(id);
        return { v: null };
      }
      return take(asBytes(value));
    },
    (err: unknown): ReadReply => {
      m.delete(id);
      return { e: { tag: 'internal-error', val: `reading the response body failed: ${errorText(err)}` } };
    },
  );
  return rc.race(next).catch((): ReadReply => ({ e: { tag: 'internal-error', val: 'the request has ended' } }));
}

/** 'wasi.sleep': a wait of wasi:io/poll for a timer. Bounded by the caller's wall-clock limit, which ends the request. */
export function componentSleep(arg: unknown): InvokeOps['wasi.sleep']['reply'] | Promise<InvokeOps['wasi.sleep']['reply']> {
  const ms = (arg as { ms?: unknown } | null)?.ms;
  if (typeof ms !== 'number' || !(ms >= 0)) return { x: 'wasi.sleep: ms must be a number' };
  return new Promise((resolve) => setTimeout(() => resolve({ v: null }), Math.min(ms, 30_000)));
}
