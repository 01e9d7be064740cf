// Bytes the host keeps for a request instead of copying them into its isolate: a KV value read as a stream, a Cache
// API match's body. The guest gets a HeldBody marker and makes a host stream of it (prelude host-streams.js): returned
// or stored unread, the host sends or stores the bytes itself ('held' HostBodyRef, body-streams.ts hostBodyChunks);
// read by the worker, they enter with 'body.take', as it pulls. Held bytes belong to their request: only its own ops
// can name them, and they are let go when it ends. The host ops reading and storing them are in host-body-ops.ts.
// Also kept here for their request: a host body the worker reads whole ('body.whole'), read by the host into one
// buffer until the guest moves it into the isolate ('body.whole.take').
import type { HeldBody, HostOpOutcome, InvokeOps, Untrusted, WholeBody } from '../core/isolate-protocol.ts';
import { errorText } from './error-response.ts';
import type { RequestContext } from './request-context.ts';

interface Held {
  bytes: Uint8Array;
  /** Bytes taken so far (by 'body.take' or by the host sending them). */
  at: number;
}

/** Per request: its held bodies by id. */
const tables = new WeakMap<RequestContext, Map<number, Held>>();
let nextId = 1;

/** Bytes per chunk when the host sends or stores a held body (as HOST_BODY_READ_BYTES). */
const SEND_BYTES = 65536;

/** Keeps `bytes` for request `rc` (they must not be modified afterwards) and returns the marker the guest gets. */
export function holdBody(rc: RequestContext, bytes: Uint8Array): HeldBody {
  const id = nextId++;
  tableOf(tables, rc).set(id, { bytes, at: 0 });
  return { __held: id, size: bytes.byteLength };
}

/** `rc`'s table in `byRequest`, made on first use and emptied when the request ends. */
function tableOf<V>(byRequest: WeakMap<RequestContext, Map<number, V>>, rc: RequestContext): Map<number, V> {
  let table = byRequest.get(rc);
  if (!table) {
    const t = (table = new Map<number, V>());
    byRequest.set(rc, t);
    rc.signal.addEventListener('abort', () => t.clear(), { once: true });
  }
  return table;
}

function heldOf(rc: RequestContext, id: unknown): Held {
  const h = typeof id === 'number' ? tables.get(rc)?.get(id) : undefined;
  if (!h) throw new TypeError('this body was already read, or belongs to another request (bodies of KV and Cache API reads live as long as the request that read them).');
  return h;
}

/**
 * The 'body.take' host op: the next bytes of a held body, at most `max` (a copy: a view of the held buffer would
 * cross into the isolate with all of it); null at its end, when the body is let go.
 */
export function takeHeld(rc: RequestContext, arg: unknown): HostOpOutcome {
  const a = (arg ?? {}) as Untrusted<{ id: number; max: number }>;
  let h: Held;
  try {
    h = heldOf(rc, a.id);
  } catch (err) {
    return { e: { name: 'TypeError', message: errorText(err) } };
  }
  const max = typeof a.max === 'number' && a.max >= 1 ? Math.min(a.max, 16 * 1024 * 1024) : SEND_BYTES;
  if (h.at >= h.bytes.byteLength) {
    tables.get(rc)?.delete(a.id as number);
    return { v: null };
  }
  const end = Math.min(h.bytes.byteLength, h.at + max);
  const chunk = h.bytes.slice(h.at, end);
  h.at = end;
  return { v: chunk };
}

/** The rest of held body `id` for the host to send or store (views, not copies: they never enter the isolate). */
export function* heldChunks(rc: RequestContext, id: unknown): Generator<Uint8Array> {
  const h = heldOf(rc, id);
  tables.get(rc)?.delete(id as number);
  while (h.at < h.bytes.byteLength) {
    const end = Math.min(h.bytes.byteLength, h.at + SEND_BYTES);
    const chunk = h.bytes.subarray(h.at, end);
    h.at = end;
    yield chunk;
  }
}

/** Per request: the buffers 'body.whole' read for it, by id, until the guest takes them ('body.whole.take'). */
const wholes = new WeakMap<RequestContext, Map<number, Uint8Array>>();

/** Keeps `bytes` (a buffer of their own, which they fill) for request `rc` until the guest takes them. */
export function keepWhole(rc: RequestContext, bytes: Uint8Array): WholeBody {
  const id = nextId++;
  tableOf(wholes, rc).set(id, bytes);
  return { id, size: bytes.byteLength, reqId: rc.id };
}

/** The 'body.whole.take' op: the buffer kept as `id` for `rc`, let go here (the caller moves it into the isolate). */
export function takeWhole(rc: RequestContext | undefined, id: unknown): InvokeOps['body.whole.take']['reply'] {
  const table = rc ? wholes.get(rc) : undefined;
  const bytes = typeof id === 'number' ? table?.get(id) : undefined;
  if (bytes === undefined) return { x: 'this body was already taken, or its request has ended' };
  table!.delete(id as number);
  return { v: bytes };
}
