// Installs the prelude's Web APIs on the global object, as browsers do: writable, configurable, non-enumerable.
import { Headers } from './headers.js';
import { Request } from './request.js';
import { Response } from './response.js';
import { URL, URLSearchParams } from './url.js';
import { TextEncoder, TextDecoder, TextEncoderStream, TextDecoderStream } from './encoding.js';
import { atob, btoa } from './base64.js';
import { console } from './console.js';
import { crypto, Crypto } from './crypto.js';
import { structuredClone } from './structured-clone.js';
import { queueMicrotask } from './microtask.js';
import { DOMException } from './dom-exception.js';
import { STREAM_GLOBALS, streams } from './streams.js';

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
  structuredClone,
  queueMicrotask,
  DOMException,
};

export function installGlobals(g) {
  for (const name of Object.keys(GLOBALS)) {
    Object.defineProperty(g, name, { value: GLOBALS[name], writable: true, configurable: true, enumerable: false });
  }
  // The stream classes load on first access, then stay as ordinary data properties.
  for (const name of STREAM_GLOBALS) {
    const settle = (value) => Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
    Object.defineProperty(g, name, {
      configurable: true,
      enumerable: false,
      get() {
        const value = streams()[name];
        settle(value);
        return value;
      },
      set: settle,
    });
  }
}
