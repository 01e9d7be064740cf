// A worker's traffic out of the isolate: its fetch() calls (a subrequest each, answered head first, the body pulled
// as the guest reads it or forwarded untouched to the client), and the request passThroughOnException() sends on
// to the origin.
import { Readable } from 'node:stream';
import { EdgeError } from '../core/errors.ts';
import type { ChunkPayload, FetchReply, FetchRequest, Untrusted } from '../core/isolate-protocol.ts';
import { asBytes, pullGuestStream } from './body-streams.ts';
import { outboundFetches, releaseOutbound, type OutboundFetch } from './outbound-fetches.ts';
import { asEdgeError, errorText } from './error-response.ts';
import type { RequestContext, RequestRunner } from './request-context.ts';
import type { IncomingRequestData, SubrequestInit, SubrequestResult, WorkerResponse } from './worker-types.ts';

/** Carried by the request a passThroughOnException() sends on, so that it cannot come back into the same worker. */
export const PASS_THROUGH_HEADER = 'x-edge-pass-through';

/**
 * A worker's fetch(): counted against the request's subrequest limit, its request body read from the guest as
 * the upstream accepts it, its response head answered with a 'fetched' entry and its body left upstream until the
 * guest pulls it ('fetch.read'). Aborting the fetch, cancelling its body or the request ending releases the upstream.
 */
export function subrequest(runner: RequestRunner, rc: RequestContext, arg: unknown): void {
  const a = (arg ?? {}) as Untrusted<FetchRequest>;
  const id = a.id;
  if (typeof id !== 'number' || typeof a.method !== 'string' || typeof a.url !== 'string' || !Array.isArray(a.headers)) return;
  const answer = (reply: FetchReply): Promise<unknown> | undefined => {
    if (runner.dead) return undefined;
    // The request ended meanwhile: answer anyway, so that the guest's promise does not stay pending.
    if (rc.failure || rc.ended) return runner.enter(null, { t: 'fetched', id, error: 'The request has ended.' }).catch(() => {});
    return runner.enter(rc, { t: 'fetched', reqId: rc.id, id, ...reply });
  };
  try {
    rc.limiter.newSubrequest();
  } catch (err) {
    runner.failRequest(rc, asEdgeError(err));
    return;
  }
  let service: SubrequestInit['service'];
  if (typeof a.service === 'string') {
    const target = runner.fetchTarget(a.service);
    if (target === undefined) {
      answer({ error: `env.${a.service} is not a service binding of worker "${runner.version.worker}".` })?.catch((err) => runner.failRequest(rc, asEdgeError(err)));
      return;
    }
    service = { binding: a.service, worker: target.worker };
    if (target.objectClass !== undefined) {
      // A Durable Object stub: the id was made (and checked) by the namespace's host functions.
      if (typeof a.object !== 'string' || !/^[0-9a-f]{64}$/.test(a.object)) {
        answer({ error: `env.${a.service}: a Durable Object namespace is reached through a stub: env.${a.service}.get(id).fetch(...)` })?.catch((err) => runner.failRequest(rc, asEdgeError(err)));
        return;
      }
      service.object = { className: target.objectClass, id: a.object };
    }
  }
  let body: Uint8Array | Readable | null = null;
  let guestBody: Readable | null = null;
  if (a.body instanceof Uint8Array) body = a.body;
  else if (typeof a.stream === 'number') body = guestBody = Readable.from(pullGuestStream(runner, rc, a.stream), { objectMode: false });
  else if (a.incoming === true) {
    if (rc.body === null || rc.bodyIter !== null || rc.bodyPassedOn) {
      answer({ error: 'fetch(): the request body was already read, so it cannot be sent on.' })?.catch((err) => runner.failRequest(rc, asEdgeError(err)));
      return;
    }
    body = rc.body;
  }
  const abort = new AbortController();
  const signal = AbortSignal.any([abort.signal, rc.signal]);
  const o: OutboundFetch = { abort, body: guestBody, iter: null };
  const inFlight = outboundFetches(rc);
  inFlight.set(id, o);
  signal.addEventListener('abort', () => releaseOutbound(o), { once: true });
  const init: SubrequestInit = {
    method: a.method,
    url: a.url,
    headers: (a.headers as unknown[]).filter((h): h is [string, string] => Array.isArray(h) && typeof h[0] === 'string' && typeof h[1] === 'string'),
    body,
    redirect: a.redirect === 'manual' || a.redirect === 'error' ? a.redirect : 'follow',
    signal,
    ...(service ? { service } : {}),
  };
  runner.subrequest(init, rc.depth).then(
    (r) => {
      const iter = r.body ? r.body[Symbol.asyncIterator]() : null;
      if (signal.aborted || inFlight.get(id) !== o) {
        if (iter) void iter.return?.()?.catch(() => {});
        return answer({ error: 'fetch(): aborted' });
      }
      o.iter = iter;
      if (iter === null && o.body === null) inFlight.delete(id);
      const head: FetchReply = { status: r.status, statusText: r.statusText, headers: r.headers, url: r.url, redirected: r.redirected, body: iter !== null };
      // A WebSocket the response carries: this isolate holds its end now (response.webSocket).
      if (r.webSocket !== undefined && runner.holdSocket(r.webSocket)) head.ws = r.webSocket;
      return answer(r.bytes && r.bytes.byteLength > 0 && iter === null ? { ...head, bytes: r.bytes } : head);
    },
    (err: unknown) => {
      inFlight.delete(id);
      releaseOutbound(o);
      return answer({ error: errorText(err) });
    },
  ).catch((err) => runner.failRequest(rc, asEdgeError(err)));
}

