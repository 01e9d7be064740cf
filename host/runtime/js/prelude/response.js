// Response per the Fetch standard (plus Workers' `webSocket` and `cf`). The common `new Response(string)` path
// allocates no Headers until someone looks at them: the default Content-Type is kept as a plain string.
import { Body, initBody, cloneBodyInto } from './body.js';
import { Headers, headersToList, headersFromList, makeImmutable, isImmutable, headersWithContentType, setDefaultContentType } from './headers.js';
import { parseAbsoluteUrl } from './url.js';
/** @import { HeaderList } from '../../../core/isolate-protocol.ts' */
/** @import { HeadersInit } from './headers.js' */

/**
 * What `new Response(body, init)` takes as init; each member is checked or converted as the standard says.
 * @typedef {{ status?: unknown, statusText?: unknown, headers?: HeadersInit, cf?: unknown, webSocket?: unknown }} ResponseInit
 */

const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const INTERNAL = Symbol('internal');

function isNullBodyStatus(s) {
  return s === 101 || s === 204 || s === 205 || s === 304;
}

/** WebIDL `unsigned short` conversion (non-finite → 0, truncated, modulo 2^16). */
function toUnsignedShort(v) {
  const n = Number(v);
  if (!Number.isFinite(n)) return 0;
  return ((Math.trunc(n) % 65536) + 65536) % 65536;
}

let readHead;
let isResponseImpl;
let setFetched;
/** `v instanceof WebSocket`, set by sockets.js (which Response must not import: structured-clone.js imports Response). */
let isWebSocket = (/** @type {unknown} */ _v) => false;

/** @param {(v: unknown) => boolean} fn */
export function setWebSocketCheck(fn) {
  isWebSocket = fn;
}

export class Response extends Body {
  #status = 200;
  #statusText = '';
  /** @type {Headers | null} */
  #headers = null; // null until accessed (then #defaultType seeds it)
  /** @type {string | null} */
  #defaultType = null;
  #type = 'default';
  #url = '';
  #redirected = false;
  /** @type {unknown} */
  #cf = undefined;
  /** Workers' WebSocket response (status 101): the end handed to whoever takes the response. @type {object | null} */
  #webSocket = null;

  static {
    isResponseImpl = (v) => typeof v === 'object' && v !== null && #status in v;
    setFetched = (res, status, statusText, headers, url, redirected, webSocket) => {
      res.#webSocket = webSocket;
      res.#status = status;
      res.#statusText = statusText;
      res.#headers = headers;
      res.#url = url;
      res.#redirected = redirected;
    };
    readHead = (res) => ({
      status: res.#status,
      statusText: res.#statusText,
      headers: res.#headers !== null ? headersToList(res.#headers) : res.#defaultType !== null ? [['content-type', res.#defaultType]] : [],
    });
  }

  /**
   * @param {unknown} [body]  a BodyInit, or null
   * @param {ResponseInit | null} [init]
   */
  constructor(body = null, init = undefined) {
    super();
    if (body === INTERNAL) return;
    this.#initialize(body, init, null);
  }

