// WHATWG Streams from web-streams-polyfill (the ponyfill build: nothing is patched onto the global object;
// globals.js installs the classes). Re-exported here so the rest of the prelude shares one implementation.
// Lazily evaluated: the polyfill is half of the prelude's heap, and most requests never touch a stream
// (a Response from a string is sent as bytes). esbuild wraps a require()d CommonJS module in a closure that runs
// on first call, so until then only its source text sits in each isolate's snapshot.
let loaded = null;

/** The WHATWG Streams classes, loading the implementation on first use. */
export function streams() {
  // eslint-disable-next-line no-undef
  return (loaded ??= require('web-streams-polyfill'));
}

/** `v instanceof ReadableStream`, without loading the implementation (no stream can exist before it is). */
export function isReadableStream(v) {
  return loaded !== null && v instanceof loaded.ReadableStream;
}

/** Whether `v` is any stream object (for structuredClone, which refuses them). */
export function isStreamObject(v) {
  return loaded !== null && (v instanceof loaded.ReadableStream || v instanceof loaded.WritableStream || v instanceof loaded.TransformStream);
}

export const STREAM_GLOBALS = [
  'ReadableStream',
  'ReadableStreamDefaultReader',
  'ReadableStreamBYOBReader',
  'ReadableStreamBYOBRequest',
  'ReadableStreamDefaultController',
  'ReadableByteStreamController',
  'WritableStream',
  'WritableStreamDefaultWriter',
  'WritableStreamDefaultController',
  'TransformStream',
  'TransformStreamDefaultController',
  'ByteLengthQueuingStrategy',
  'CountQueuingStrategy',
];

/**
 * Whether `stream` is a byte stream (`type: 'bytes'`). Its chunks are the stream's own: enqueue() transferred each
 * chunk's buffer, so a chunk read from it is held by nobody else (the polyfill keeps the controller as
 * `_readableStreamController`).
 */
export function isByteStream(stream) {
  return loaded !== null && stream._readableStreamController instanceof loaded.ReadableByteStreamController;
}

/** True when the stream has been read from (or cancelled): the polyfill keeps this as `_disturbed`. */
export function isDisturbed(stream) {
  return stream._disturbed === true;
}