/** The next chunk of a fetch's response body, for the guest's pull ('fetch.read'), as an 'fchunk' entry. */
export function readFetched(runner: RequestRunner, rc: RequestContext, arg: unknown): void {
  const id = typeof arg === 'number' ? arg : -1;
  const o = outboundFetches(rc).get(id);
  const reply = (payload: ChunkPayload): Promise<unknown> | undefined => {
    if (runner.dead) return undefined;
    if (rc.failure || rc.ended) return runner.enter(null, { t: 'fchunk', id, error: 'The request has ended.' }).catch(() => {});
    return runner.enter(rc, { t: 'fchunk', reqId: rc.id, id, ...payload });
  };
  const iter = o?.iter;
  if (!o || !iter) {
    reply({ error: 'fetch(): the response body is no longer available.' })?.catch((err) => runner.failRequest(rc, asEdgeError(err)));
    return;
  }
  const next = (): Promise<unknown> | undefined =>
    iter.next().then(
      ({ value, done }) => {
        if (done) {
          outboundFetches(rc).delete(id);
          return reply({ done: true });
        }
        const chunk = asBytes(value);
        // A byte stream refuses empty chunks.
        return chunk.byteLength === 0 ? next() : reply({ chunk });
      },
      (err: unknown) => {
        outboundFetches(rc).delete(id);
        releaseOutbound(o);
        return reply({ error: o.abort.signal.aborted ? 'fetch(): aborted' : `fetch(): reading the response body failed: ${errorText(err)}` });
      },
    );
  next()?.catch((err) => runner.failRequest(rc, asEdgeError(err)));
}

/** The guest aborted a fetch or cancelled its response body ('fetch.cancel'): the upstream is released. */
export function dropFetch(rc: RequestContext, arg: unknown): void {
  const inFlight = outboundFetches(rc);
  const o = typeof arg === 'number' ? inFlight.get(arg) : undefined;
  if (!o) return;
  inFlight.delete(arg as number);
  o.abort.abort(new Error('fetch(): aborted by the worker'));
}

