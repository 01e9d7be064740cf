// Byte streams whose bytes are still on the host: the incoming request's body, an R2 object's body, bytes the host
// holds for the request (a KV value read as a stream, a Cache API match's body: heldStream). Until the worker
// reads one, it is only a handle here; returned as a response body or put into storage unread, it is "claimed": the
// isolate hands the host a reference (HostBodyRef, host/core/isolate-protocol.ts) and the host pipes the bytes itself,
// with backpressure and no entry per chunk, so the worker is charged no CPU for them. Read in any way (a reader,
// arrayBuffer(), tee(), pipeTo()), the stream is an ordinary one and its bytes enter as they are pulled.
import { isDisturbed, streams } from './streams.js';
import { hostAsync } from './internal/async.js';
import { hostTakeWhole } from './internal/bridge.js';
/** @import { HeldBody, HostBodyRef, WholeBody } from '../../../core/isolate-protocol.ts' */

/** Bytes per 'body.take' when the worker reads a held body. */
const TAKE_BYTES = 1024 * 1024;

/** stream -> its claim: the reference to hand the host, or null when the bytes can no longer be taken outside. @type {WeakMap<object, () => HostBodyRef | null>} */
const claims = new WeakMap();

/**
 * Marks `stream` as a host stream. `claim` runs at most once, when the stream leaves unread: it gives up the
 * stream's source (its pulls will not be called any more) and returns what the host reads it from.
 * @template {object} S
 * @param {S} stream
 * @param {() => HostBodyRef | null} claim
 * @returns {S}
 */
export function markHostStream(stream, claim) {
  claims.set(stream, claim);
  return stream;
}

/**
 * The host reference of `stream` if it is a host stream nobody has read, locked, or cancelled (it is then locked for
 * good: its bytes are the host's to send); null otherwise (the caller reads it as any stream).
 * @param {unknown} stream
 * @returns {HostBodyRef | null}
 */
export function claimHostStream(stream) {
  if (stream === null || typeof stream !== 'object') return null;
  const claim = claims.get(stream);
  const s = /** @type {ReadableStream} */ (stream);
  if (claim === undefined || s.locked || isDisturbed(s)) return null;
  const ref = claim();
  claims.delete(stream);
  if (ref === null) return null;
  s.getReader();
  return ref;
}

/**
 * Reads `stream` whole, if it is a host stream nobody has read, locked, or cancelled: the host reads its bytes into one
 * buffer of its own and moves that buffer in ('body.whole', then 'body.whole.take'), so that no chunk enters the
 * isolate and nothing is concatenated here (a 30 MB upload read with arrayBuffer() took ~460 entries and a fresh 30 MB
 * buffer, whose first touch alone could cost 80 ms of the worker's CPU). The stream stays locked for good. Null when
 * `stream` is not such a stream: the caller reads it as any stream. A body larger than the worker's memory limit fails
 * the read with a RangeError (the host stops reading it there).
 * @param {unknown} stream
 * @returns {Promise<Uint8Array> | null}
 */
export function readHostStreamWhole(stream) {
  const ref = claimHostStream(stream);
  if (ref === null) return null;
  // All of it came in with its metadata already (an R2 object of a few KiB): nothing to ask the host for.
  if (ref.k === 'cap' && ref.h === 0) {
    const first = ref.first;
    // (Callers take the result's .buffer: bytes on a buffer of their own.)
    return Promise.resolve(first.byteOffset === 0 && first.byteLength === first.buffer.byteLength ? first : first.slice());
  }
  return hostAsync('body.whole', { ref }).then((w) => hostTakeWhole(/** @type {WholeBody} */ (w).reqId, /** @type {WholeBody} */ (w).id));
}

/**
 * Whether `v` is a HeldBody marker: bytes a host op's result left on the host (host/runtime/held-bodies.ts).
 * @param {unknown} v
 * @returns {v is HeldBody}
 */
export function isHeldBody(v) {
  return v !== null && typeof v === 'object' && typeof (/** @type {{ __held?: unknown }} */ (v).__held) === 'number';
}

/**
 * A byte stream of a held body: read by the worker, its bytes enter as it pulls ('body.take'); returned or stored
 * unread, the host sends or stores them itself.
 * @param {HeldBody} held
 * @returns {ReadableStream}
 */
export function heldStream(held) {
  const id = held.__held;
  let taken = false;
  let cancelled = false;
  const { ReadableStream } = streams();
  const stream = new ReadableStream({
    type: 'bytes',
    async pull(c) {
      taken = true;
      const chunk = /** @type {Uint8Array | null} */ (await hostAsync('body.take', { id, max: TAKE_BYTES }));
      if (cancelled) return;
      if (chunk === null) c.close();
      else c.enqueue(chunk);
    },
    cancel() {
      // The host lets the bytes go when the request ends.
      cancelled = true;
    },
  });
  return markHostStream(stream, () => (taken || cancelled ? null : { k: 'held', id }));
}
