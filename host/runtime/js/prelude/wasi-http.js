// wasi:http 0.2 types and outgoing-handler for components in the isolate (the `wasi:http/proxy` world). A request the
// component handles arrives as an `incoming-request` whose body is read from the host chunk by chunk ('body.read');
// its `response-outparam` sends the head when it is set ('resp.begin') and the body as the component writes it
// ('resp.write'). An `outgoing-request` is a worker's fetch ('wasi.fetch'), under the same egress policy and
// subrequest limit as a JS worker's; its response body is pulled from the host as the component reads it.
// Written here rather than taken from @bytecodealliance/preview2-shim: the shim's browser http is built on fetch()
// promises, which a synchronously instantiated component cannot wait for; here every wait blocks in the host.
import { ioErrorCreate, inputStreamCreate, outputStreamCreate, pollableCreate, wasiHost } from './wasi.js';

const TOKEN = Symbol('edge.wasiHttp');
const symbolDispose = Symbol.dispose || Symbol.for('dispose');
const MAX_READ = 64 * 1024;
const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METHODS = ['get', 'head', 'post', 'put', 'delete', 'connect', 'options', 'trace', 'patch'];
/** @type {import('./encoding.js').TextEncoder | null} */
let encoderRef = null;
const encoder = { encode: (/** @type {string} */ v) => (encoderRef ??= new (wasiHost().TextEncoder)()).encode(v) };
/** Header bytes as the host's header strings (HTTP field values are latin-1). @param {Uint8Array} bytes */
function latin1(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** Makes jco's glue return `err(payload)` from a function whose WIT result is a `result` (getErrorPayload). @param {unknown} payload */
function fail(payload) {
  return { payload };
}

/** @param {string} what */
function notOurs(what) {
  return new TypeError(`wasi:http: ${what} cannot be constructed by the component`);
}

/** A reply of the host as a value, or a thrown wasi:http error-code. */
function unwrapHttp(reply, what) {
  if (reply && typeof reply === 'object') {
    if ('v' in reply) return reply.v;
    if ('e' in reply) throw fail(reply.e);
    if ('x' in reply) throw new Error(`${what}: ${String(reply.x)}`);
  }
  throw new Error(`${what}: malformed reply from the host`);
}

/** wasi:http `method` variant <-> method token. @param {string} m */
function methodVariant(m) {
  const lower = m.toLowerCase();
  return METHODS.includes(lower) && m === m.toUpperCase() ? { tag: lower } : { tag: 'other', val: m };
}
/** @param {{ tag: string, val?: string }} v */
function methodToken(v) {
  return v.tag === 'other' ? String(v.val) : v.tag.toUpperCase();
}

class Fields {
  /** @type {Array<[string, Uint8Array]>} */
  #entries = [];
  #immutable = false;

  constructor(token, entries, immutable) {
    if (token === TOKEN) {
      this.#entries = entries;
      this.#immutable = immutable;
    }
  }

  /** @param {Array<[string, Uint8Array]>} list */
  static fromList(list) {
    const out = [];
    for (const [name, value] of list) {
      if (!TCHAR.test(name)) throw fail({ tag: 'invalid-syntax' });
      out.push([name.toLowerCase(), new Uint8Array(value)]);
    }
    return new Fields(TOKEN, out, false);
  }

  /** From a header list of the host. @param {Array<[string, string]>} headers @param {boolean} immutable */
  static _fromHeaders(headers, immutable) {
    return new Fields(TOKEN, headers.map(([k, v]) => [k.toLowerCase(), encoder.encode(v)]), immutable);
  }

  /**
   * A header list for the host (values as latin-1 strings, as HTTP carries them).
   * @param {Fields} f
   * @returns {Array<[string, string]>}
   */
  static _toHeaders(f) {
    return f.#entries.map(([k, v]) => [k, latin1(v)]);
  }

  /** The same entries, seen through another resource (a child handle of a request or response). @param {Fields} f */
  static _view(f, immutable) {
    return new Fields(TOKEN, f.#entries, immutable || f.#immutable);
  }

  /** @param {string} name */
  get(name) {
    const n = name.toLowerCase();
    return this.#entries.filter(([k]) => k === n).map(([, v]) => new Uint8Array(v));
  }
  /** @param {string} name */
  has(name) {
    const n = name.toLowerCase();
    return this.#entries.some(([k]) => k === n);
  }
  #check(name) {
    if (this.#immutable) throw fail({ tag: 'immutable' });
    if (!TCHAR.test(name)) throw fail({ tag: 'invalid-syntax' });
  }
  /** @param {string} name @param {Uint8Array[]} values */
  set(name, values) {
    this.#check(name);
    const n = name.toLowerCase();
    const kept = this.#entries.filter(([k]) => k !== n);
    this.#entries.length = 0;
    this.#entries.push(...kept, ...values.map((v) => /** @type {[string, Uint8Array]} */ ([n, new Uint8Array(v)])));
  }
  /** @param {string} name */
  delete(name) {
    this.#check(name);
    const n = name.toLowerCase();
    const kept = this.#entries.filter(([k]) => k !== n);
    this.#entries.length = 0;
    this.#entries.push(...kept);
  }
  /** @param {string} name @param {Uint8Array} value */
  append(name, value) {
    this.#check(name);
    this.#entries.push([name.toLowerCase(), new Uint8Array(value)]);
  }
  entries() {
    return this.#entries.map(([k, v]) => [k, new Uint8Array(v)]);
  }
  clone() {
    return new Fields(TOKEN, this.entries(), false);
  }
}

/** A body the host holds, read `max` bytes at a time by `read` (null at its end). @param {(max: number) => Uint8Array | null} read */
function hostInputStream(read) {
  let ended = false;
  return inputStreamCreate({
    blockingRead(len) {
      if (ended) throw { tag: 'closed' };
      const max = Math.min(Number(len), MAX_READ);
      if (max === 0) return new Uint8Array(0);
      let chunk;
      try {
        chunk = read(max);
      } catch (err) {
        ended = true;
        throw { tag: 'last-operation-failed', val: ioErrorCreate(err instanceof Error ? err.message : String(err)) };
      }
      if (chunk === null) {
        ended = true;
        throw { tag: 'closed' };
      }
      return chunk;
    },
    subscribe: () => pollableCreate(),
    drop() {},
  });
}

class IncomingBody {
  #read;
  #streamed = false;
  constructor(token, read) {
    if (token !== TOKEN) throw notOurs('incoming-body');
    this.#read = read;
  }
  stream() {
    if (this.#streamed) throw fail(undefined);
    this.#streamed = true;
    return hostInputStream(this.#read);
  }
  /** @param {IncomingBody} _body */
  static finish(_body) {
    return new FutureTrailers(TOKEN);
  }
}

class FutureTrailers {
  #taken = false;
  constructor(token) {
    if (token !== TOKEN) throw notOurs('future-trailers');
  }
  subscribe() {
    return pollableCreate();
  }
  get() {
    if (this.#taken) return { tag: 'err', val: undefined };
    this.#taken = true;
    return { tag: 'ok', val: { tag: 'ok', val: undefined } };
  }
}

class IncomingRequest {
  #method;
  #url;
  #headers;
  /** @type {((max: number) => Uint8Array | null) | null | undefined} */
  #body;
  /** @param {symbol} token @param {{ method: string, url: string, headers: Array<[string, string]>, read: ((max: number) => Uint8Array | null) | null }} init */
  constructor(token, init) {
    if (token !== TOKEN) throw notOurs('incoming-request');
    this.#method = init.method;
    this.#url = new (wasiHost().URL)(init.url);
    this.#headers = Fields._fromHeaders(init.headers, true);
    this.#body = init.read;
  }
  method() {
    return methodVariant(this.#method);
  }
  pathWithQuery() {
    return this.#url.pathname + this.#url.search;
  }
  scheme() {
    return this.#url.protocol === 'https:' ? { tag: 'HTTPS' } : { tag: 'HTTP' };
  }
  authority() {
    return this.#url.host;
  }
  headers() {
    return Fields._view(this.#headers, true);
  }
  consume() {
    if (this.#body === undefined) throw fail(undefined);
    const read = this.#body;
    this.#body = undefined;
    return new IncomingBody(TOKEN, read ?? (() => null));
  }
}

/**
 * Where an outgoing body's bytes go: kept until `attach` gives them a destination (a response is sent only once
 * its outparam is set; a request's body goes with its fetch), then written straight through.
 */
class BodySink {
  /** @type {Uint8Array[]} */
  pending = [];
  /** @type {((chunk: Uint8Array) => void) | null} */
  target = null;
  finished = false;
  /** @param {Uint8Array} chunk */
  write(chunk) {
    if (this.finished) throw new Error('wasi:http: the body was already finished');
    if (this.target) this.target(chunk);
    else this.pending.push(new Uint8Array(chunk));
  }
  /** @param {(chunk: Uint8Array) => void} target */
  attach(target) {
    this.target = target;
    for (const chunk of this.pending.splice(0)) target(chunk);
  }
  /** Everything written so far, as one buffer (a request body sent whole). */
  take() {
    const total = this.pending.reduce((n, c) => n + c.byteLength, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.pending.splice(0)) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

class OutgoingBody {
  #sink;
  #written = false;
  constructor(token, sink) {
    if (token !== TOKEN) throw notOurs('outgoing-body');
    this.#sink = sink;
  }
  write() {
    if (this.#written) throw fail(undefined);
    this.#written = true;
    const sink = this.#sink;
    return outputStreamCreate({
      checkWrite: () => BigInt(MAX_READ),
      write: (buf) => sink.write(buf),
      flush() {},
      blockingFlush() {},
      subscribe: () => pollableCreate(),
      drop() {},
    });
  }
  /** @param {OutgoingBody} body @param {Fields | undefined} _trailers */
  static finish(body, _trailers) {
    body.#sink.finished = true;
  }
  [symbolDispose]() {
    this.#sink.finished = true;
  }
  /** @param {OutgoingBody} body */
  static _sink(body) {
    return body.#sink;
  }
}

class OutgoingResponse {
  #status = 200;
  #headers;
  #bodyTaken = false;
  sink = new BodySink();
  /** @param {Fields} headers */
  constructor(headers) {
    this.#headers = headers;
  }
  statusCode() {
    return this.#status;
  }
  /** @param {number} code */
  setStatusCode(code) {
    if (code < 100 || code > 999) throw fail(undefined);
    this.#status = code;
  }
  headers() {
    return Fields._view(this.#headers, false);
  }
  body() {
    if (this.#bodyTaken) throw fail(undefined);
    this.#bodyTaken = true;
    return new OutgoingBody(TOKEN, this.sink);
  }
  /** @param {OutgoingResponse} r */
  static _head(r) {
    return { status: r.#status, headers: Fields._toHeaders(r.#headers) };
  }
}

/** What the handler did with its response-outparam: the response (ok) or error-code (err) it was set to. */
class ResponseOutparam {
  /** @type {{ tag: 'ok', val: OutgoingResponse } | { tag: 'err', val: unknown } | null} */
  outcome = null;
  #onSet;
  /** @param {symbol} token @param {(outcome: { tag: string, val: unknown }) => void} onSet */
  constructor(token, onSet) {
    if (token !== TOKEN) throw notOurs('response-outparam');
    this.#onSet = onSet;
  }
  /** @param {ResponseOutparam} param @param {{ tag: 'ok', val: OutgoingResponse } | { tag: 'err', val: unknown }} response */
  static set(param, response) {
    if (param.outcome) throw new Error('wasi:http: response-outparam.set was already called');
    param.outcome = response;
    param.#onSet(response);
  }
}

class RequestOptions {
  #timeouts = { connect: undefined, firstByte: undefined, betweenBytes: undefined };
  connectTimeout() { return this.#timeouts.connect; }
  setConnectTimeout(d) { this.#timeouts.connect = d; }
  firstByteTimeout() { return this.#timeouts.firstByte; }
  setFirstByteTimeout(d) { this.#timeouts.firstByte = d; }
  betweenBytesTimeout() { return this.#timeouts.betweenBytes; }
  setBetweenBytesTimeout(d) { this.#timeouts.betweenBytes = d; }
}

class OutgoingRequest {
  /** @type {{ tag: string, val?: string }} */
  _method = { tag: 'get' };
  /** @type {string | undefined} */
  path = undefined;
  /** @type {{ tag: string, val?: string } | undefined} */
  schemeValue = undefined;
  /** @type {string | undefined} */
  authorityValue = undefined;
  fields;
  /** @type {BodySink | null} */
  sink = null;
  /** @param {Fields} headers */
  constructor(headers) {
    this.fields = headers;
  }
  body() {
    if (this.sink) throw fail(undefined);
    this.sink = new BodySink();
    return new OutgoingBody(TOKEN, this.sink);
  }
  method() { return this._method; }
  setMethod(m) {
    if (m.tag === 'other' && !TCHAR.test(String(m.val))) throw fail(undefined);
    this._method = m;
  }
  pathWithQuery() { return this.path; }
  setPathWithQuery(p) { this.path = p; }
  scheme() { return this.schemeValue; }
  setScheme(s) { this.schemeValue = s; }
  authority() { return this.authorityValue; }
  setAuthority(a) { this.authorityValue = a; }
  headers() {
    return Fields._view(this.fields, false);
  }
}

class IncomingResponse {
  #status;
  #headers;
  /** @type {((max: number) => Uint8Array | null) | null | undefined} */
  #read;
  constructor(token, init) {
    if (token !== TOKEN) throw notOurs('incoming-response');
    this.#status = init.status;
    this.#headers = Fields._fromHeaders(init.headers, true);
    this.#read = init.read;
  }
  status() {
    return this.#status;
  }
  headers() {
    return Fields._view(this.#headers, true);
  }
  consume() {
    if (this.#read === undefined) throw fail(undefined);
    const read = this.#read;
    this.#read = undefined;
    return new IncomingBody(TOKEN, read ?? (() => null));
  }
}

class FutureIncomingResponse {
  #start;
  /** @type {{ tag: 'ok', val: { tag: 'ok', val: IncomingResponse } | { tag: 'err', val: unknown } } | { tag: 'err', val: undefined } | undefined} */
  #result = undefined;
  #taken = false;
  #ready;
  constructor(token, start, ready) {
    if (token !== TOKEN) throw notOurs('future-incoming-response');
    this.#start = start;
    this.#ready = ready;
  }
  subscribe() {
    return pollableCreate({ ready: () => this.#ready(), wait: () => Promise.resolve() });
  }
  get() {
    if (this.#taken) return { tag: 'err', val: undefined };
    this.#taken = true;
    try {
      return { tag: 'ok', val: { tag: 'ok', val: this.#start() } };
    } catch (err) {
      if (err && typeof err === 'object' && 'payload' in err) return { tag: 'ok', val: { tag: 'err', val: err.payload } };
      throw err;
    }
  }
}

/**
 * The per-worker wasi:http imports and the adapter that runs a request through the component's incoming-handler.
 * @param {() => number} currentRequest the host id of the request being handled
 */
export function wasiHttp(currentRequest) {
  const types = {
    Fields,
    FutureIncomingResponse,
    FutureTrailers,
    IncomingBody,
    IncomingRequest,
    IncomingResponse,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    RequestOptions,
    ResponseOutparam,
    httpErrorCode: () => undefined,
  };

  /** @param {OutgoingRequest} request @param {RequestOptions | undefined} _options */
  function handle(request, _options) {
    const scheme = request.schemeValue ?? { tag: 'HTTPS' };
    const authority = request.authorityValue;
    if (!authority) throw fail({ tag: 'HTTP-request-URI-invalid' });
    const protocol = scheme.tag === 'HTTP' ? 'http' : scheme.tag === 'HTTPS' ? 'https' : String(scheme.val);
    const url = `${protocol}://${authority}${request.path ?? '/'}`;
    const reqId = currentRequest();
    const sink = request.sink;
    const start = () => {
      const head = unwrapHttp(
        wasiHost().invoke('wasi.fetch', {
          reqId,
          method: methodToken(request._method),
          url,
          headers: Fields._toHeaders(request.fields),
          body: sink ? sink.take() : null,
        }),
        'wasi:http/outgoing-handler',
      );
      const id = head.id;
      const read = head.body
        ? (max) => unwrapHttp(wasiHost().invoke('wasi.fetch.read', { reqId, id, max }), 'wasi:http incoming-body')
        : null;
      return new IncomingResponse(TOKEN, { status: head.status, headers: head.headers, read });
    };
    return new FutureIncomingResponse(TOKEN, start, () => sink === null || sink.finished);
  }

  /**
   * Runs one request through the component's `handle(incoming-request, response-outparam)`. Returns true when the
   * response went out (its body streamed through 'resp.write'), or the error-code the handler set instead.
   * @param {(req: IncomingRequest, out: ResponseOutparam) => void} handler
   * @param {{ reqId: number, method: string, url: string, headers: Array<[string, string]>, hasBody: boolean }} req
   * @returns {{ sent: true } | { sent: false, error: unknown }}
   */
  function serve(handler, req) {
    const { reqId } = req;
    const read = req.hasBody
      ? (max) => {
          const r = wasiHost().invoke('body.read', { reqId, max });
          if (r && typeof r === 'object' && 'v' in r) return r.v ?? null;
          if (r && typeof r === 'object' && 'e' in r) throw new Error(`reading the request body failed: ${JSON.stringify(r.e)}`);
          throw new Error(`reading the request body failed: ${r && typeof r === 'object' && 'x' in r ? String(r.x) : 'malformed reply'}`);
        }
      : null;
    const incoming = new IncomingRequest(TOKEN, { method: req.method, url: req.url, headers: req.headers, read });
    const out = new ResponseOutparam(TOKEN, (outcome) => {
      if (outcome.tag !== 'ok') return;
      const response = /** @type {OutgoingResponse} */ (outcome.val);
      const head = OutgoingResponse._head(response);
      if (head.status < 200 || head.status > 599) throw new Error(`wasi:http: response status ${head.status} cannot be sent (200-599)`);
      const begun = wasiHost().invoke('resp.begin', { reqId, status: head.status, headers: head.headers });
      if (!(begun && typeof begun === 'object' && 'v' in begun)) throw new Error(`wasi:http: sending the response head failed: ${JSON.stringify(begun)}`);
      response.sink.attach((chunk) => {
        const r = wasiHost().invoke('resp.write', { reqId, chunk });
        // The client went away: the component's write fails as a closed stream.
        if (!(r && typeof r === 'object' && 'v' in r)) throw { tag: 'closed' };
      });
    });
    handler(incoming, out);
    const outcome = out.outcome;
    if (outcome === null) throw new Error('the component returned from wasi:http/incoming-handler.handle without setting its response-outparam');
    if (outcome.tag === 'err') return { sent: false, error: outcome.val };
    return { sent: true };
  }

  return {
    imports: {
      'wasi:http/types': types,
      'wasi:http/outgoing-handler': { handle },
    },
    serve,
  };
}