/** A fetch's response body that the worker returned untouched, sent on to the client straight from the upstream. */
export async function* forwardFetched(runner: RequestRunner, rc: RequestContext, id: number, waitUntil: boolean): AsyncGenerator<Uint8Array> {
  const inFlight = outboundFetches(rc);
  const o = inFlight.get(id);
  inFlight.delete(id);
  let completed = false;
  try {
    const iter = o?.iter;
    if (!o || !iter) throw new EdgeError('E_INTERNAL', `the body of fetch ${id} is no longer available`, { status: 500 });
    for (;;) {
      let n: IteratorResult<Uint8Array>;
      try {
        n = await rc.race(iter.next());
      } catch (err) {
        if (rc.failure) throw rc.failure;
        runner.tail('error', 'exception', `Uncaught (in response body stream) TypeError: fetch(): reading the response body failed: ${errorText(err)}`);
        throw new EdgeError('E_WORKER_EXCEPTION', 'The response body stream failed.', { status: 500 });
      }
      if (n.done) break;
      const chunk = asBytes(n.value);
      if (chunk.byteLength > 0) yield chunk;
    }
    completed = true;
  } finally {
    // The client went away, or the upstream failed: release it.
    if (!completed && o) releaseOutbound(o);
    if (!completed) o?.abort.abort();
    runner.finishAfter(rc, waitUntil && completed);
  }
}

/**
 * ctx.passThroughOnException() was called and the handler failed: the request goes on to its own URL as if the
 * worker were not there (through the subrequest dispatcher, so the egress policy applies). A `<name>.localhost`
 * address has no origin behind the worker, and a body the worker already started reading cannot be sent again.
 */
export async function passThrough(runner: RequestRunner, rc: RequestContext, req: IncomingRequestData, waitUntil: boolean, released: boolean): Promise<WorkerResponse> {
  const { worker } = runner.version;
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    throw new EdgeError('E_NO_ORIGIN', `Worker "${worker}" failed after passThroughOnException(), and its request URL ${req.url} names no origin.`, { status: 502 });
  }
  const host = url.hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) {
    throw new EdgeError(
      'E_NO_ORIGIN',
      `Worker "${worker}" failed after passThroughOnException(), but ${url.host} has no origin behind the worker to pass the request on to (only requests arriving on a route have one); see \`edge tail ${worker}\` for the exception.`,
      { status: 502 },
    );
  }
  // Read by the worker, or handed on (to one of its fetches) for someone else to read.
  if (rc.bodyIter !== null || (req.body !== null && (req.body.readableDidRead || req.body.readableFlowing === true))) {
    throw new EdgeError(
      'E_PASS_THROUGH_BODY_USED',
      `Worker "${worker}" failed after passThroughOnException(), but its request body was already read (by the worker or one of its fetches), and a body can be sent only once, so the request cannot go on to the origin.`,
      { status: 500 },
    );
  }
  runner.armWallTimer(rc);
  const headers = req.headers.filter(([k]) => k.toLowerCase() !== PASS_THROUGH_HEADER && k.toLowerCase() !== 'cf-connecting-ip');
  headers.push([PASS_THROUGH_HEADER, worker]);
  // Not the request's signal: the origin's body streams to the client after the worker's part has ended.
  const abort = new AbortController();
  rc.bodyPassedOn = req.body !== null;
  let r: SubrequestResult;
  try {
    // The client's body, unread by the worker, streams on as it arrives.
    r = await Promise.race([runner.subrequest({ method: req.method, url: url.href, headers, body: req.body, redirect: 'manual', signal: abort.signal }, rc.depth), rc.failed()]);
  } catch (err) {
    abort.abort();
    rc.bodyPassedOn = false;
    if (rc.failure) throw rc.failure;
    throw new EdgeError('E_ORIGIN_UNREACHABLE', `Worker "${worker}" failed after passThroughOnException(), and the origin ${url.host} could not be reached: ${errorText(err)}`, { status: 502 });
  }
  // The worker's part is over once the origin answered, but for its waitUntil work.
  if (released) rc.released = true;
  runner.finishAfter(rc, waitUntil);
  const from = r.body;
  async function* relay(): AsyncGenerator<Uint8Array> {
    let complete = false;
    try {
      if (from) for await (const chunk of from) yield chunk;
      complete = true;
    } finally {
      // The client went away: release the origin.
      if (!complete) abort.abort();
    }
  }
  return { status: r.status, statusText: r.statusText, headers: r.headers, body: from ? null : (r.bytes ?? new Uint8Array(0)), stream: from ? relay() : null };
}
