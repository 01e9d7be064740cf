// Installs the prelude's Web APIs on the global object, as browsers do: writable, configurable, non-enumerable.
import { Headers } from './headers.js';
import { Request } from './request.js';
import { Response } from './response.js';
import { URL, URLSearchParams } from './url.js';
import { TextEncoder, TextDecoder, TextEncoderStream, TextDecoderStream } from './encoding.js';
import { atob, btoa } from './base64.js';
import { console } from './console.js';
import { crypto, Crypto } from './crypto.js';
import { CryptoKey, SubtleCrypto } from './subtle.js';
import { caches, Cache, CacheStorage } from './cache.js';
import { structuredClone } from './structured-clone.js';
import { queueMicrotask } from './microtask.js';
import { DOMException } from './dom-exception.js';
import { STREAM_GLOBALS, streams } from './streams.js';
import { Blob, File } from './blob.js';
import { FormData } from './form-data.js';
import { EVENT_GLOBALS, events } from './events.js';
import { SOCKET_GLOBALS, webSockets } from './sockets.js';
import { performance, Performance } from './performance.js';
import { navigator, Navigator } from './navigator.js';
import { isResponse, getResponseHead } from './response.js';
import { utf8Encode, utf8Decode } from './encoding.js';
import { chunkBytes } from './body.js';
import { hostInvoke } from './internal/bridge.js';

let compression = null;
/** CompressionStream and DecompressionStream, with fflate, loaded on first use. */
function compressionStreams() {
  // eslint-disable-next-line no-undef
  return (compression ??= require('./compression.js').createCompressionStreams(streams().TransformStream));
}

let htmlRewriter = null;
/** HTMLRewriter, on lol-html compiled to wasm: loaded on first use, its module fetched from the host on first rewrite. */
function htmlRewriterClass() {
  // eslint-disable-next-line no-undef
  return (htmlRewriter ??= require('./html-rewriter.js').createHTMLRewriter({
    Response,
    isResponse,
    getResponseHead,
    ReadableStream: () => streams().ReadableStream,
    loadModule: loadLolHtmlModule,
    chunkBytes,
    utf8Encode,
    utf8Decode,
  }));
}

/** The lol-html wasm module, compiled once by the host (host/runtime/lol-html-module.ts) and shared by its isolates. */
function loadLolHtmlModule() {
  const reply = hostInvoke('htmlrewriter.module', null);
  if ('v' in reply) return /** @type {WebAssembly.Module} */ (reply.v);
  throw new Error(`HTMLRewriter is unavailable: ${'x' in reply ? reply.x : JSON.stringify(reply.e)}`);
}

const GLOBALS = {
  Headers,
  Request,
  Response,
  URL,
  URLSearchParams,
  TextEncoder,
  TextDecoder,
  TextEncoderStream,
  TextDecoderStream,
  atob,
  btoa,
  console,
  crypto,
  Crypto,
  CryptoKey,
  SubtleCrypto,
  caches,
  Cache,
  CacheStorage,
  structuredClone,
  queueMicrotask,
  DOMException,
  Blob,
  File,
  FormData,
  performance,
  Performance,
  navigator,
  Navigator,
};

/** Globals whose implementation loads on first access: [names, loader]. */
/** @type {Array<[string[], () => Record<string, unknown>]>} */
const LAZY_GLOBALS = [
  [STREAM_GLOBALS, streams],
  [EVENT_GLOBALS, events],
  [SOCKET_GLOBALS, webSockets],
  [['CompressionStream', 'DecompressionStream'], compressionStreams],
  [['HTMLRewriter'], htmlRewriterClass],
];

export function installGlobals(g) {
  for (const name of Object.keys(GLOBALS)) {
    Object.defineProperty(g, name, { value: GLOBALS[name], writable: true, configurable: true, enumerable: false });
  }
  // Lazy classes load on first access, then stay as ordinary data properties.
  for (const [names, load] of LAZY_GLOBALS) {
    for (const name of names) {
      const settle = (value) => Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
      Object.defineProperty(g, name, {
        configurable: true,
        enumerable: false,
        get() {
          const value = load()[name];
          // undefined only while the implementation is still loading (a feature test inside it): not settled.
          if (value !== undefined) settle(value);
          return value;
        },
        set: settle,
      });
    }
  }
}
