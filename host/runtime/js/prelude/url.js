// URL and URLSearchParams. URL parsing is the host's (Node's WHATWG parser, via the bridge): a URL holds the
// parsed record, and setters rebuild an href from the new part and parse it again, after applying the part's
// own rules (what the spec's state overrides do) so that the result matches the WHATWG setters.
// URLSearchParams is the application/x-www-form-urlencoded parser/serializer, written per the spec.
import { hostUrlParse } from './internal/bridge.js';
import { utf8Encode, utf8DecodeKeepBOM } from './encoding.js';
import { PairIterator } from './headers.js';
/** @import { UrlRecord } from '../../../core/isolate-protocol.ts' */

const HEX_UPPER = [];
for (let i = 0; i < 256; i++) HEX_UPPER.push('%' + i.toString(16).toUpperCase().padStart(2, '0'));

const FORM_SAFE = /^[A-Za-z0-9*\-._]*$/;
const TAB_OR_NEWLINE = /[\t\n\r]/g;
const SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*$/;
const SPECIAL_SCHEMES = new Set(['ftp:', 'file:', 'http:', 'https:', 'ws:', 'wss:']);

function toUSV(v) {
  return String(v).toWellFormed();
}

function stripTabAndNewline(s) {
  return s.indexOf('\t') < 0 && s.indexOf('\n') < 0 && s.indexOf('\r') < 0 ? s : s.replace(TAB_OR_NEWLINE, '');
}

function hexValue(b) {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

function percentDecode(s) {
  if (s.indexOf('%') < 0) return s;
  const bytes = utf8Encode(s);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x25 && i + 2 < bytes.length) {
      const h = hexValue(bytes[i + 1]);
      const l = hexValue(bytes[i + 2]);
      if (h >= 0 && l >= 0) {
        out[n++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    out[n++] = b;
  }
  return utf8DecodeKeepBOM(out.subarray(0, n));
}

/** application/x-www-form-urlencoded parsing of a (USV) string into [name, value] pairs. */
function parseForm(s) {
  const list = [];
  if (s === '') return list;
  const parts = s.split('&');
  for (let i = 0; i < parts.length; i++) {
    const seq = parts[i];
    if (seq === '') continue;
    const eq = seq.indexOf('=');
    let name = eq < 0 ? seq : seq.slice(0, eq);
    let value = eq < 0 ? '' : seq.slice(eq + 1);
    if (name.indexOf('+') >= 0) name = name.replaceAll('+', ' ');
    if (value.indexOf('+') >= 0) value = value.replaceAll('+', ' ');
    list.push([percentDecode(name), percentDecode(value)]);
  }
  return list;
}

function encodeFormComponent(s) {
  if (FORM_SAFE.test(s)) return s;
  const bytes = utf8Encode(s);
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x20) out += '+';
    else if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2a || b === 0x2d || b === 0x2e || b === 0x5f) {
      out += String.fromCharCode(b);
    } else out += HEX_UPPER[b];
  }
  return out;
}

function serializeForm(list) {
  let out = '';
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += '&';
    out += encodeFormComponent(list[i][0]) + '=' + encodeFormComponent(list[i][1]);
  }
  return out;
}

/** Percent-encodes s with the given per-code-unit predicate (UTF-8 for non-ASCII). */
function percentEncode(s, mustEncode) {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 && !mustEncode(c)) continue;
    out += s.slice(last, i);
    if (c < 0x80) out += HEX_UPPER[c];
    else {
      // Encode the whole code point (a surrogate pair is one).
      const end = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? i + 2 : i + 1;
      const bytes = utf8Encode(s.slice(i, end));
      for (let j = 0; j < bytes.length; j++) out += HEX_UPPER[bytes[j]];
      i = end - 1;
    }
    last = i + 1;
  }
  return last === 0 ? s : out + s.slice(last);
}

