// WHATWG Streams from web-streams-polyfill (the ponyfill build: nothing is patched onto the global object;
// globals.js installs the classes). Re-exported here so the rest of the prelude shares one implementation.
export {
  ReadableStream,
  ReadableStreamDefaultReader,
  ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest,
  ReadableStreamDefaultController,
  ReadableByteStreamController,
  WritableStream,
  WritableStreamDefaultWriter,
  WritableStreamDefaultController,
  TransformStream,
  TransformStreamDefaultController,
  ByteLengthQueuingStrategy,
  CountQueuingStrategy,
} from 'web-streams-polyfill';

/** True when the stream has been read from (or cancelled): the polyfill keeps this as `_disturbed`. */
export function isDisturbed(stream) {
  return stream._disturbed === true;
}
