// A request's fetches in flight (egress.ts makes them): what each holds upstream, and how it is let go. Also how the
// host reads a fetch's response body the worker handed over unread (a 'fetched' HostBodyRef, body-streams.ts).
import type { Readable } from 'node:stream';
import { errorText } from './error-response.ts';
import type { RequestContext } from './request-context.ts';

/** A worker's fetch in flight: its abort switch, the request body it sends, the response body the guest reads. */
export interface OutboundFetch {
  abort: AbortController;
  /** A guest stream being sent (destroying it cancels the stream in the isolate). */
  body: Readable | null;
  iter: AsyncIterator<Uint8Array> | null;
}

const outboundByRequest = new WeakMap<RequestContext, Map<number, OutboundFetch>>();

export function outboundFetches(rc: RequestContext): Map<number, OutboundFetch> {
  let m = outboundByRequest.get(rc);
  if (!m) outboundByRequest.set(rc, (m = new Map()));
  return m;
}

export function releaseOutbound(o: OutboundFetch): void {
  if (o.body && !o.body.destroyed) o.body.destroy();
  const iter = o.iter;
  o.iter = null;
  if (iter) void iter.return?.()?.catch(() => {});
}

/**
 * The response body of fetch `id` of `rc`, which the worker handed over unread (put into R2 or KV, stored in the
 * cache, read whole): its values as the upstream gives them, read by the host; the upstream is released if the
 * reading stops early.
 */
export async function* fetchedValues(rc: RequestContext, id: unknown): AsyncGenerator<unknown> {
  const inFlight = outboundFetches(rc);
  const o = typeof id === 'number' ? inFlight.get(id) : undefined;
  const iter = o?.iter;
  if (!o || !iter) throw new TypeError('fetch(): the response body was already read, or its request has ended.');
  inFlight.delete(id as number);
  let completed = false;
  try {
    for (;;) {
      let n: IteratorResult<unknown>;
      try {
        n = await iter.next();
      } catch (err) {
        throw new TypeError(o.abort.signal.aborted ? 'fetch(): aborted' : `fetch(): reading the response body failed: ${errorText(err)}`);
      }
      if (n.done) break;
      yield n.value;
    }
    completed = true;
  } finally {
    if (!completed) releaseOutbound(o);
  }
}