  /**
   * @param {unknown} body
   * @param {ResponseInit | null | undefined} init
   * @param {string | null} bodyType  the Content-Type to give when the body has one
   */
  #initialize(body, init, bodyType) {
    let status = 200;
    if (init !== undefined && init !== null) {
      if (typeof init !== 'object' && typeof init !== 'function') {
        throw new TypeError("Failed to construct 'Response': The provided value is not of type 'ResponseInit'.");
      }
      if (init.status !== undefined) status = toUnsignedShort(init.status);
      if (init.statusText !== undefined) {
        const t = String(init.statusText);
        if (!REASON_PHRASE.test(t)) throw new TypeError(`Invalid statusText: ${JSON.stringify(t)} (a reason phrase cannot contain CR, LF or control characters).`);
        this.#statusText = t;
      }
      if (init.headers !== undefined) this.#headers = new Headers(init.headers);
      if (init.cf !== undefined) this.#cf = init.cf;
      if (init.webSocket !== undefined && init.webSocket !== null) {
        if (!isWebSocket(init.webSocket)) throw new TypeError("Failed to construct 'Response': webSocket must be a WebSocket (the client end of a WebSocketPair).");
        if (status !== 101) throw new RangeError(`A Response with a webSocket must have status 101, not ${status}.`);
        this.#webSocket = init.webSocket;
      }
    }
    if (status === 101 && this.#webSocket === null) throw new RangeError('The status provided (101) is only allowed with a webSocket: new Response(null, { status: 101, webSocket: client }).');
    if (status !== 101 && (status < 200 || status > 599)) throw new RangeError(`The status provided (${status}) is outside the range [200, 599].`);
    this.#status = status;
    if (body !== null && body !== undefined) {
      if (isNullBodyStatus(status)) throw new TypeError(`Response with null body status (${status}) cannot have a body.`);
      const type = initBody(this, body);
      const contentType = bodyType ?? type;
      if (contentType !== null) {
        if (this.#headers === null) this.#defaultType = contentType;
        else setDefaultContentType(this.#headers, contentType);
      }
    }
  }

  /**
   * @param {unknown} data
   * @param {ResponseInit | null} [init]
   */
  static json(data, init = undefined) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Response.json: the data is not JSON-serializable.');
    const r = new Response(INTERNAL);
    r.#initialize(text, init, 'application/json');
    return r;
  }

  static redirect(url, status = 302) {
    const href = parseAbsoluteUrl(url);
    if (href === null) throw new TypeError(`Invalid URL: ${String(url)}`);
    const s = toUnsignedShort(status);
    if (!REDIRECT_STATUSES.has(s)) throw new RangeError(`Invalid status code ${s}: Response.redirect() needs 301, 302, 303, 307 or 308.`);
    const r = new Response(INTERNAL);
    r.#status = s;
    r.#headers = headersFromList([['location', href]], true);
    return r;
  }

  static error() {
    const r = new Response(INTERNAL);
    r.#status = 0;
    r.#type = 'error';
    r.#headers = makeImmutable(new Headers());
    return r;
  }

  get type() {
    return this.#type;
  }

  get url() {
    return this.#url;
  }

  get redirected() {
    return this.#redirected;
  }

  get status() {
    return this.#status;
  }

  get ok() {
    return this.#status >= 200 && this.#status <= 299;
  }

  get statusText() {
    return this.#statusText;
  }

  get headers() {
    let h = this.#headers;
    if (h === null) {
      h = this.#headers = this.#defaultType !== null ? headersWithContentType(this.#defaultType) : new Headers();
    }
    return h;
  }

  get webSocket() {
    return this.#webSocket;
  }

  get cf() {
    return this.#cf;
  }

  clone() {
    const c = new Response(INTERNAL);
    c.#status = this.#status;
    c.#statusText = this.#statusText;
    c.#defaultType = this.#defaultType;
    c.#type = this.#type;
    c.#url = this.#url;
    c.#redirected = this.#redirected;
    c.#cf = this.#cf;
    c.#webSocket = this.#webSocket;
    if (this.#headers !== null) {
      c.#headers = new Headers(this.#headers);
      if (isImmutable(this.#headers)) makeImmutable(c.#headers);
    }
    cloneBodyInto(this, c);
    return c;
  }
}
Object.defineProperty(Response.prototype, Symbol.toStringTag, { value: 'Response', configurable: true });

/**
 * True for a real Response (has the private state), not merely something with Response.prototype in its chain.
 * @param {unknown} value
 * @returns {value is Response}
 */
export function isResponse(value) {
  return isResponseImpl(value);
}

/**
 * Status, statusText and headers ([name, value][], Set-Cookie values separate) read from private state.
 * @param {Response} response
 * @returns {{ status: number, statusText: string, headers: HeaderList }}
 */
export function getResponseHead(response) {
  return readHead(response);
}

/**
 * The Response a subrequest (fetch) resolves to, from what the host received. Trusts the host: status is any
 * HTTP status (0-999, including 1xx/3xx that the constructor refuses), headers are [name, value] pairs from the
 * HTTP parser (made immutable, as for fetch responses), body a ReadableStream or null, url the final URL.
 */
/** @param {{ status: number, statusText?: string, headers: HeaderList, body?: ReadableStream | Uint8Array | null, url?: string, redirected?: boolean, webSocket?: object | null }} head */
export function createFetchResponse({ status, statusText = '', headers, body = null, url = '', redirected = false, webSocket = null }) {
  const res = new Response(INTERNAL);
  setFetched(res, status, statusText, headersFromList(headers, true), url, redirected, webSocket);
  if (body !== null && body !== undefined && !isNullBodyStatus(status)) initBody(res, body);
  return res;
}
