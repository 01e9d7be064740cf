// Headers per the Fetch standard: lowercase names kept in a Map with values combined by ", ", except that
// Set-Cookie values are also kept apart (getSetCookie, iteration). Includes the "immutable" guard Workers uses
// for incoming request headers, and the fast internal constructors the runtime uses on every request.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE = /[\0\r\n\u0100-\uffff]/;
const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function isWhitespace(c) {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function normalizeName(name) {
  const s = typeof name === 'string' ? name : String(name);
  if (!TOKEN.test(s)) throw new TypeError(`Invalid header name: "${s}"`);
  return s.toLowerCase();
}

function normalizeValue(value, name) {
  let s = typeof value === 'string' ? value : String(value);
  if (s.length > 0 && (isWhitespace(s.charCodeAt(0)) || isWhitespace(s.charCodeAt(s.length - 1)))) s = s.replace(HTTP_WHITESPACE, '');
  if (INVALID_VALUE.test(s)) throw new TypeError(`Invalid header value for "${name}": header values cannot contain NUL, CR or LF or characters above U+00FF`);
  return s;
}

function immutableError() {
  return new TypeError("Can't modify immutable headers.");
}

/** Iterator over a list of [name, value] pairs; live when the list is mutated in place (URLSearchParams). */
export class PairIterator {
  #list;
  #kind;
  #index = 0;

  constructor(list, kind) {
    this.#list = list;
    this.#kind = kind;
  }

  next() {
    const list = this.#list;
    if (list === null || this.#index >= list.length) {
      this.#list = null;
      return { value: undefined, done: true };
    }
    const pair = list[this.#index++];
    const kind = this.#kind;
    return { value: kind === 'keys' ? pair[0] : kind === 'values' ? pair[1] : [pair[0], pair[1]], done: false };
  }

  [Symbol.iterator]() {
    return this;
  }
}
Object.defineProperty(PairIterator.prototype, Symbol.toStringTag, { value: 'Iterator', configurable: true });

/** What `new Headers(init)` takes: Headers, [name, value] pairs, or a record. @typedef {Headers | Iterable<Iterable<unknown>> | Record<string, unknown>} HeadersInit */
/** @import { HeaderList } from '../../../core/isolate-protocol.ts' */

let getMap;
let getCookies;
let setImmutable;
let isImmutableHeaders;
let initFromList;
let setTrustedDefault;

export class Headers {
  /** Lowercase name -> the values combined by ", ". @type {Map<string, string>} */
  #map = new Map();
  /** Set-Cookie values, each on its own. @type {string[] | null} */
  #cookies = null;
  #immutable = false;
  /** @type {string[] | null} */
  #sortedNames = null;

  static {
    getMap = (h) => h.#map;
    getCookies = (h) => h.#cookies;
    setImmutable = (h) => {
      h.#immutable = true;
    };
    isImmutableHeaders = (h) => h.#immutable;
    setTrustedDefault = (h, name, value) => {
      if (h.#map.has(name)) return;
      h.#map.set(name, value);
      h.#sortedNames = null;
    };
    initFromList = (h, list) => {
      const map = h.#map;
      for (let i = 0; i < list.length; i++) {
        const pair = list[i];
        const name = String(pair[0]).toLowerCase();
        const value = String(pair[1]);
        const prev = map.get(name);
        map.set(name, prev === undefined ? value : prev + ', ' + value);
        if (name === 'set-cookie') (h.#cookies ??= []).push(value);
      }
    };
  }

  /** @param {HeadersInit} [init] */
  constructor(init = undefined) {
    if (init === undefined) return;
    if (init === null || (typeof init !== 'object' && typeof init !== 'function')) {
      throw new TypeError("Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.");
    }
    if (#map in init) {
      this.#map = new Map(init.#map);
      if (init.#cookies !== null) this.#cookies = init.#cookies.slice();
      return;
    }
    if (typeof init[Symbol.iterator] === 'function') {
      for (const pair of /** @type {Iterable<Iterable<unknown>>} */ (init)) {
        const p = Array.isArray(pair) ? pair : Array.from(pair);
        if (p.length !== 2) throw new TypeError(`Headers constructor: expected name/value pair to be length 2, found ${p.length}.`);
        this.#append(p[0], p[1]);
      }
      return;
    }
    const keys = Object.keys(init);
    for (let i = 0; i < keys.length; i++) this.#append(keys[i], init[keys[i]]);
  }

  #append(name, value) {
    const n = normalizeName(name);
    const v = normalizeValue(value, n);
    if (this.#immutable) throw immutableError();
    const map = this.#map;
    const prev = map.get(n);
    if (prev === undefined) {
      map.set(n, v);
      this.#sortedNames = null;
    } else {
      map.set(n, prev + ', ' + v);
    }
    if (n === 'set-cookie') (this.#cookies ??= []).push(v);
  }

  append(name, value) {
    if (arguments.length < 2) throw new TypeError(`Failed to execute 'append' on 'Headers': 2 arguments required, but only ${arguments.length} present.`);
    this.#append(name, value);
  }

  set(name, value) {
    if (arguments.length < 2) throw new TypeError(`Failed to execute 'set' on 'Headers': 2 arguments required, but only ${arguments.length} present.`);
    const n = normalizeName(name);
    const v = normalizeValue(value, n);
    if (this.#immutable) throw immutableError();
    if (!this.#map.has(n)) this.#sortedNames = null;
    this.#map.set(n, v);
    if (n === 'set-cookie') this.#cookies = [v];
  }

  delete(name) {
    if (arguments.length < 1) throw new TypeError("Failed to execute 'delete' on 'Headers': 1 argument required, but only 0 present.");
    const n = normalizeName(name);
    if (this.#immutable) throw immutableError();
    if (this.#map.delete(n)) this.#sortedNames = null;
    if (n === 'set-cookie') this.#cookies = null;
  }

  get(name) {
    if (arguments.length < 1) throw new TypeError("Failed to execute 'get' on 'Headers': 1 argument required, but only 0 present.");
    const v = this.#map.get(normalizeName(name));
    return v === undefined ? null : v;
  }

  has(name) {
    if (arguments.length < 1) throw new TypeError("Failed to execute 'has' on 'Headers': 1 argument required, but only 0 present.");
    return this.#map.has(normalizeName(name));
  }

  getSetCookie() {
    return this.#cookies === null ? [] : this.#cookies.slice();
  }

  /** Workers' older name for getSetCookie-like access: getAll('set-cookie'). */
  getAll(name) {
    const n = normalizeName(name);
    if (n !== 'set-cookie') throw new TypeError('getAll() can only be used with the header name "Set-Cookie".');
    return this.getSetCookie();
  }

  /** "Sort and combine": lowercase names in order, Set-Cookie values each on their own. */
  #pairs() {
    const names = (this.#sortedNames ??= [...this.#map.keys()].sort());
    const map = this.#map;
    const out = new Array(names.length);
    let j = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (name === 'set-cookie' && this.#cookies !== null) {
        for (const c of this.#cookies) out[j++] = [name, c];
      } else {
        out[j++] = [name, map.get(name)];
      }
    }
    return out;
  }

  forEach(callback, thisArg = undefined) {
    if (typeof callback !== 'function') throw new TypeError("Failed to execute 'forEach' on 'Headers': parameter 1 is not of type 'Function'.");
    const pairs = this.#pairs();
    for (let i = 0; i < pairs.length; i++) callback.call(thisArg, pairs[i][1], pairs[i][0], this);
  }

  entries() {
    return new PairIterator(this.#pairs(), 'entries');
  }

  keys() {
    return new PairIterator(this.#pairs(), 'keys');
  }

  values() {
    return new PairIterator(this.#pairs(), 'values');
  }

  [Symbol.iterator]() {
    return new PairIterator(this.#pairs(), 'entries');
  }
}
Object.defineProperty(Headers.prototype, Symbol.toStringTag, { value: 'Headers', configurable: true });

/** Applies the "immutable" guard: every later mutation throws `TypeError: Can't modify immutable headers.` */
export function makeImmutable(headers) {
  setImmutable(headers);
  return headers;
}

export function isImmutable(headers) {
  return isImmutableHeaders(headers);
}

/**
 * Builds Headers from [name, value] pairs the host already validated (e.g. parsed by Node's HTTP parser):
 * names are only lowercased, values are not re-checked.
 */
/**
 * @param {HeaderList} list
 * @param {boolean} immutable
 */
export function headersFromList(list, immutable) {
  const h = new Headers();
  initFromList(h, list);
  if (immutable) setImmutable(h);
  return h;
}

/**
 * The headers as [name, value] pairs for the host (insertion order; Set-Cookie values separate).
 * @param {Headers} headers
 * @returns {HeaderList}
 */
export function headersToList(headers) {
  const map = getMap(headers);
  const cookies = getCookies(headers);
  /** @type {HeaderList} */
  const out = [];
  for (const [name, value] of map) {
    if (name === 'set-cookie' && cookies !== null) for (const c of cookies) out.push([name, c]);
    else out.push([name, value]);
  }
  return out;
}

/** Sets Content-Type from a body's type unless present; the value is ours, so it skips validation and the guard. */
export function setDefaultContentType(headers, type) {
  setTrustedDefault(headers, 'content-type', type);
}

/** A fresh Headers with only a Content-Type (the common `new Response(string)` case). */
export function headersWithContentType(type) {
  const h = new Headers();
  setTrustedDefault(h, 'content-type', type);
  return h;
}
