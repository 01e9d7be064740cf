// Request per the Fetch standard, with the Workers additions (cf, duplex) and the fast constructor the runtime
// uses for every incoming request (createIncomingRequest): the host already validated method, URL and headers.
import { Body, initBody, cloneBodyInto, moveBody, hasBody } from './body.js';
import { Headers, headersFromList, headersToList, makeImmutable, isImmutable, setDefaultContentType } from './headers.js';
import { parseAbsoluteUrl } from './url.js';
import { events, isAbortSignal } from './events.js';
/** @import { HeaderList } from '../../../core/isolate-protocol.ts' */
/** @import { HeadersInit } from './headers.js' */
/** @import { AbortSignal } from './events.js' */

/**
 * What `new Request(input, init)` takes as init; each member is checked or converted as the standard says.
 * @typedef {object} RequestInit
 * @property {unknown} [method]
 * @property {HeadersInit} [headers]
 * @property {unknown} [body]
 * @property {unknown} [redirect]
 * @property {unknown} [signal]
 * @property {unknown} [cf]
 * @property {unknown} [duplex]
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NORMALIZED_METHODS = new Map([
  ['delete', 'DELETE'], ['get', 'GET'], ['head', 'HEAD'], ['options', 'OPTIONS'], ['post', 'POST'], ['put', 'PUT'],
]);
const FORBIDDEN_METHODS = new Set(['connect', 'trace', 'track']);
const REDIRECT_MODES = new Set(['follow', 'error', 'manual']);
const INTERNAL = Symbol('internal');

function normalizeMethod(m) {
  const s = String(m);
  if (s === 'GET' || s === 'POST') return s;
  if (!TOKEN.test(s)) throw new TypeError(`'${s}' is not a valid HTTP method.`);
  const lower = s.toLowerCase();
  if (FORBIDDEN_METHODS.has(lower)) throw new TypeError(`'${s}' HTTP method is unsupported.`);
  return NORMALIZED_METHODS.get(lower) ?? s;
}

let setIncoming;
let readHead;
let isRequestImpl;

export class Request extends Body {
  #method = 'GET';
  #url = '';
  /** @type {Headers | null} */
  #headers = null; // null while #rawHeaders has not been looked at
  /** @type {HeaderList | null} */
  #rawHeaders = null; // from the host, turned into immutable Headers on first access
  #redirect = 'follow';
  /** @type {AbortSignal | null} */
  #signal = null;
  /** @type {unknown} */
  #cf = undefined;
  /** @type {string | null} `cf` as the host's JSON text, parsed when first read (most workers never read it) */
  #cfJson = null;

  static {
    setIncoming = (req, method, url, rawHeaders, cf, cfJson) => {
      req.#method = method;
      req.#url = url;
      req.#rawHeaders = rawHeaders;
      req.#cf = cf;
      if (cfJson) req.#cfJson = cfJson;
    };
    isRequestImpl = (v) => typeof v === 'object' && v !== null && #method in v;
    readHead = (req) => ({
      method: req.#method,
      url: req.#url,
      headers: req.#headers !== null ? headersToList(req.#headers) : req.#rawHeaders !== null ? req.#rawHeaders : [],
      redirect: req.#redirect,
      cf: req.#cfValue(),
    });
  }

  /**
   * @param {unknown} input  a Request, or a URL (string or URL)
   * @param {RequestInit | null} [init]
   */
  constructor(input, init = undefined) {
    super();
    if (input === INTERNAL) return;
    if (arguments.length === 0) throw new TypeError("Failed to construct 'Request': 1 argument required, but only 0 present.");
    const from = input instanceof Request && #method in input ? input : null;
    if (from !== null) {
      this.#method = from.#method;
      this.#url = from.#url;
      this.#redirect = from.#redirect;
      this.#signal = from.#signal;
      this.#cf = from.#cfValue();
    } else {
      const href = parseAbsoluteUrl(input);
      if (href === null) throw new TypeError(`Invalid URL: ${String(input)}`);
      this.#url = href;
    }
    const opts = init == null ? undefined : init;
    if (opts !== undefined && typeof opts !== 'object' && typeof opts !== 'function') {
      throw new TypeError("Failed to construct 'Request': The provided value is not of type 'RequestInit'.");
    }
    if (opts !== undefined) {
      if (opts.method !== undefined) this.#method = normalizeMethod(opts.method);
      if (opts.redirect !== undefined) {
        const r = String(opts.redirect);
        if (!REDIRECT_MODES.has(r)) throw new TypeError(`Invalid redirect value: '${r}' (expected 'follow', 'error' or 'manual').`);
        this.#redirect = r;
      }
      if (opts.signal === null) this.#signal = null;
      else if (opts.signal !== undefined) {
        if (!isAbortSignal(opts.signal)) throw new TypeError("Failed to construct 'Request': member signal is not of type AbortSignal.");
        this.#signal = opts.signal;
      }
      if (opts.cf !== undefined) this.#cf = opts.cf;
      if (opts.duplex !== undefined && String(opts.duplex) !== 'half') throw new TypeError(`Invalid duplex value: '${opts.duplex}' (only 'half' is supported).`);
    }
    const headersInit = opts !== undefined ? opts.headers : undefined;
    if (headersInit !== undefined) this.#headers = new Headers(headersInit);
    else if (from !== null) this.#headers = new Headers(from.headers);

    const bodyInit = opts !== undefined ? opts.body : undefined;
    const bodyless = this.#method === 'GET' || this.#method === 'HEAD';
    if (bodyInit !== undefined && bodyInit !== null) {
      if (bodyless) throw new TypeError('Request with a GET or HEAD method cannot have a body.');
      const type = initBody(this, bodyInit);
      if (type !== null) setDefaultContentType((this.#headers ??= new Headers()), type);
    } else if (from !== null && bodyInit === undefined && from.bodyUsed) {
      throw new TypeError('Cannot construct a Request from a Request whose body has already been used.');
    } else if (from !== null && bodyInit === undefined && hasBody(from)) {
      if (bodyless) throw new TypeError('Request with a GET or HEAD method cannot have a body.');
      moveBody(from, this);
    }
  }

  get method() {
    return this.#method;
  }

  get url() {
    return this.#url;
  }

  get headers() {
    let h = this.#headers;
    if (h === null) {
      const raw = this.#rawHeaders;
      h = this.#headers = raw !== null ? headersFromList(raw, true) : new Headers();
      this.#rawHeaders = null;
    }
    return h;
  }

  get redirect() {
    return this.#redirect;
  }

  /** The signal given in RequestInit (or by the Request copied), else one that never aborts, made on first access. */
  get signal() {
    return (this.#signal ??= events().neverAbortedSignal());
  }

  get cf() {
    return this.#cfValue();
  }

  #cfValue() {
    const json = this.#cfJson;
    if (json !== null) {
      this.#cfJson = null;
      this.#cf = JSON.parse(json);
    }
    return this.#cf;
  }

  get duplex() {
    return 'half';
  }

  get keepalive() {
    return false;
  }

  get integrity() {
    return '';
  }

  clone() {
    const c = new Request(INTERNAL);
    c.#method = this.#method;
    c.#url = this.#url;
    c.#redirect = this.#redirect;
    c.#signal = this.#signal;
    c.#cf = this.#cfValue();
    if (this.#headers !== null) {
      c.#headers = new Headers(this.#headers);
      if (isImmutable(this.#headers)) makeImmutable(c.#headers);
    } else {
      c.#rawHeaders = this.#rawHeaders;
    }
    cloneBodyInto(this, c);
    return c;
  }
}
Object.defineProperty(Request.prototype, Symbol.toStringTag, { value: 'Request', configurable: true });

/**
 * The Request a fetch handler receives. Trusts the host: method is an upper-case token, url an absolute
 * serialized URL, headers [name, value] pairs from the HTTP parser (lowercased lazily on first access, then
 * immutable), body a ReadableStream or null, cf an object or undefined.
 */
/** @param {{ method: string, url: string, headers: HeaderList, body: ReadableStream | null, cf?: Record<string, unknown>, cfJson?: string }} head */
export function createIncomingRequest({ method, url, headers, body, cf, cfJson }) {
  const req = new Request(INTERNAL);
  setIncoming(req, method, url, headers, cf, cfJson);
  if (body !== null && body !== undefined) initBody(req, body);
  return req;
}

/**
 * True for a real Request (not an object that only has Request.prototype in its chain).
 * @param {unknown} value
 * @returns {value is Request}
 */
export function isRequest(value) {
  return isRequestImpl(value);
}

/**
 * Method, url, headers ([name, value][]), redirect and cf of a Request, read from its private state.
 * @param {Request} request
 * @returns {{ method: string, url: string, headers: HeaderList, redirect: string, cf: unknown }}
 */
export function getRequestHead(request) {
  return readHead(request);
}