const isC0OrSpace = (c) => c <= 0x20 || c === 0x7f;
const inPathSetterSet = (c) => c <= 0x20 || c === 0x7f || c === 0x23 || c === 0x3f; // C0, space, # and ?
const inQuerySetterSet = (c) => c <= 0x20 || c === 0x7f || c === 0x23; // C0, space, #
// The userinfo percent-encode set (C0 controls, space, " # < > ? ` { } / : ; = @ [ \ ] ^ |).
const inUserinfoSet = (c) => c <= 0x20 || c === 0x7f || '"#<>?`{}/:;=@[\\]^|'.indexOf(String.fromCharCode(c)) >= 0;

let linkParams;
let setParamsList;

export class URLSearchParams {
  /** @type {Array<[string, string]>} */
  #list;
  /** @type {URL | null} */
  #url = null;

  static {
    linkParams = (params, url) => {
      params.#url = url;
    };
    setParamsList = (params, list) => {
      params.#list = list;
    };
  }

  /** @param {unknown} [init]  URLSearchParams, [name, value] pairs, a record, or a query string */
  constructor(init = '') {
    if ((typeof init === 'object' && init !== null) || typeof init === 'function') {
      if (#list in init) {
        this.#list = init.#list.map((p) => [p[0], p[1]]);
        return;
      }
      const iterator = init[Symbol.iterator];
      if (iterator !== undefined && iterator !== null) {
        if (typeof iterator !== 'function') throw new TypeError("Failed to construct 'URLSearchParams': The object's @@iterator is not callable.");
        /** @type {Array<[string, string]>} */
        const list = [];
        for (const pair of /** @type {Iterable<Iterable<unknown>>} */ (init)) {
          const p = Array.isArray(pair) ? pair : Array.from(pair);
          if (p.length !== 2) throw new TypeError("Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements");
          list.push([toUSV(p[0]), toUSV(p[1])]);
        }
        this.#list = list;
        return;
      }
      const keys = Object.keys(init);
      const list = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) list[i] = [toUSV(keys[i]), toUSV(init[keys[i]])];
      this.#list = list;
      return;
    }
    let s = toUSV(init);
    if (s.charCodeAt(0) === 0x3f) s = s.slice(1);
    this.#list = parseForm(s);
  }

  #update() {
    if (this.#url !== null) updateUrlQuery(this.#url, serializeForm(this.#list));
  }

  get size() {
    return this.#list.length;
  }

  append(name, value) {
    if (arguments.length < 2) throw new TypeError(`Failed to execute 'append' on 'URLSearchParams': 2 arguments required, but only ${arguments.length} present.`);
    this.#list.push([toUSV(name), toUSV(value)]);
    this.#update();
  }

  delete(name, value = undefined) {
    const n = toUSV(name);
    const v = value === undefined ? undefined : toUSV(value);
    const list = this.#list;
    let j = 0;
    // Filter in place so that live iterators see the change.
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p[0] === n && (v === undefined || p[1] === v)) continue;
      list[j++] = p;
    }
    list.length = j;
    this.#update();
  }

  get(name) {
    const n = toUSV(name);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i][0] === n) return list[i][1];
    return null;
  }

  getAll(name) {
    const n = toUSV(name);
    const out = [];
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i][0] === n) out.push(list[i][1]);
    return out;
  }

  has(name, value = undefined) {
    const n = toUSV(name);
    const v = value === undefined ? undefined : toUSV(value);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i][0] === n && (v === undefined || list[i][1] === v)) return true;
    return false;
  }

  set(name, value) {
    if (arguments.length < 2) throw new TypeError(`Failed to execute 'set' on 'URLSearchParams': 2 arguments required, but only ${arguments.length} present.`);
    const n = toUSV(name);
    const v = toUSV(value);
    const list = this.#list;
    let found = false;
    let j = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p[0] === n) {
        if (found) continue;
        found = true;
        p[1] = v;
      }
      list[j++] = p;
    }
    list.length = j;
    if (!found) list.push([n, v]);
    this.#update();
  }

  sort() {
    // Array.prototype.sort is stable; < compares by UTF-16 code units as the spec asks.
    this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#update();
  }

  toString() {
    return serializeForm(this.#list);
  }

  forEach(callback, thisArg = undefined) {
    if (typeof callback !== 'function') throw new TypeError("Failed to execute 'forEach' on 'URLSearchParams': parameter 1 is not of type 'Function'.");
    const list = this.#list;
    for (let i = 0; i < list.length; i++) callback.call(thisArg, list[i][1], list[i][0], this);
  }

  entries() {
    return new PairIterator(this.#list, 'entries');
  }

  keys() {
    return new PairIterator(this.#list, 'keys');
  }

  values() {
    return new PairIterator(this.#list, 'values');
  }

  [Symbol.iterator]() {
    return new PairIterator(this.#list, 'entries');
  }
}
Object.defineProperty(URLSearchParams.prototype, Symbol.toStringTag, { value: 'URLSearchParams', configurable: true });

const FROM_RECORD = Symbol('URL from record');
let updateUrlQuery;
let getUrlHref;

// Absolute http(s) URLs of plain ASCII that are already in WHATWG's serialized form (lower-case scheme and host, no
// credentials, no default or zero-padded port, no dot segments, nothing the parser would percent-encode) parse to
// themselves: they are split here, without a call to the host's parser, which gets every other input. Request URLs
// are nearly always of this kind, so `new URL(request.url)` costs no round trip.
const SIMPLE_URL = /^(https?):\/\/([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)(?::([1-9][0-9]{0,4}))?(\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*)?(\?[A-Za-z0-9\-._~!$&()*+,;=:@/?%]*)?(#[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?$/;
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;
const IPV4_PART = /^(?:0|[1-9][0-9]{0,2})$/;

function simpleRecord(input) {
  const m = SIMPLE_URL.exec(input);
  if (m === null) return null;
  const [, scheme, hostname, port = '', path = '', query = '', hash = ''] = m;
  if (port !== '' && (Number(port) > 65535 || port === (scheme === 'http' ? '80' : '443'))) return null;
  const labels = hostname.split('.');
  const last = labels[labels.length - 1];
  // A host ending in a number is an IPv4 address to WHATWG (127.1, 0x7f.1 ...): only the canonical dotted quad is
  // its own serialization. Punycode labels need validating: the host's parser does both.
  if (/^[0-9]+$/.test(last) || /^0x/.test(last)) {
    if (labels.length !== 4 || !labels.every((l) => IPV4_PART.test(l) && Number(l) <= 255)) return null;
  }
  if (labels.some((l) => l.startsWith('xn--'))) return null;
  if (path !== '' && DOT_SEGMENT.test(path)) return null;
  const host = port === '' ? hostname : `${hostname}:${port}`;
  const pathname = path === '' ? '/' : path;
  const origin = `${scheme}://${host}`;
  return {
    href: `${origin}${pathname}${query}${hash}`,
    origin,
    protocol: `${scheme}:`,
    username: '',
    password: '',
    host,
    hostname,
    port,
    pathname,
    search: query.length > 1 ? query : '',
    hash: hash.length > 1 ? hash : '',
  };
}

function parseRecord(input, base) {
  if (base === undefined) {
    const simple = simpleRecord(input);
    if (simple !== null) return simple;
  }
  const r = base === undefined ? hostUrlParse(input) : hostUrlParse(input, base);
  return r !== null && typeof r === 'object' ? r : null;
}

export class URL {
  /** The URL's parts, kept consistent by every setter. @type {UrlRecord} */
  #r;
  /** @type {URLSearchParams | null} */
  #params = null;

  static {
    updateUrlQuery = (url, query) => url.#setQuery(query);
    getUrlHref = (url) => (#r in url ? url.#r.href : undefined);
  }

  /**
   * @param {unknown} url
   * @param {unknown} [base]
   */
  constructor(url, base = undefined) {
    if (url === FROM_RECORD) {
      this.#r = /** @type {UrlRecord} */ (base);
      return;
    }
    if (arguments.length === 0) throw new TypeError("Failed to construct 'URL': 1 argument required, but only 0 present.");
    const input = toUSV(url);
    const r = parseRecord(input, base === undefined ? undefined : toUSV(base));
    if (r === null) throw new TypeError(`Invalid URL: ${input}`);
    this.#r = r;
  }

  static canParse(url, base = undefined) {
    return parseRecord(toUSV(url), base === undefined ? undefined : toUSV(base)) !== null;
  }

  static parse(url, base = undefined) {
    const r = parseRecord(toUSV(url), base === undefined ? undefined : toUSV(base));
    return r === null ? null : new URL(FROM_RECORD, r);
  }

  // What precedes the path in href (scheme, authority, and the "/." a host-less URL needs before "//path").
  #prefix() {
    const r = this.#r;
    return r.href.slice(0, r.href.length - (r.pathname.length + r.search.length + r.hash.length));
  }

  #hasOpaquePath() {
    const r = this.#r;
    return r.href.charCodeAt(r.protocol.length) !== 0x2f;
  }

  #hasAuthority() {
    const r = this.#r;
    return r.href.startsWith('//', r.protocol.length);
  }

  #authority(username, password, host) {
    const userinfo = username || password ? username + (password ? ':' + password : '') + '@' : '';
    return this.#r.protocol + '//' + userinfo + host;
  }

  #tail() {
    const r = this.#r;
    return r.pathname + r.search + r.hash;
  }

  #reparse(href) {
    const r = parseRecord(href, undefined);
    if (r === null) return false;
    this.#r = r;
    return true;
  }

  #syncParams() {
    if (this.#params !== null) setParamsList(this.#params, parseForm(this.#r.search.slice(1)));
  }

  #setQuery(query) {
    const r = this.#r;
    const prefix = this.#prefix();
    r.search = query === '' ? '' : '?' + query;
    r.href = prefix + r.pathname + r.search + r.hash;
  }

  get href() {
    return this.#r.href;
  }

  set href(value) {
    const s = toUSV(value);
    if (!this.#reparse(s)) throw new TypeError(`Invalid URL: ${s}`);
    this.#syncParams();
  }

  get origin() {
    return this.#r.origin;
  }

  get protocol() {
    return this.#r.protocol;
  }

  set protocol(value) {
    const s = stripTabAndNewline(toUSV(value));
    const colon = s.indexOf(':');
    const scheme = colon < 0 ? s : s.slice(0, colon);
    if (!SCHEME.test(scheme)) return;
    const r = this.#r;
    const protocol = scheme.toLowerCase() + ':';
    if (SPECIAL_SCHEMES.has(r.protocol) !== SPECIAL_SCHEMES.has(protocol)) return;
    if (protocol === 'file:' && (r.username !== '' || r.password !== '' || r.port !== '')) return;
    if (r.protocol === 'file:' && r.hostname === '') return;
    this.#reparse(protocol + r.href.slice(r.protocol.length));
  }

  get username() {
    return this.#r.username;
  }

  set username(value) {
    const r = this.#r;
    if (r.host === '' || r.protocol === 'file:') return;
    this.#reparse(this.#authority(percentEncode(toUSV(value), inUserinfoSet), r.password, r.host) + this.#tail());
  }

  get password() {
    return this.#r.password;
  }

  set password(value) {
    const r = this.#r;
    if (r.host === '' || r.protocol === 'file:') return;
    this.#reparse(this.#authority(r.username, percentEncode(toUSV(value), inUserinfoSet), r.host) + this.#tail());
  }

  get host() {
    return this.#r.host;
  }

  set host(value) {
    this.#setHost(value, false);
  }

  get hostname() {
    return this.#r.hostname;
  }

  set hostname(value) {
    this.#setHost(value, true);
  }

  #setHost(value, hostnameOnly) {
    if (this.#hasOpaquePath()) return;
    const r = this.#r;
    const special = SPECIAL_SCHEMES.has(r.protocol);
    let s = stripTabAndNewline(toUSV(value));
    // The host state ends at the path, query or fragment.
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x2f || c === 0x3f || c === 0x23 || (special && c === 0x5c)) {
        s = s.slice(0, i);
        break;
      }
    }
    let colon = -1;
    let inBrackets = false;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x5b) inBrackets = true;
      else if (c === 0x5d) inBrackets = false;
      else if (c === 0x3a && !inBrackets) {
        colon = i;
        break;
      }
    }
    const hostname = colon < 0 ? s : s.slice(0, colon);
    if (colon >= 0 && (hostnameOnly || hostname === '')) return;
    if (hostname === '' && (special || r.username !== '' || r.password !== '' || r.port !== '')) return;
    let port = r.port;
    if (colon >= 0 && r.protocol !== 'file:') {
      const digits = /** @type {RegExpExecArray} */ (/^[0-9]*/.exec(s.slice(colon + 1)))[0]; // matches always, maybe empty
      if (digits !== '' && Number(digits) <= 65535) port = digits;
    }
    this.#reparse(this.#authority(r.username, r.password, hostname + (port !== '' ? ':' + port : '')) + this.#tail());
  }

  get port() {
    return this.#r.port;
  }

  set port(value) {
    const r = this.#r;
    if (r.host === '' || r.protocol === 'file:') return;
    const s = stripTabAndNewline(toUSV(value));
    let port = '';
    if (s !== '') {
      port = /** @type {RegExpExecArray} */ (/^[0-9]*/.exec(s))[0]; // matches always, maybe empty
      if (port === '' || Number(port) > 65535) return;
    }
    this.#reparse(this.#authority(r.username, r.password, r.hostname + (port !== '' ? ':' + port : '')) + this.#tail());
  }

  get pathname() {
    return this.#r.pathname;
  }

  set pathname(value) {
    if (this.#hasOpaquePath()) return;
    const r = this.#r;
    let path = percentEncode(stripTabAndNewline(toUSV(value)), inPathSetterSet);
    const special = SPECIAL_SCHEMES.has(r.protocol);
    let prefix;
    if (this.#hasAuthority()) {
      prefix = this.#authority(r.username, r.password, r.host);
      if (path !== '' && path.charCodeAt(0) !== 0x2f && !(special && path.charCodeAt(0) === 0x5c)) path = '/' + path;
    } else {
      prefix = r.protocol;
      if (path.charCodeAt(0) !== 0x2f) path = '/' + path;
      // A host-less URL whose path starts with an empty segment serializes with "/." so it is not read as a host.
      if (path.startsWith('//')) prefix += '/.';
    }
    this.#reparse(prefix + path + r.search + r.hash);
  }

  get search() {
    return this.#r.search;
  }

  set search(value) {
    const r = this.#r;
    let s = stripTabAndNewline(toUSV(value));
    if (s !== '') {
      if (s.charCodeAt(0) === 0x3f) s = s.slice(1);
      s = '?' + percentEncode(s, inQuerySetterSet);
    }
    this.#reparse(this.#prefix() + r.pathname + s + r.hash);
    this.#syncParams();
  }

  get searchParams() {
    if (this.#params === null) {
      const params = new URLSearchParams(this.#r.search);
      linkParams(params, this);
      this.#params = params;
    }
    return this.#params;
  }

  get hash() {
    return this.#r.hash;
  }

  set hash(value) {
    const r = this.#r;
    let s = stripTabAndNewline(toUSV(value));
    if (s !== '') {
      if (s.charCodeAt(0) === 0x23) s = s.slice(1);
      s = '#' + percentEncode(s, isC0OrSpace);
    }
    this.#reparse(this.#prefix() + r.pathname + r.search + s);
  }

  toString() {
    return this.#r.href;
  }

  toJSON() {
    return this.#r.href;
  }
}
Object.defineProperty(URL.prototype, Symbol.toStringTag, { value: 'URL', configurable: true });

/** Parses an absolute URL string for Request: the href, or null when it does not parse. */
export function parseAbsoluteUrl(input) {
  if (typeof input === 'object' && input !== null) {
    const href = getUrlHref(input);
    if (href !== undefined) return href;
  }
  const r = parseRecord(toUSV(input), undefined);
  return r === null ? null : r.href;
}

/** The href of a URL object, read from its record (immune to a guest redefining the getter); undefined if not a URL. */
export function urlHref(url) {
  return getUrlHref(url);
}
