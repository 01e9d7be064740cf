// Bytes handed over whole. A producer that made a buffer for one consumer alone (a file read of the blob store, a
// chunk copied out of an isolate) says so with handOver; the consumer, done with the bytes (the socket took them),
// gives them back with release, and the buffer's memory is freed then and there. Left to the GC, large streams of
// fresh buffers grow V8's external memory faster than anything else in the process: 100 MB of 256 KiB reads made
// four or five mark-compacts of the host's whole heap per object served, most of the CPU it cost.
//
// Only the very objects handed over count: a view cut from one (subarray, a Readable's concat) is not one of them, so
// a consumer may give back anything it wrote, and a buffer someone else could still see is never freed. Whoever keeps
// a chunk past its consumer (a stored KV value, a held body) hands out views of it, never the object itself: the host's
// held bodies do (held-bodies.ts heldChunks).

/** Each chunk handed over: how many times (a chunk can be handed on twice, as a stream can enqueue it twice). */
const handed = new WeakMap<Uint8Array, number>();
/** Each buffer with chunks handed over: how many hand-overs on it are not given back yet. */
const views = new WeakMap<ArrayBufferLike, number>();

/**
 * Hands `chunks` over to their one consumer: nothing else holds or will read these objects, or their buffers through
 * other views. Several chunks may view one buffer, and one chunk may come twice: all of them are handed over
 * together, before any is given back, and each is given back as many times as it was handed over.
 */
export function handOver(...chunks: Uint8Array[]): void {
  for (const chunk of chunks) {
    handed.set(chunk, (handed.get(chunk) ?? 0) + 1);
    views.set(chunk.buffer, (views.get(chunk.buffer) ?? 0) + 1);
  }
}

/** Gives `chunk` back: once every hand-over on its buffer is, the buffer is detached (its memory freed). */
export function release(chunk: Uint8Array): void {
  const times = handed.get(chunk);
  if (times === undefined) return;
  if (times > 1) handed.set(chunk, times - 1);
  else handed.delete(chunk);
  const buf = chunk.buffer;
  const left = (views.get(buf) ?? 1) - 1;
  if (left > 0) {
    views.set(buf, left);
    return;
  }
  views.delete(buf);
  // A transfer to a zero-length buffer detaches this one: its backing store goes now.
  if (buf instanceof ArrayBuffer && !buf.detached) buf.transfer(0);
}
